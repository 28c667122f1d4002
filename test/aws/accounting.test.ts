/**
 * Nothing is lost: N messages (valid, duplicate deliveries, malformed, wrong token, oversized, unknown
 * device, a point Timestream rejects, a write that stays throttled) go through the real ingest handler on
 * moto_server, invoked the way IoT invokes it (asynchronously: 1 + 2 retries, then the on-failure
 * destination). Every message must end up either stored exactly once (Timestream's upsert rule applied
 * to what moto appended) or dead-lettered with a reason, never both, never neither. Then
 * `fleetwire replay` brings back what became ingestible.
 *
 * Faults moto cannot produce are injected at the SDK client: a record with a `poison` field is rejected
 * (version conflict) after the rest of its request is stored; a record with a `throttle` field gets
 * ThrottlingException while `throttling` is on.
 */

import { SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  RejectedRecordsException,
  ThrottlingException,
  TimestreamWriteClient,
  WriteRecordsCommand,
  type WriteRecordsCommandInput,
} from '@aws-sdk/client-timestream-write';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeEms } from '../../lambdas/core/codecs/ems.js';
import { encodeFlexconnectJson } from '../../lambdas/core/codecs/flexconnect-json.js';
import { encodeProtobuf } from '../../lambdas/core/codecs/protobuf.js';
import type { IngestRuleEvent } from '../../lambdas/core/topics.js';
import type { DeadLetter } from '../../lambdas/ports/dead-letters.js';
import type { IngestOutcome } from '../../lambdas/services/ingest-service.js';
import {
  createIngestResources,
  deadLetters,
  drain,
  type IngestResources,
  timestreamRecords,
  timestreamView,
} from '../support/aws-fixture.js';
import { device, ruleEvent, TOKEN } from '../support/ingest-fakes.js';
import { type MotoServer, startMoto, useMotoEnv } from '../support/moto.js';

const T = 1_760_000_000_000;
const JSON_TOPIC = 'dt/fleetwire/dev-1/flexconnect-json';

let moto: MotoServer;
let res: IngestResources;
let handler: (event: unknown, context: Context) => Promise<IngestOutcome>;
let throttling = true;
const output: string[] = [];

const context = {
  functionName: 'fleetwire-ingest',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fleetwire-ingest',
  awsRequestId: 'req',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

/** Lambda's asynchronous invocation contract: 1 + 2 retries, then the on-failure destination record. */
async function invokeAsync(event: IngestRuleEvent): Promise<IngestOutcome | 'failed'> {
  let last: Error | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await handler(event, { ...context, awsRequestId: `req-${attempt}` });
    } catch (e) {
      last = e as Error;
    }
  }
  await res.sqs.send(
    new SendMessageCommand({
      QueueUrl: res.failuresUrl,
      MessageBody: JSON.stringify({
        version: '1.0',
        timestamp: new Date().toISOString(),
        requestContext: {
          requestId: 'req-3',
          functionArn: `${context.invokedFunctionArn}:$LATEST`,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: event,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: last?.name, errorMessage: last?.message },
      }),
    }),
  );
  return 'failed';
}

function flex(times: number[], fields: Record<string, number>, token = TOKEN, deviceId = 'dev-1') {
  return encodeFlexconnectJson({
    device_id: deviceId,
    token,
    points: times.map((timestamp) => ({
      timestamp,
      fields: Object.entries(fields).map(([name, value]) => ({ name, value })),
    })),
  });
}

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  res = await createIngestResources({ tapEvents: false });
  Object.assign(process.env, res.env);
  await res.registry.create(device({ deviceId: 'dev-1', tenant: 't1' }));
  const send = TimestreamWriteClient.prototype.send as (...a: unknown[]) => Promise<unknown>;
  vi.spyOn(TimestreamWriteClient.prototype, 'send').mockImplementation(async function (
    this: TimestreamWriteClient,
    ...args: Parameters<TimestreamWriteClient['send']>
  ) {
    const cmd = args[0] as unknown;
    if (!(cmd instanceof WriteRecordsCommand)) return send.apply(this, args) as never;
    const input = cmd.input as WriteRecordsCommandInput;
    const has = (name: string) =>
      (input.Records ?? []).some((r) => r.MeasureValues?.some((m) => m.Name === name));
    if (throttling && has('throttle')) {
      throw new ThrottlingException({ $metadata: {}, message: 'Rate exceeded', Message: 'Rate exceeded' });
    }
    const poisoned = (input.Records ?? []).flatMap((r, i) =>
      r.MeasureValues?.some((m) => m.Name === 'poison') ? [i] : [],
    );
    if (poisoned.length === 0) return send.apply(this, args) as never;
    const accepted = (input.Records ?? []).filter((_, i) => !poisoned.includes(i));
    if (accepted.length > 0) await send.call(this, new WriteRecordsCommand({ ...input, Records: accepted }));
    throw new RejectedRecordsException({
      $metadata: {},
      message: 'One or more records have been rejected.',
      RejectedRecords: poisoned.map((i) => ({
        RecordIndex: i,
        Reason: 'A record with the same dimensions, timestamp, and measure name exists',
        ExistingVersion: 1,
      })),
    });
  });
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
  }
  ({ handler } = (await import('../../lambdas/handlers/ingest.js')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await moto?.stop();
});

