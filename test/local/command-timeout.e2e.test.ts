/**
 * Command timeouts on the local stack: an open command past its deadline becomes TIMED_OUT by the sweep
 * timer alone (the stand-in for the scheduled command-sweep Lambda) — nobody reads it, its device never
 * connects — with its `COMMAND_TIMED_OUT` system event in the tenant's event log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCommandSweep } from '../../lambdas/local/command-sweep.js';
import type { LocalStack } from '../../lambdas/local/stack.js';
import { call, provision, startTestStack, tempDir, waitFor } from './helpers.js';

const tmp = tempDir();
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack(tmp.dir, { commandSweepMs: 200 });
  await provision(stack, 'dev-offline');
});

afterAll(async () => {
  await stack?.close();
  tmp.cleanup();
});

async function timedOutEvents(deviceId: string) {
  const r = await call(stack, 'GET', `/v1/events?deviceId=${deviceId}&limit=100`);
  expect(r.status).toBe(200);
  return (r.body.items as { code: string; type: string; detail: { commandId?: string } }[]).filter(
    (e) => e.code === 'COMMAND_TIMED_OUT',
  );
}

describe('local stack: command timeout sweep', () => {
  it('times out an expired command to a device that never connects, with its system event', async () => {
    const short = await call(stack, 'POST', '/v1/devices/dev-offline/commands', {
      action: 'RESET_ERROR',
      payload: {},
      expiresInSeconds: 1,
    });
    const long = await call(stack, 'POST', '/v1/devices/dev-offline/commands', {
      action: 'RESET_ERROR',
      payload: {},
      expiresInSeconds: 3600,
    });
    expect(short.status).toBe(202);
    expect(long.status).toBe(202);
    const id = short.body.commandId as string;
    const openId = long.body.commandId as string;
    expect(await timedOutEvents('dev-offline')).toEqual([]);

    // Watch the store, not the API: reading a command through the API times it out too, and this test
    // is about the sweep doing it with nobody looking.
    const swept = await waitFor(async () => {
      const c = await stack.adapters.commands.get('local', id);
      return c?.status === 'TIMED_OUT' ? c : undefined;
    }, 10_000);
    expect(swept.updatedAt).toBeGreaterThanOrEqual(swept.expiresAt);
    expect(swept.history.map((h) => h.status).at(-1)).toBe('TIMED_OUT');

    const events = await waitFor(async () => {
      const e = await timedOutEvents('dev-offline');
      return e.length > 0 ? e : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'command.finished', detail: { commandId: id } });

    // The command with time left is untouched, and the sweep does not time anything out twice.
    await new Promise((r) => setTimeout(r, 500));
    expect((await stack.adapters.commands.get('local', openId))?.status).not.toBe('TIMED_OUT');
    expect(await timedOutEvents('dev-offline')).toHaveLength(1);
    const viaApi = await call(stack, 'GET', `/v1/devices/dev-offline/commands/${id}`);
    expect(viaApi.body.status).toBe('TIMED_OUT');
    expect(await stack.commandSweep.runNow()).toBe(0);
  });
});

describe('startCommandSweep', () => {
  it('sweeps on its period, drains full pages, never overlaps, and stops', async () => {
    const calls: number[] = [];
    let pages = [500, 500, 7]; // a backlog: two full pages then a short one
    let inFlight = 0;
    let overlapped = false;
    const timer = startCommandSweep(
      {
        sweepExpired: async (limit = 500) => {
          inFlight++;
          if (inFlight > 1) overlapped = true;
          calls.push(limit);
          await new Promise((r) => setTimeout(r, 30));
          inFlight--;
          return pages.shift() ?? 0;
        },
      },
      100,
    );
    expect(await timer.runNow()).toBe(1007);
    expect(calls).toEqual([500, 500, 500]);
    pages = [];
    await new Promise((r) => setTimeout(r, 350));
    expect(calls.length).toBeGreaterThanOrEqual(5); // the timer kept sweeping
    await timer.stop();
    const after = calls.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(calls.length).toBe(after);
    expect(overlapped).toBe(false);
  });

  it('reports a failing sweep and keeps going', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const timer = startCommandSweep(
      {
        sweepExpired: async () => {
          n++;
          if (n === 1) throw new Error('database is locked');
          return 0;
        },
      },
      100,
      { onError: (e) => errors.push(e) },
    );
    expect(await timer.runNow()).toBe(0);
    await new Promise((r) => setTimeout(r, 250));
    await timer.stop();
    expect(errors).toHaveLength(1);
    expect(n).toBeGreaterThan(1);
  });

  it('refuses a period under 100 ms', () => {
    expect(() => startCommandSweep({ sweepExpired: async () => 0 }, 10)).toThrow(RangeError);
  });
});
