/**
 * Stateless resources of the ingest path: the ingest Lambda and the IoT topic rules that feed it, alert
 * evaluation in the ingest Lambda, and the every-minute alert sweep (stale-data alerts, re-notification,
 * event redelivery). Everything here can be replaced by a deploy without losing data.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TopicConfig } from '../lambdas/core/topics.js';
import { AlertSweep, enableAlertEvaluation } from './alerts-construct.js';
import { IngestFunction, type IngestFunctionProps } from './constructs/ingest-function.js';
import { IngestRules } from './constructs/ingest-rules.js';
import type { StatefulStack } from './stateful-stack.js';

/** Properties of {@link IngestStack}. */
export interface IngestStackProps extends StackProps {
  /** The stateful stack whose resources the ingest path uses. */
  readonly stateful: StatefulStack;
  /** Topic scheme settings (must equal the stateful stack's). */
  readonly topics: TopicConfig;
  /** Log retention of the ingest function. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Tuning of the ingest function (memory, timeout, retries, concurrency, log level). @default the IngestFunction defaults */
  readonly ingest?: Pick<
    IngestFunctionProps,
    | 'memorySize'
    | 'timeout'
    | 'retryAttempts'
    | 'maxEventAge'
    | 'reservedConcurrentExecutions'
    | 'logLevel'
    | 'logRemovalPolicy'
    | 'entry'
  >;
}

/** The ingest function and topic rules. */
export class IngestStack extends Stack {
  /** The ingest function. */
  readonly ingest: IngestFunction;
  /** The topic rules. */
  readonly rules: IngestRules;
  /** The alert sweep function and its every-minute schedule. */
  readonly alertSweep: AlertSweep;

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    const s = props.stateful;
    this.addStackDependency(s);
    this.ingest = new IngestFunction(this, 'IngestFunction', {
      storage: s.storage,
      timestream: s.timestream,
      registry: s.registry,
      filesBucket: s.filesBucket,
      deadLetterQueue: s.deadLetters.ingest,
      failureQueue: s.deadLetters.lambdaFailures,
      eventBus: s.events.bus,
      topicApp: props.topics.app,
      logRetention: props.logRetention,
      ...props.ingest,
    });
    this.rules = new IngestRules(this, 'IngestRules', {
      topics: props.topics,
      function: this.ingest.function,
      deadLetterQueue: s.deadLetters.ingest,
    });

    // Alerting: the ingest function evaluates rules on the points it stored (env, scoped grants and the
    // one SNS-prefix nag suppression come with enableAlertEvaluation); the sweep raises stale-data alerts.
    enableAlertEvaluation(this.ingest.fleetwireFunction, s.alertTables, s.registry.table, s.events.bus);
    this.alertSweep = new AlertSweep(this, 'AlertSweep', {
      tables: s.alertTables,
      registry: s.registry.table,
      bus: s.events.bus,
      logRetention: props.logRetention,
      logRemovalPolicy: props.ingest?.logRemovalPolicy,
    });
    this.alertSweep.suppressNagFindings();
  }
}
