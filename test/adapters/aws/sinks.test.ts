import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  EventBridgeEventSink,
  EventPublishError,
} from '../../../lambdas/adapters/aws/eventbridge-event-sink.js';
import { lazyLoad } from '../../../lambdas/adapters/aws/lazy.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableAwsError,
} from '../../../lambdas/adapters/aws/retry.js';
import {
  deadLetterBody,
  SQS_MAX_MESSAGE_BYTES,
  SqsDeadLetterSink,
} from '../../../lambdas/adapters/aws/sqs-dead-letter-sink.js';
import type { DeadLetter } from '../../../lambdas/ports/dead-letters.js';
import type { SystemEvent } from '../../../lambdas/ports/event-sink.js';

const event = (i: number): SystemEvent => ({
  type: 'ingest.rejected',
  code: 'X',
  time: 1_760_000_000_000 + i,
  detail: { i },
});

/** A fake client: `answer(input, call)` returns the command output. */
function fakeClient<I>(answer: (input: I, call: number) => unknown) {
  const inputs: I[] = [];
  return {
    inputs,
    client: {
      send: async (cmd: { input: I }) => {
        inputs.push(cmd.input);
        return answer(cmd.input, inputs.length);
      },
    },
  };
}

describe('EventBridgeEventSink', () => {
  it('publishes in chunks of 10 with source fleetwire and the event as detail', async () => {
    const f = fakeClient<{
      Entries: { Detail: string; Source: string; DetailType: string; EventBusName: string }[];
    }>(() => ({ FailedEntryCount: 0 }));
    const sink = new EventBridgeEventSink(f.client as unknown as EventBridgeClient, { busName: 'bus' });
    await sink.publish(Array.from({ length: 23 }, (_, i) => event(i)));
    expect(f.inputs.map((i) => i.Entries.length)).toEqual([10, 10, 3]);
    const first = f.inputs[0]!.Entries[0]!;
    expect(first).toMatchObject({ Source: 'fleetwire', DetailType: 'ingest.rejected', EventBusName: 'bus' });
    expect(JSON.parse(first.Detail)).toEqual(event(0));
  });

  it('resends only failed entries and gives up with a typed error', async () => {
    const f = fakeClient<{ Entries: { Detail: string }[] }>((input, call) =>
      call === 1
        ? {
            FailedEntryCount: 1,
            Entries: input.Entries.map((_, i) =>
              i === 1 ? { ErrorCode: 'ThrottlingException' } : { EventId: 'e' },
            ),
          }
        : { FailedEntryCount: 0 },
    );
    const sink = new EventBridgeEventSink(f.client as unknown as EventBridgeClient, {
      busName: 'b',
      sleep: async () => {},
    });
    await sink.publish([event(0), event(1), event(2)]);
    expect(f.inputs.map((i) => i.Entries.map((e) => JSON.parse(e.Detail).detail.i))).toEqual([
      [0, 1, 2],
      [1],
    ]);

    const failing = fakeClient<{ Entries: unknown[] }>((input) => ({
      FailedEntryCount: input.Entries.length,
      Entries: input.Entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'no' })),
    }));
    const sink2 = new EventBridgeEventSink(failing.client as unknown as EventBridgeClient, {
      busName: 'b',
      sleep: async () => {},
    });
    await expect(sink2.publish([event(0)])).rejects.toBeInstanceOf(EventPublishError);
    expect(failing.inputs).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
  });
});

describe('SqsDeadLetterSink', () => {
  const base: DeadLetter = {
    code: 'STORE_REJECTED',
    reason: 'r',
    payloadBase64: 'A'.repeat(170_000),
    tenant: 't1',
    receivedAt: 1,
  };

  it('sends the letter as JSON with code, tenant and kind attributes', async () => {
    const f = fakeClient<{ MessageBody: string; MessageAttributes: Record<string, { StringValue: string }> }>(
      () => ({}),
    );
    await new SqsDeadLetterSink(f.client as unknown as SQSClient, 'https://q').send(base);
    expect(JSON.parse(f.inputs[0]!.MessageBody)).toEqual(base);
    expect(f.inputs[0]!.MessageAttributes).toMatchObject({
      code: { StringValue: 'STORE_REJECTED' },
      tenant: { StringValue: 't1' },
      'fleetwire-kind': { StringValue: 'ingest-dead-letter/v1' },
    });
  });

  it('shortens the rejection list, never the payload, to fit the SQS limit', () => {
    const rejected = Array.from({ length: 5000 }, (_, index) => ({
      index,
      reason: 'VERSION_CONFLICT: '.padEnd(60, 'x'),
    }));
    const body = deadLetterBody({ ...base, rejected });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    const parsed = JSON.parse(body) as DeadLetter;
    expect(parsed.payloadBase64).toBe(base.payloadBase64);
    expect(parsed.rejected!.length).toBeGreaterThan(0);
    expect(parsed.reason).toMatch(/rejections omitted for size/);
  });
});

describe('retry helpers', () => {
  it('classify transient AWS errors', () => {
    expect(isRetryableAwsError({ name: 'ThrottlingException' })).toBe(true);
    expect(isRetryableAwsError({ name: 'X', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isRetryableAwsError({ name: 'X', code: 'ECONNRESET' })).toBe(true);
    expect(isRetryableAwsError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(
      false,
    );
    expect(isRetryableAwsError('nope')).toBe(false);
  });

  it('back off exponentially with full jitter, capped', () => {
    expect([0, 1, 2, 3, 10].map((r) => backoffDelay(r, DEFAULT_RETRY_POLICY, () => 0.999999))).toEqual([
      49, 99, 199, 399, 1999,
    ]);
    expect(backoffDelay(3, DEFAULT_RETRY_POLICY, () => 0)).toBe(0);
  });
});

describe('lazyLoad', () => {
  it('loads once, shares the pending load, and retries after a failure', async () => {
    let calls = 0;
    const get = lazyLoad(async () => {
      calls++;
      if (calls === 1) throw new Error('first load fails');
      return { n: calls };
    });
    await expect(get()).rejects.toThrow('first load fails');
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toEqual({ n: 2 });
    expect(calls).toBe(2);
  });
});
