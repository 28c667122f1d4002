/**
 * Flow control of the local stack: when the rule router falls behind, new messages are held back (their
 * PUBACK, and so further reads from their connection, waits) instead of the router's queue overflowing
 * into INGEST_OVERLOADED dead letters.
 */
import { describe, expect, it } from 'vitest';
import { type IngestRuleEvent, ingestRules } from '../../lambdas/core/topics.js';
import { silentLogger } from '../../lambdas/local/log.js';
import type { PublishedMessage } from '../../lambdas/local/mqtt/broker.js';
import { RuleRouter } from '../../lambdas/local/router/rule-router.js';
import type { DeadLetter } from '../../lambdas/ports/dead-letters.js';

const msg = (i: number): PublishedMessage => ({
  topic: 'dt/fleetwire/dev-1/ems',
  payload: Buffer.from(`{"i":${i}}`),
  clientId: 'dev-1',
  principal: 'ab'.repeat(32),
  receivedAt: 1_000 + i,
  qos: 1,
});

function gatedRouter(opts: { capacity: number; concurrency: number; highWater: number }) {
  const waiting: (() => void)[] = [];
  const done: number[] = [];
  const letters: DeadLetter[] = [];
  const router = new RuleRouter(
    {
      rules: ingestRules(),
      ingest: (e: IngestRuleEvent) =>
        new Promise<void>((resolve) =>
          waiting.push(() => {
            done.push(e.receivedAt - 1_000);
            resolve();
          }),
        ),
      deadLetters: { send: async (d) => void letters.push(d) },
      log: silentLogger,
    },
    opts,
  );
  /** Finish the oldest running invocation and let the router react. */
  const finishOne = async () => {
    waiting.shift()?.();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { router, done, letters, finishOne };
}

describe('RuleRouter flow control', () => {
  it('holds messages at the high-water mark, queues them oldest first from half of it, loses none', async () => {
    const { router, done, finishOne } = gatedRouter({ capacity: 100, concurrency: 2, highWater: 8 });
    const held: (Promise<void> | undefined)[] = [];
    for (let i = 0; i < 30; i++) held.push(router.accept(msg(i)));
    // 2 running + 8 queued were taken at once; the other 20 wait, unacknowledged.
    expect(held.slice(0, 10).every((h) => h === undefined)).toBe(true);
    expect(held.slice(10).every((h) => h instanceof Promise)).toBe(true);
    expect(router.counters).toMatchObject({ queued: 8, held: 20, heldNow: 20 });
    const released = new Set<number>();
    held.forEach((h, i) => void h?.then(() => released.add(i)));

    // Draining to above the low-water mark (4) releases nothing; from there the oldest held are queued.
    for (let n = 0; n < 3; n++) await finishOne();
    expect(router.counters.queued).toBe(5);
    expect(released.size).toBe(0);
    await finishOne();
    await finishOne();
    expect(released.size).toBeGreaterThan(0);
    expect([...released].sort((a, b) => a - b)).toEqual(
      Array.from({ length: released.size }, (_, i) => 10 + i), // oldest first
    );
    let maxQueued = 0;
    while (done.length < 30) {
      maxQueued = Math.max(maxQueued, router.counters.queued);
      await finishOne();
    }
    await router.idle();
    expect(released.size).toBe(20);
    expect(maxQueued).toBeLessThanOrEqual(8);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(router.counters).toMatchObject({ received: 30, overflow: 0, deadLettered: 0, heldNow: 0 });
  });

  it('a new message waits behind held ones even when there is room (no overtaking)', async () => {
    const { router, done, finishOne } = gatedRouter({ capacity: 100, concurrency: 1, highWater: 4 });
    for (let i = 0; i < 5; i++) expect(router.accept(msg(i))).toBeUndefined(); // 1 running, 4 queued
    const five = router.accept(msg(5));
    expect(five).toBeInstanceOf(Promise);
    await finishOne(); // 3 queued: room, but above the low-water mark (2)
    expect(router.counters.queued).toBe(3);
    const six = router.accept(msg(6));
    expect(six).toBeInstanceOf(Promise); // held behind 5, not queued ahead of it
    await finishOne(); // 2 queued: both go, in order
    await Promise.all([five, six]);
    while (done.length < 7) await finishOne();
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('dead-letters held messages at shutdown (received, never processed) and releases them', async () => {
    const { router, letters } = gatedRouter({ capacity: 10, concurrency: 1, highWater: 2 });
    for (let i = 0; i < 3; i++) router.accept(msg(i));
    const held = [router.accept(msg(3)), router.accept(msg(4))];
    await router.close(10);
    await Promise.all(held);
    expect(letters.map((l) => [l.code, l.receivedAt - 1_000])).toEqual(
      expect.arrayContaining([
        ['INGEST_SHUTDOWN', 3],
        ['INGEST_SHUTDOWN', 4],
      ]),
    );
    expect(letters).toHaveLength(4); // 2 queued + 2 held; the running one is still in flight
    expect(router.counters.overflow).toBe(0);
  });
});
