/**
 * The rule router with a test double of the ingest handler (unit level only; the end-to-end tests run
 * the real ingest service).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IngestRuleEvent, ingestRules } from '../../lambdas/core/topics.js';
import { silentLogger } from '../../lambdas/local/log.js';
import type { PublishedMessage } from '../../lambdas/local/mqtt/broker.js';
import { RuleRouter, type RuleRouterOptions } from '../../lambdas/local/router/rule-router.js';
import { WorkQueue } from '../../lambdas/local/router/work-queue.js';
import type { DeadLetter } from '../../lambdas/ports/dead-letters.js';

const rules = ingestRules();

function msg(topic: string, payload = '{"a":1}', clientId = 'dev-1'): PublishedMessage {
  return {
    topic,
    payload: Buffer.from(payload),
    clientId,
    principal: 'ab'.repeat(32),
    receivedAt: 1_700_000_000_000,
    qos: 1,
  };
}

function harness(
  ingest: (e: IngestRuleEvent) => Promise<unknown>,
  opts: RuleRouterOptions = {},
  commandResponse?: (d: string, p: Uint8Array) => Promise<unknown>,
) {
  const letters: DeadLetter[] = [];
  const router = new RuleRouter(
    {
      rules,
      ingest,
      ...(commandResponse ? { commandResponse } : {}),
      deadLetters: { send: async (d) => void letters.push(d) },
      log: silentLogger,
    },
    { retryDelaysMs: [1, 1], ...opts },
  );
  return { router, letters };
}

describe('RuleRouter', () => {
  it('builds the rule SQL event for a direct telemetry topic', async () => {
    const events: IngestRuleEvent[] = [];
    const { router } = harness(async (e) => void events.push(e));
    router.accept(msg('dt/fleetwire/dev-1/ems', '\u0000\u00ff binary'));
    await router.idle();
    expect(events).toEqual([
      {
        payload: Buffer.from('\u0000\u00ff binary').toString('base64'),
        topic: 'dt/fleetwire/dev-1/ems',
        clientId: 'dev-1',
        principal: 'ab'.repeat(32),
        receivedAt: 1_700_000_000_000,
      },
    ]);
    expect(router.counters).toMatchObject({ received: 1, routed: 1, completed: 1, unrouted: 0 });
  });

  it('sends a Basic Ingest message to the named rule only, with topic() unprefixed', async () => {
    const events: IngestRuleEvent[] = [];
    const { router } = harness(async (e) => void events.push(e));
    router.accept(msg('$aws/rules/fleetwire_dt_ems/dt/fleetwire/dev-1/ems'));
    router.accept(msg('$aws/rules/no_such_rule/dt/fleetwire/dev-1/ems'));
    router.accept(msg('flexconnect/mqtt_topic_binary'));
    await router.idle();
    expect(events.map((e) => e.topic)).toEqual(['dt/fleetwire/dev-1/ems', 'flexconnect/mqtt_topic_binary']);
    expect(router.counters).toMatchObject({ received: 3, routed: 2, unrouted: 1 });
  });

  it('routes every matching topic to exactly one rule', () => {
    fc.assert(
      fc.property(fc.constantFrom(...rules.map((r) => r.filter)), fc.boolean(), (filter, basic) => {
        const topic = filter.replace('+', 'dev-1');
        const rule = rules.find((r) => r.filter === filter);
        const events: string[] = [];
        const { router } = harness(async (e) => void events.push(e.topic));
        router.accept(msg(basic ? `$aws/rules/${rule?.name}/${topic}` : topic));
        expect(router.counters.routed).toBe(1);
      }),
    );
  });

  it('hands device responses to the command service and ignores other topics', async () => {
    const responses: [string, string][] = [];
    const { router } = harness(
      async () => undefined,
      {},
      async (d, p) => void responses.push([d, Buffer.from(p).toString()]),
    );
    router.accept(msg('cmd/fleetwire/dev-1/res', '{"command_id":"c1","status":"SUCCEEDED"}'));
    router.accept(msg('cmd/fleetwire/dev-1/req'));
    router.accept(msg('cmd/otherapp/dev-1/res'));
    await router.idle();
    expect(responses).toEqual([['dev-1', '{"command_id":"c1","status":"SUCCEEDED"}']]);
    expect(router.counters.unrouted).toBe(2);
  });

  it('retries a throwing handler, then dead-letters the original payload', async () => {
    let calls = 0;
    const { router, letters } = harness(async () => {
      calls++;
      throw new Error('store unavailable');
    });
    router.accept(msg('dt/fleetwire/dev-1/ems', 'payload-1'));
    await router.idle();
    expect(calls).toBe(3);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      code: 'INGEST_FAILED',
      topic: 'dt/fleetwire/dev-1/ems',
      clientId: 'dev-1',
      payloadBase64: Buffer.from('payload-1').toString('base64'),
    });
    expect(letters[0]?.reason).toContain('store unavailable');
    expect(router.counters).toMatchObject({ retried: 2, failed: 1, deadLettered: 1 });
  });

  it('recovers when a retry succeeds', async () => {
    let calls = 0;
    const { router, letters } = harness(async () => {
      if (++calls === 1) throw new Error('transient');
    });
    router.accept(msg('dt/fleetwire/dev-1/ems'));
    await router.idle();
    expect(letters).toEqual([]);
    expect(router.counters).toMatchObject({ retried: 1, completed: 1, failed: 0 });
  });

  it('never blocks: a full queue dead-letters instead of waiting', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    // Flow control off: the broker would otherwise hold the messages back (test/local/backpressure.test.ts).
    const { router, letters } = harness(() => gate, {
      capacity: 2,
      concurrency: 1,
      highWater: Number.POSITIVE_INFINITY,
    });
    const started = Date.now();
    for (let i = 0; i < 10; i++) router.accept(msg('dt/fleetwire/dev-1/ems', `m${i}`));
    expect(Date.now() - started).toBeLessThan(500);
    // one in flight, two queued, seven refused
    await new Promise((r) => setTimeout(r, 10));
    expect(letters.map((l) => l.code)).toEqual(Array(7).fill('INGEST_OVERLOADED'));
    expect(router.counters).toMatchObject({ overflow: 7, queued: 2, inFlight: 1, maxQueued: 2 });
    release();
    await router.idle();
    expect(router.counters.completed).toBe(3);
  });

  it('dead-letters what is still queued when closed', async () => {
    const { router, letters } = harness(() => new Promise(() => undefined), { capacity: 10, concurrency: 1 });
    for (let i = 0; i < 4; i++) router.accept(msg('dt/fleetwire/dev-1/ems', `m${i}`));
    await router.close(20);
    expect(letters.map((l) => l.code)).toEqual(Array(3).fill('INGEST_SHUTDOWN'));
    router.accept(msg('dt/fleetwire/dev-1/ems'));
    await new Promise((r) => setTimeout(r, 5));
    expect(letters.at(-1)?.code).toBe('INGEST_OVERLOADED');
  });
});

describe('WorkQueue', () => {
  it('runs at most `concurrency` items at once and processes all in order of arrival', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
        async (c, delays) => {
          let running = 0;
          let peak = 0;
          const started: number[] = [];
          const q = new WorkQueue<number>(
            async (i) => {
              started.push(i);
              running++;
              peak = Math.max(peak, running);
              await new Promise((r) => setTimeout(r, delays[i]));
              running--;
            },
            { capacity: 100, concurrency: c },
          );
          for (let i = 0; i < delays.length; i++) q.offer(i);
          await q.idle();
          expect(peak).toBeLessThanOrEqual(c);
          expect(started).toEqual(delays.map((_, i) => i));
        },
      ),
      { numRuns: 25 },
    );
  });
});
