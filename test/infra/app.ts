/**
 * Test helper: synthesize the Fleetwire app the way `cdk synth` does (the context of cdk.json), but
 * without esbuild bundling (`aws:cdk:bundling-stacks` = []) and, unless asked, without the built-in
 * CloudFormation validation — both are slow on 2 cores and covered by one dedicated test each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildFleetwireApp, type FleetwireStacks } from '../../lib/fleetwire-app.js';

const root = join(import.meta.dirname, '..', '..');
const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
  context?: Record<string, unknown>;
};

/** A synthesized test app. */
export interface TestApp extends FleetwireStacks {
  readonly app: App;
  readonly statefulTemplate: Template;
  readonly ingestTemplate: Template;
}

/** Build the app with cdk.json's context plus `context`. */
export function buildTestApp(
  context: Record<string, unknown> = {},
  opts: { validation?: boolean } = {},
): TestApp {
  const app = new App({
    builtinCloudFormationValidation: opts.validation ?? false,
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const stacks = buildFleetwireApp(app);
  return {
    app,
    ...stacks,
    statefulTemplate: Template.fromStack(stacks.stateful),
    ingestTemplate: Template.fromStack(stacks.ingest),
  };
}

/** A CloudFormation value with pseudo-parameters and simple intrinsics replaced by literals. */
export function render(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(render);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [k] = keys;
    const v = obj[k as string];
    if (k === 'Ref') {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': 'eu-west-1',
        'AWS::AccountId': '123456789012',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      return pseudo[v as string] ?? `<${String(v)}>`;
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = v as [string, unknown[]];
      return parts.map((p) => String(render(p))).join(sep);
    }
    if (k === 'Fn::GetAtt') return `<${(v as string[]).join('.')}>`;
    if (k === 'Fn::ImportValue') return `<import:${String(render(v))}>`;
  }
  return Object.fromEntries(keys.map((k) => [k, render(obj[k])]));
}

/** An IAM/IoT statement flattened into one row per (action, resource). */
export interface Grant {
  effect: string;
  action: string;
  resource: string;
  condition?: unknown;
}

/** Flatten rendered policy statements into (action, resource) rows. */
export function flattenStatements(statements: unknown[]): Grant[] {
  const rows: Grant[] = [];
  for (const st of statements as Record<string, unknown>[]) {
    const actions = ([] as unknown[]).concat(st.Action);
    const resources = ([] as unknown[]).concat(st.Resource);
    for (const a of actions) {
      for (const r of resources) {
        rows.push({
          effect: String(st.Effect),
          action: String(a),
          resource: String(r),
          ...(st.Condition ? { condition: st.Condition } : {}),
        });
      }
    }
  }
  return rows;
}