/** The messages, what each must become, and how many points it stores when accepted. */
interface Case {
  name: string;
  event: IngestRuleEvent;
  expect: { stored: number } | { deadLetter: string; stored?: number } | { lambdaFailure: true };
}

const cases: Case[] = [
  { name: 'valid A', event: ruleEvent(flex([T, T + 1], { v: 1 }), JSON_TOPIC), expect: { stored: 2 } },
  { name: 'valid B', event: ruleEvent(flex([T + 10], { v: 2, w: 3 }), JSON_TOPIC), expect: { stored: 1 } },
  {
    name: 'duplicate of A (QoS 1 redelivery)',
    event: ruleEvent(flex([T, T + 1], { v: 1 }), JSON_TOPIC, 'dev-1', T + 99),
    expect: { stored: 2 },
  },
  {
    name: 'duplicate of B, compressed',
    event: ruleEvent(
      encodeFlexconnectJson(
        {
          device_id: 'dev-1',
          token: TOKEN,
          points: [
            {
              timestamp: T + 10,
              fields: [
                { name: 'v', value: 2 },
                { name: 'w', value: 3 },
              ],
            },
          ],
        },
        { compress: true },
      ),
      JSON_TOPIC,
    ),
    expect: { stored: 1 },
  },
  {
    name: 'EMS',
    event: ruleEvent(
      encodeEms({ deviceId: 'dev-1', timestamp: T + 20, data: { battery: { soc: 50 } } }),
      'dt/fleetwire/dev-1/ems',
    ),
    expect: { stored: 1 },
  },
  {
    name: 'protobuf, 3 points',
    event: ruleEvent(
      encodeProtobuf({
        token: TOKEN,
        points: [0, 1, 2].map((i) => ({ timestamp: T + 30 + i, fields: { rpm: 1000 + i } })),
      }),
      'dt/fleetwire/dev-1/protobuf',
    ),
    expect: { stored: 3 },
  },
  {
    name: 'malformed JSON',
    event: ruleEvent('{"points": [', JSON_TOPIC),
    expect: { deadLetter: 'INVALID_JSON' },
  },
  {
    name: 'wrong token',
    event: ruleEvent(flex([T + 40], { v: 9 }, 'forged-token'), JSON_TOPIC),
    expect: { deadLetter: 'TOKEN_MISMATCH' },
  },
  {
    name: 'oversized',
    event: ruleEvent(Buffer.alloc(110 * 1024, 0x20), JSON_TOPIC),
    expect: { deadLetter: 'PAYLOAD_TOO_LARGE' },
  },
  {
    name: 'unknown device',
    event: ruleEvent(
      flex([T + 50], { v: 5 }, TOKEN, 'dev-9'),
      'dt/fleetwire/dev-9/flexconnect-json',
      'dev-9',
    ),
    expect: { deadLetter: 'DEVICE_UNKNOWN' },
  },
  {
    name: 'one point rejected by Timestream',
    event: ruleEvent(
      encodeFlexconnectJson({
        token: TOKEN,
        points: [
          { timestamp: T + 60, fields: [{ name: 'v', value: 6 }] },
          { timestamp: T + 61, fields: [{ name: 'poison', value: 1 }] },
        ],
      }),
      JSON_TOPIC,
    ),
    expect: { deadLetter: 'STORE_REJECTED', stored: 1 },
  },
  {
    name: 'throttled past every retry',
    event: ruleEvent(flex([T + 70], { throttle: 1 }), JSON_TOPIC),
    expect: { lambdaFailure: true },
  },
];

