/**
 * The IoT topic rules of the ingest path, one per telemetry format and FlexConnect topic, generated from
 * the single topic definition in lambdas/core/topics.ts (which the local MQTT router also reads).
 *
 * Each rule hands the ingest Lambda the same event (`IngestRuleEvent`: base64 payload, topic, client
 * id, principal, receive time) and has an error action that sends IoT's error message — which carries
 * the original payload as `base64OriginalPayload` and the failure — to the ingest dead-letter queue.
 * The Lambda trusts only these rules: each has its own invoke permission scoped to its ARN and account.
 */
import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type IngestRuleDefinition,
  ingestRules,
  RULE_SQL_VERSION,
  type TopicConfig,
} from '../../lambdas/core/topics.js';

/** Properties of {@link IngestRules}. */
export interface IngestRulesProps {
  /** Topic scheme settings (app segment, rule prefix). */
  readonly topics: TopicConfig;
  /** The ingest Lambda every rule invokes. */
  readonly function: IFunction;
  /** Where error actions send the original payload and the failure. */
  readonly deadLetterQueue: IQueue;
  /** Create the rules disabled (e.g. during a migration). @default true */
  readonly enabled?: boolean;
}

/** The ingest topic rules. */
export class IngestRules extends Construct {
  /** The rules, by rule name. */
  readonly rules: ReadonlyMap<string, CfnTopicRule>;
  /** The definitions the rules were built from. */
  readonly definitions: readonly IngestRuleDefinition[];
  /** Role IoT assumes for the error action. */
  readonly errorActionRole: Role;

  constructor(scope: Construct, id: string, props: IngestRulesProps) {
    super(scope, id);
    this.definitions = ingestRules(props.topics);
    this.errorActionRole = new Role(this, 'ErrorActionRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'Lets the Fleetwire ingest rules send failed messages to the dead-letter queue',
    });
    this.errorActionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }),
    );

    const rules = new Map<string, CfnTopicRule>();
    for (const def of this.definitions) {
      const rule = new CfnTopicRule(this, `Rule_${def.suffix}`, {
        ruleName: def.name,
        topicRulePayload: {
          description: def.description,
          sql: def.sql,
          awsIotSqlVersion: RULE_SQL_VERSION,
          ruleDisabled: !(props.enabled ?? true),
          actions: [{ lambda: { functionArn: props.function.functionArn } }],
          errorAction: {
            sqs: {
              queueUrl: props.deadLetterQueue.queueUrl,
              roleArn: this.errorActionRole.roleArn,
              // The error message is JSON that already carries the payload base64-encoded.
              useBase64: false,
            },
          },
        },
      });
      props.function.addPermission(`Invoke_${def.suffix}`, {
        principal: new ServicePrincipal('iot.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceArn: rule.attrArn,
        sourceAccount: Aws.ACCOUNT_ID,
      });
      rules.set(def.name, rule);
    }
    this.rules = rules;
  }
}
