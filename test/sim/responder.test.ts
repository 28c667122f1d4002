/**
 * The simulated device's command handling: acknowledge then succeed or fail (scripted, by fail rate, or
 * because the action failed), state changes per action, expired and duplicate commands, firmware
 * download with size and SHA-256 checks.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseResponse } from '../../lambdas/services/command-service.js';
import { initialState } from '../../lambdas/sim/generators.js';
import {
  type CommandRequest,
  CommandResponder,
  type CommandResponse,
  parseCommandRequest,
} from '../../lambdas/sim/responder.js';
import { createRng } from '../../lambdas/sim/rng.js';
import { parseScript } from '../../lambdas/sim/script.js';

const NOW = Date.UTC(2026, 0, 31, 12);

async function answer(
  req: Partial<CommandRequest> & { action: string },
  opts: Partial<ConstructorParameters<typeof CommandResponder>[1]> = {},
  state = initialState(),
) {
  const sent: CommandResponse[] = [];
  const responder = new CommandResponder(state, {
    rng: createRng(1),
    ackDelayMs: 0,
    resultDelayMs: 0,
    ...opts,
  });
  const outcome = await responder.handle(
    { commandId: 'cmd_1', payload: {}, expiresAt: NOW + 60_000, ...req },
    () => NOW,
    async (r) => {
      sent.push(r);
    },
  );
  return { outcome, sent, state, responder };
}

describe('command responder', () => {
  it('parses the command message the command service publishes', () => {
    const bytes = Buffer.from(
      JSON.stringify({
        command_id: 'cmd_9',
        action: 'SET_MODE',
        payload: { target_mode: 'AUTO' },
        expires_at: new Date(NOW).toISOString(),
      }),
    );
    expect(parseCommandRequest(bytes)).toEqual({
      commandId: 'cmd_9',
      action: 'SET_MODE',
      payload: { target_mode: 'AUTO' },
      expiresAt: NOW,
    });
    for (const bad of ['nope', '[]', '{"command_id":"X Y","action":"A"}', '{"command_id":"c1"}']) {
      expect(parseCommandRequest(Buffer.from(bad))).toBeUndefined();
    }
  });

  it('acknowledges, then reports success in the shape the command service accepts', async () => {
    const { outcome, sent } = await answer({ action: 'SET_GPIO', payload: { state: 1, mask: 1 } });
    expect(outcome).toBe('SUCCEEDED');
    expect(sent.map((s) => [s.kind, s.body.status])).toEqual([
      ['ack', 'ACKNOWLEDGED'],
      ['res', 'SUCCEEDED'],
    ]);
    for (const s of sent) expect(parseResponse(JSON.stringify(s.body))).not.toHaveProperty('error');
  });

  it('SET_MODE and RESET_ERROR change what the EMS status reports', async () => {
    const state = initialState();
    state.errorFlags = ['OVERHEAT'];
    const mode = await answer(
      { action: 'SET_MODE', payload: { target_mode: 'MANUAL_DISCHARGE', target_power: 500 } },
      {},
      state,
    );
    expect(mode.sent.at(-1)?.body).toEqual({
      command_id: 'cmd_1',
      status: 'SUCCEEDED',
      detail: { mode: 'MANUAL_DISCHARGE' },
    });
    expect(state).toMatchObject({ mode: 'MANUAL_DISCHARGE', targetPower: 500 });
    await answer({ action: 'RESET_ERROR' }, {}, state);
    expect(state.errorFlags).toEqual([]);
    const bad = await answer({ action: 'SET_MODE', payload: {} });
    expect(bad.outcome).toBe('FAILED');
  });

  it('SET_CHANNELS writes the control channels the next data_in reports', async () => {
    const { state } = await answer({
      action: 'SET_CHANNELS',
      payload: { '004': true, __proto__: 1 } as Record<string, unknown>,
    });
    expect(state.channels['004']).toBe(true);
    expect(Object.getPrototypeOf(state.channels)).toBeNull();
  });

  it('fails every command at fail rate 1 and none at 0', async () => {
    expect((await answer({ action: 'X' }, { failRate: 1 })).outcome).toBe('FAILED');
    expect((await answer({ action: 'X' }, { failRate: 0 })).outcome).toBe('SUCCEEDED');
  });

  it('fails about the given share of commands', async () => {
    const responder = new CommandResponder(initialState(), {
      rng: createRng(3),
      ackDelayMs: 0,
      resultDelayMs: 0,
      failRate: 0.3,
    });
    let failed = 0;
    for (let i = 0; i < 1000; i++) {
      const o = await responder.handle(
        { commandId: `cmd_${i}`, action: 'X', payload: {} },
        () => NOW,
        async () => {},
      );
      if (o === 'FAILED') failed++;
    }
    expect(failed).toBeGreaterThan(240);
    expect(failed).toBeLessThan(360);
  });

  it('answers as scripted: per action, default, acknowledge only, ignore', async () => {
    const script = parseScript(
      JSON.stringify({
        steps: [],
        commands: {
          SET_MODE: { status: 'FAILED', detail: 'inverter busy' },
          SOFT_RESET: 'ACK_ONLY',
          SET_GPIO: 'IGNORE',
          '*': 'REJECTED',
        },
      }),
    );
    const failed = await answer(
      { action: 'SET_MODE', payload: { target_mode: 'AUTO' } },
      { script, failRate: 0 },
    );
    expect(failed.sent.at(-1)?.body).toEqual({
      command_id: 'cmd_1',
      status: 'FAILED',
      detail: { message: 'inverter busy' },
    });
    expect(failed.state.mode).toBe('AUTO'); // a failed command changes nothing
    const ackOnly = await answer({ action: 'SOFT_RESET' }, { script });
    expect(ackOnly.sent.map((s) => s.body.status)).toEqual(['ACKNOWLEDGED']);
    const ignored = await answer({ action: 'SET_GPIO' }, { script });
    expect(ignored.sent).toEqual([]);
    expect((await answer({ action: 'OTHER' }, { script })).outcome).toBe('REJECTED');
  });

  it('rejects an expired command without acknowledging it', async () => {
    const { outcome, sent } = await answer({ action: 'X', expiresAt: NOW - 1 });
    expect(outcome).toBe('REJECTED');
    expect(sent).toEqual([
      { kind: 'res', body: { command_id: 'cmd_1', status: 'REJECTED', detail: { message: 'expired' } } },
    ]);
  });

  it('ignores a redelivered command id', async () => {
    const { responder } = await answer({ action: 'X' });
    const sent: CommandResponse[] = [];
    const again = await responder.handle(
      { commandId: 'cmd_1', action: 'X', payload: {} },
      () => NOW,
      async (r) => {
        sent.push(r);
      },
    );
    expect(again).toBe('IGNORE');
    expect(sent).toEqual([]);
  });

  it('waits the acknowledgement and result delays', async () => {
    const times: number[] = [];
    const t0 = Date.now();
    const responder = new CommandResponder(initialState(), {
      rng: createRng(1),
      ackDelayMs: 60,
      resultDelayMs: 60,
    });
    await responder.handle({ commandId: 'cmd_2', action: 'X', payload: {} }, Date.now, async () => {
      times.push(Date.now() - t0);
    });
    expect(times[0]).toBeGreaterThanOrEqual(55);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(55);
  });

  describe('FIRMWARE_UPDATE', () => {
    const image = Buffer.alloc(100_000, 7);
    const sha256 = createHash('sha256').update(image).digest('hex');
    const fakeFetch = (body: Buffer, status = 200) =>
      (async () => new Response(new Uint8Array(body), { status })) as unknown as typeof fetch;
    const payload = { url: 'http://files.invalid/fw.bin', sha256, size: image.length, version: '2.0.0' };

    it('downloads, verifies and reports the new version', async () => {
      const r = await answer({ action: 'FIRMWARE_UPDATE', payload }, { fetch: fakeFetch(image) });
      expect(r.outcome).toBe('SUCCEEDED');
      expect(r.state.firmware).toBe('2.0.0');
      expect(r.sent.at(-1)?.body.detail).toEqual({ version: '2.0.0' });
      expect(r.sent.some((s) => s.body.status === 'ACKNOWLEDGED' && s.body.detail?.progress === 100)).toBe(
        true,
      );
    });

    it('fails on a checksum or size mismatch and keeps the old version', async () => {
      const bad = Buffer.from(image);
      bad[0] = 0;
      const r = await answer({ action: 'FIRMWARE_UPDATE', payload }, { fetch: fakeFetch(bad) });
      expect(r.outcome).toBe('FAILED');
      expect(r.sent.at(-1)?.body.detail).toEqual({ message: 'CHECKSUM_MISMATCH' });
      expect(r.state.firmware).toBe('1.0.0');
      const short = await answer(
        { action: 'FIRMWARE_UPDATE', payload },
        { fetch: fakeFetch(image.subarray(10)) },
      );
      expect(short.outcome).toBe('FAILED');
      const http = await answer({ action: 'FIRMWARE_UPDATE', payload }, { fetch: fakeFetch(image, 403) });
      expect(http.sent.at(-1)?.body.detail).toEqual({ message: 'download failed: HTTP 403' });
    });
  });
});