describe('accounting: every message is stored exactly once or dead-lettered with a reason', () => {
  let outcomes: (IngestOutcome | 'failed')[] = [];
  let letters: DeadLetter[] = [];
  let failures: string[] = [];

  beforeAll(async () => {
    outcomes = [];
    for (const c of cases) outcomes.push(await invokeAsync(c.event));
    letters = await deadLetters(res);
    // Put the dead letters back for the replay tests below (deadLetters drained them).
    for (const l of letters) {
      await res.sqs.send(new SendMessageCommand({ QueueUrl: res.dlqUrl, MessageBody: JSON.stringify(l) }));
    }
    failures = await drain(res.sqs, res.failuresUrl);
    for (const f of failures)
      await res.sqs.send(new SendMessageCommand({ QueueUrl: res.failuresUrl, MessageBody: f }));
  }, 120_000);

  it('accounts for all N messages on exactly one side', () => {
    const stored = outcomes.filter((o) => o !== 'failed' && !o.deadLettered).length;
    const deadLettered = letters.length;
    const lambdaFailed = failures.length;
    expect(stored + deadLettered + lambdaFailed).toBe(cases.length);
    // Each message on its expected side.
    cases.forEach((c, i) => {
      const o = outcomes[i];
      if ('lambdaFailure' in c.expect) expect(o, c.name).toBe('failed');
      else if ('deadLetter' in c.expect)
        expect(o, c.name).toMatchObject({ deadLettered: true, code: c.expect.deadLetter });
      else expect(o, c.name).toMatchObject({ deadLettered: false, stored: c.expect.stored });
    });
  });

  it('dead letters carry the original payload, the code and a reason', () => {
    const expected = cases.filter((c) => 'deadLetter' in c.expect);
    expect(letters.map((l) => l.code).sort()).toEqual(
      expected.map((c) => (c.expect as { deadLetter: string }).deadLetter).sort(),
    );
    for (const c of expected) {
      const l = letters.find((x) => x.code === (c.expect as { deadLetter: string }).deadLetter)!;
      expect(l.payloadBase64, c.name).toBe(c.event.payload);
      expect(l.topic).toBe(c.event.topic);
      expect(l.reason.length).toBeGreaterThan(10);
    }
    expect(letters.find((l) => l.code === 'STORE_REJECTED')?.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/^VERSION_CONFLICT: /) },
    ]);
  });

  it('stores every accepted point exactly once (duplicates are identical, so Timestream keeps one)', async () => {
    const view = timestreamView(await timestreamRecords(moto));
    expect(view.conflicts).toEqual([]);
    // Distinct points: A(2) + B(1) + EMS(1) + protobuf(3) + the good half of the rejected message(1).
    expect(view.records).toHaveLength(8);
    expect(view.records.map((r) => Number(r.Time) - T).sort((a, b) => a - b)).toEqual([
      0, 1, 10, 20, 30, 31, 32, 60,
    ]);
  });

  it('hands the throttled event to the on-failure destination intact', () => {
    expect(failures).toHaveLength(1);
    expect(JSON.parse(failures[0]!).requestPayload).toEqual(cases.at(-1)?.event);
  });

  it('never logs a payload or a token', () => {
    const logged = output.join('');
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain('forged-token');
    for (const c of cases) expect(logged).not.toContain(c.event.payload);
  });

  describe('fleetwire replay', () => {
    async function replay(args: string[]): Promise<{ status: number; summary: Record<string, unknown> }> {
      const { run } = await import('../../lambdas/cli/commands/replay.js');
      const before = output.length;
      const status = await run(args);
      const line = output.slice(before).find((l) => l.startsWith('{"replayed"'));
      return { status, summary: JSON.parse(line ?? '{}') };
    }

    it('--dry-run counts dead letters by code and changes nothing', async () => {
      const r = await replay(['--queue-url', res.dlqUrl, '--wait', '0', '--dry-run']);
      expect(r.status).toBe(0);
      expect(r.summary).toMatchObject({
        replayed: 0,
        succeeded: 0,
        failedAgain: 0,
        codes: {
          INVALID_JSON: 1,
          TOKEN_MISMATCH: 1,
          PAYLOAD_TOO_LARGE: 1,
          DEVICE_UNKNOWN: 1,
          STORE_REJECTED: 1,
        },
      });
    });

    it('re-ingests what became ingestible, deletes it, and leaves the rest untouched', async () => {
      await res.registry.create(device({ deviceId: 'dev-9', tenant: 't1' }));
      const r = await replay(['--queue-url', res.dlqUrl, '--wait', '0']);
      expect(r.status).toBe(2);
      expect(r.summary, JSON.stringify(r.summary)).toMatchObject({
        replayed: 5,
        succeeded: 1,
        failedAgain: 4,
        unreadable: 0,
      });
      expect(r.summary.codes).toEqual({
        INVALID_JSON: 1,
        TOKEN_MISMATCH: 1,
        PAYLOAD_TOO_LARGE: 1,
        STORE_REJECTED: 1,
      });
      // The refused ones are still there, once each (no second dead letter was written).
      const left = await deadLetters(res);
      for (const l of left) {
        await res.sqs.send(new SendMessageCommand({ QueueUrl: res.dlqUrl, MessageBody: JSON.stringify(l) }));
      }
      expect(left.map((l) => l.code).sort()).toEqual([
        'INVALID_JSON',
        'PAYLOAD_TOO_LARGE',
        'STORE_REJECTED',
        'TOKEN_MISMATCH',
      ]);
      const view = timestreamView(await timestreamRecords(moto));
      expect(view.records.some((x) => x.Dimensions.some((d) => d.Value === 'dev-9'))).toBe(true);
      expect(view.conflicts).toEqual([]);
    });

    it('--function reads the configuration (and the queue) from the deployed ingest function', async () => {
      const saved = { ...process.env };
      for (const k of Object.keys(res.env)) delete process.env[k];
      const { LambdaClient } = await import('@aws-sdk/client-lambda');
      const asked: unknown[] = [];
      const spy = vi.spyOn(LambdaClient.prototype, 'send').mockImplementation(async (cmd: unknown) => {
        asked.push((cmd as { input: unknown }).input);
        return { Environment: { Variables: res.env } } as never;
      });
      try {
        const r = await replay(['--function', 'fleetwire-ingest', '--wait', '0']);
        expect(asked).toEqual([{ FunctionName: 'fleetwire-ingest' }]);
        expect(r.summary).toMatchObject({ replayed: 4, succeeded: 0, failedAgain: 4 });
        expect(r.status).toBe(2);
      } finally {
        spy.mockRestore();
        Object.assign(process.env, saved);
      }
    });

    it('replays Lambda on-failure records and IoT rule error actions once the fault is gone', async () => {
      throttling = false;
      const lost = cases[0]!.event;
      await res.sqs.send(
        new SendMessageCommand({
          QueueUrl: res.failuresUrl,
          MessageBody: JSON.stringify({
            ruleName: 'fleetwire_dt_flexconnect_json',
            topic: lost.topic,
            clientId: lost.clientId,
            cloudwatchTraceId: 'trace',
            base64OriginalPayload: lost.payload,
            failures: [{ failedAction: 'LambdaAction', errorMessage: 'Lambda throttled' }],
          }),
        }),
      );
      await res.sqs.send(new SendMessageCommand({ QueueUrl: res.failuresUrl, MessageBody: 'not json' }));
      const r = await replay(['--queue-url', res.failuresUrl, '--wait', '0']);
      expect(r.summary).toMatchObject({ replayed: 2, succeeded: 2, failedAgain: 0, unreadable: 1 });
      expect(r.status).toBe(2);
      const left = await drain(res.sqs, res.failuresUrl);
      expect(left).toEqual(['not json']);
      const view = timestreamView(await timestreamRecords(moto));
      expect(view.conflicts).toEqual([]);
      expect(view.records.some((x) => x.MeasureValues.some((m) => m.Name === 'throttle'))).toBe(true);
    });
  });
});
