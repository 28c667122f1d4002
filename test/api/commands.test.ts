/**
 * The command lifecycle: creation and delivery, control values checked against the channel contract,
 * device responses applied through the command service, offline devices, expiry, firmware updates, and a
 * property test that any order and duplication of responses leaves a legal final state.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandStatus } from '../../lambdas/ports/commands.js';
import {
  ALLOWED_FROM,
  createCommandService,
  DEVICE_STATUSES,
  isFinal,
} from '../../lambdas/services/command-service.js';
import { firmwareUrlRefresher } from '../../lambdas/services/firmware-urls.js';
import { FakePublisher } from '../support/api-fakes.js';
import { createHarness, type Harness } from '../support/api-harness.js';
import { CONFIG_IO, seedTenant } from './fixtures.js';

let h: Harness;
let op: string;
let deviceId: string;
beforeEach(async () => {
  h = await createHarness();
  op = h.keys.acmeOperator;
  deviceId = (await h.call(op, 'POST', '/v1/devices', { body: { deviceId: 'ems_001' } })).body.deviceId;
});
afterEach(() => h.close());

function lastMessage() {
  const m = h.deps.publisher.sent.at(-1);
  return { topic: m?.topic, msg: JSON.parse(m?.payload ?? '{}') };
}

async function respond(body: unknown, device = deviceId) {
  return createCommandServiceFor(h).handleResponse(
    device,
    typeof body === 'string' ? body : JSON.stringify(body),
  );
}

function createCommandServiceFor(hh: Harness) {
  return createCommandService({
    commands: hh.deps.commands,
    publisher: hh.deps.publisher,
    registry: hh.deps.registry,
    events: hh.deps.eventSink,
    clock: () => hh.clock.now,
    newId: () => 'unused',
  });
}

describe('lifecycle through the API', () => {
  it('QUEUED → SENT → ACKNOWLEDGED → SUCCEEDED, with the EMS message shape', async () => {
    const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
      body: {
        action: 'SET_MODE',
        payload: { target_mode: 'MANUAL_DISCHARGE', target_power: 500 },
        expiresInSeconds: 60,
      },
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('SENT');
    expect(res.headers.location).toBe(`/v1/devices/${deviceId}/commands/${res.body.commandId}`);
    const { topic, msg } = lastMessage();
    expect(topic).toBe('cmd/fleetwire/ems_001/req');
    expect(msg).toEqual({
      command_id: res.body.commandId,
      action: 'SET_MODE',
      payload: { target_mode: 'MANUAL_DISCHARGE', target_power: 500 },
      expires_at: new Date(h.clock.now + 60_000).toISOString(),
    });
    h.clock.now += 1000;
    expect(await respond({ command_id: res.body.commandId, status: 'ACKNOWLEDGED' })).toMatchObject({
      applied: true,
    });
    h.clock.now += 1000;
    expect(
      await respond({
        command_id: res.body.commandId,
        status: 'SUCCEEDED',
        detail: { mode: 'MANUAL_DISCHARGE' },
      }),
    ).toMatchObject({ applied: true });
    // Duplicates and late acknowledgements are harmless.
    expect(await respond({ command_id: res.body.commandId, status: 'ACKNOWLEDGED' })).toMatchObject({
      applied: false,
      code: 'COMMAND_FINAL',
    });
    expect(await respond({ command_id: res.body.commandId, status: 'FAILED' })).toMatchObject({
      applied: false,
    });
    const got = await h.call(op, 'GET', `/v1/devices/${deviceId}/commands/${res.body.commandId}`);
    expect(got.status).toBe(200);
    expect(got.body.status).toBe('SUCCEEDED');
    expect(got.body.result).toEqual({ mode: 'MANUAL_DISCHARGE' });
    expect(got.body.history.map((x: { status: string }) => x.status)).toEqual([
      'QUEUED',
      'SENT',
      'ACKNOWLEDGED',
      'SUCCEEDED',
    ]);
    const list = await h.call(h.keys.acmeViewer, 'GET', `/v1/devices/${deviceId}/commands`, {
      query: { status: 'SUCCEEDED' },
    });
    expect(list.body.items.map((c: { commandId: string }) => c.commandId)).toEqual([res.body.commandId]);
  });

  it('rejects responses that are malformed, for unknown commands or from another device', async () => {
    const other = await seedTenant(h, op);
    const c = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, { body: { action: 'RESET_ERROR' } })
    ).body.commandId;
    expect(await respond('nope')).toMatchObject({ applied: false, code: 'RESPONSE_INVALID' });
    expect(await respond({ command_id: c, status: 'DONE' })).toMatchObject({ code: 'RESPONSE_INVALID' });
    expect(await respond({ command_id: c, status: 'SUCCEEDED', detail: 'x'.repeat(5000) })).toMatchObject({
      applied: true,
    });
    const c2 = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, { body: { action: 'RESET_ERROR' } })
    ).body.commandId;
    expect(await respond({ command_id: c2, status: 'SUCCEEDED' }, other.deviceId)).toMatchObject({
      code: 'UNKNOWN_COMMAND',
    });
    expect(await respond({ command_id: c2, status: 'SUCCEEDED' }, 'ghost')).toMatchObject({
      code: 'UNKNOWN_DEVICE',
    });
    expect(await respond({ command_id: 'cmd_nope', status: 'SUCCEEDED' })).toMatchObject({
      code: 'UNKNOWN_COMMAND',
    });
    expect(
      await respond({ command_id: c2, status: 'FAILED', detail: { big: 'y'.repeat(5000) } }),
    ).toMatchObject({ code: 'RESPONSE_INVALID' });
  });

  it('validates well-known action payloads and reserves SET_CONFIG and FIRMWARE_UPDATE', async () => {
    const cases: [unknown, number][] = [
      [{ action: 'SET_MODE', payload: {} }, 400],
      [{ action: 'SET_GPIO', payload: { state: 3, mask: 2 ** 32 } }, 400],
      [{ action: 'SET_GPIO', payload: { state: 3, mask: 1 } }, 202],
      [{ action: 'RESET_ERROR', payload: { extra: 1 } }, 400],
      [{ action: 'set_mode' }, 400],
      [{ action: 'SET_CONFIG' }, 400],
      [{ action: 'FIRMWARE_UPDATE' }, 400],
      [{ action: 'CUSTOM_THING', payload: { anything: [1, 2] } }, 202],
      [{ action: 'REBOOT', expiresInSeconds: 0 }, 400],
      [{ action: 'REBOOT', payload: { blob: 'x'.repeat(70_000) } }, 413],
    ];
    for (const [body, status] of cases) {
      expect(
        (await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, { body })).status,
        JSON.stringify(body).slice(0, 80),
      ).toBe(status);
    }
  });
});

describe('SET_CHANNELS against the channel contract', () => {
  beforeEach(async () => {
    expect(
      (await h.call(op, 'PUT', `/v1/devices/${deviceId}/config`, { body: { config_io: CONFIG_IO } })).status,
    ).toBe(200);
  });

  it('accepts values inside the contract', async () => {
    const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
      body: { action: 'SET_CHANNELS', payload: { '004': true, '005': 30, '009': 'half' } },
    });
    expect(res.status).toBe(202);
    expect(lastMessage().msg.payload).toEqual({ '004': true, '005': 30, '009': 'half' });
  });

  it('answers 422 before sending anything for values outside range, enum, type or control', async () => {
    const sent = h.deps.publisher.sent.length;
    const bad: [Record<string, unknown>, string][] = [
      [{ '004': 'on' }, 'boolean'],
      [{ '005': 29.9 }, 'below 30'],
      [{ '005': 101 }, 'above 100'],
      [{ '005': '50' }, 'finite number'],
      [{ '009': 'closed' }, 'one of'],
      [{ '001': 20 }, 'not a control channel'],
      [{ '042': 1 }, 'no such channel'],
      [{}, 'no channel values'],
    ];
    for (const [payload, reason] of bad) {
      const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
        body: { action: 'SET_CHANNELS', payload },
      });
      expect(res.status, JSON.stringify(payload)).toBe(422);
      expect(res.body.error.code).toBe('CONTROL_VALUE_INVALID');
      expect(JSON.stringify(res.body.error.details.problems)).toContain(reason);
    }
    expect(h.deps.publisher.sent.length).toBe(sent);
  });

  it('answers 422 when the device has no contract', async () => {
    const id = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId;
    const res = await h.call(op, 'POST', `/v1/devices/${id}/commands`, {
      body: { action: 'SET_CHANNELS', payload: { '004': true } },
    });
    expect(res.status).toBe(422);
  });
});

describe('offline devices and expiry', () => {
  it('holds commands for an offline device and sends them in order on connect; expired ones time out', async () => {
    const rec = await h.deps.registry.getByThing(deviceId);
    if (!rec) throw new Error('missing');
    await h.deps.registry.put({ ...rec, connected: false });
    const sent = h.deps.publisher.sent.length;
    const a = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
        body: { action: 'FIRST', expiresInSeconds: 10 },
      })
    ).body;
    h.clock.now += 1;
    const b = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
        body: { action: 'SECOND', expiresInSeconds: 600 },
      })
    ).body;
    h.clock.now += 1;
    const c = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
        body: { action: 'THIRD', expiresInSeconds: 600 },
      })
    ).body;
    expect([a.status, b.status, c.status]).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);
    expect(h.deps.publisher.sent.length).toBe(sent);
    h.clock.now += 60_000;
    await h.deps.registry.put({ ...rec, connected: true });
    expect(await createCommandServiceFor(h).onDeviceConnected('acme', deviceId)).toEqual({
      sent: 2,
      timedOut: 1,
    });
    expect(h.deps.publisher.sent.slice(sent).map((m) => JSON.parse(m.payload).action)).toEqual([
      'SECOND',
      'THIRD',
    ]);
    expect((await h.call(op, 'GET', `/v1/devices/${deviceId}/commands/${a.commandId}`)).body.status).toBe(
      'TIMED_OUT',
    );
    expect(
      (await h.deps.events.list('acme', { limit: 100 })).items.some(
        (e) => e.code === 'COMMAND_TIMED_OUT' && e.detail.commandId === a.commandId,
      ),
    ).toBe(true);
  });

  it('keeps a command QUEUED when the broker refuses the publish', async () => {
    h.deps.publisher.fail = true;
    const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, { body: { action: 'REBOOT' } });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('QUEUED');
  });

  it('times a command out when it is read after its deadline, and ignores later answers', async () => {
    const c = (
      await h.call(op, 'POST', `/v1/devices/${deviceId}/commands`, {
        body: { action: 'REBOOT', expiresInSeconds: 5 },
      })
    ).body;
    await respond({ command_id: c.commandId, status: 'ACKNOWLEDGED' });
    h.clock.now += 5000;
    const list = await h.call(op, 'GET', `/v1/devices/${deviceId}/commands`);
    expect(list.body.items.find((x: { commandId: string }) => x.commandId === c.commandId).status).toBe(
      'TIMED_OUT',
    );
    expect(await respond({ command_id: c.commandId, status: 'SUCCEEDED' })).toMatchObject({
      applied: false,
      code: 'COMMAND_FINAL',
    });
  });
});

describe('firmware updates', () => {
  it('sends a FIRMWARE_UPDATE with a presigned URL, size and sha256; progress arrives as updates', async () => {
    const s = await seedTenant(h, op);
    const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/firmware-updates`, {
      body: { fileId: s.firmwareFileId },
    });
    expect(res.status).toBe(202);
    const { msg } = lastMessage();
    expect(msg.action).toBe('FIRMWARE_UPDATE');
    expect(msg.payload).toMatchObject({ file_id: s.firmwareFileId, version: '2.0.0', size: 17 });
    expect(msg.payload.url).toMatch(
      /^http:\/\/files\.test\/files\/firmware\/acme\/file_[a-z0-9]+\?expires=\d+&sig=/,
    );
    expect(msg.payload.sha256).toMatch(/^[0-9a-f]{64}$/);
    const id = res.body.commandId;
    await respond({ command_id: id, status: 'ACKNOWLEDGED', detail: { stage: 'started', progress: 0 } });
    await respond({ command_id: id, status: 'ACKNOWLEDGED', detail: { stage: 'downloading', progress: 40 } });
    let got = await h.call(op, 'GET', `/v1/devices/${deviceId}/commands/${id}`);
    expect(got.body.status).toBe('ACKNOWLEDGED');
    expect(got.body.result).toEqual({ stage: 'downloading', progress: 40 });
    await respond({
      command_id: id,
      status: 'FAILED',
      detail: { stage: 'error', message: 'signature check failed' },
    });
    got = await h.call(op, 'GET', `/v1/devices/${deviceId}/commands/${id}`);
    expect(got.body.status).toBe('FAILED');
    const events = await h.call(op, 'GET', '/v1/events', { query: { deviceId } });
    expect(
      events.body.items.some(
        (e: { type: string; code: string }) => e.type === 'firmware.update' && e.code === 'COMMAND_FAILED',
      ),
    ).toBe(true);
  });

  it('re-signs the download URL when a held update is finally sent', async () => {
    const s = await seedTenant(h, op);
    const rec = await h.deps.registry.getByThing(deviceId);
    if (!rec) throw new Error('missing');
    await h.deps.registry.put({ ...rec, connected: false });
    const res = await h.call(op, 'POST', `/v1/devices/${deviceId}/firmware-updates`, {
      body: { fileId: s.firmwareFileId, expiresInSeconds: 86_400 },
    });
    expect(res.body.status).toBe('QUEUED');
    const stored = await h.deps.commands.get('acme', res.body.commandId);
    h.clock.now += 3 * 3_600_000; // the URL made at creation has long expired
    await h.deps.registry.put({ ...rec, connected: true });
    // The command service as the API, the local stack and command-events build it: with the refresher.
    const svc = createCommandService({
      commands: h.deps.commands,
      publisher: h.deps.publisher,
      registry: h.deps.registry,
      events: h.deps.eventSink,
      clock: () => h.clock.now,
      newId: () => 'unused',
      preparePayload: firmwareUrlRefresher(h.deps.catalog, h.deps.files, () => h.clock.now),
    });
    expect(await svc.onDeviceConnected('acme', deviceId)).toEqual({ sent: 1, timedOut: 0 });
    const { msg } = lastMessage();
    expect(msg.command_id).toBe(res.body.commandId);
    expect(msg.payload.url_expires_at).toBe(new Date(h.clock.now + 3_600_000).toISOString());
    expect(msg.payload.url).not.toBe(stored?.payload.url);
    expect(msg.payload.sha256).toBe(stored?.payload.sha256);
  });

  it('refuses DBC files, pending files and other tenants’ files', async () => {
    const s = await seedTenant(h, op);
    const dbc = await h.call(op, 'POST', `/v1/devices/${deviceId}/firmware-updates`, {
      body: { fileId: s.dbcFileId },
    });
    expect(dbc.status).toBe(422);
    const pending = await h.call(op, 'POST', '/v1/files', {
      body: { kind: 'firmware', name: 'a.bin', version: '3', sha256: 'a'.repeat(64), size: 10 },
    });
    const r = await h.call(op, 'POST', `/v1/devices/${deviceId}/firmware-updates`, {
      body: { fileId: pending.body.file.fileId },
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('FILE_NOT_READY');
  });
});

describe('state machine property', () => {
  const RANK: Record<CommandStatus, number> = {
    QUEUED: 0,
    SENT: 1,
    ACKNOWLEDGED: 2,
    SUCCEEDED: 3,
    FAILED: 3,
    REJECTED: 3,
    TIMED_OUT: 3,
  };

  it('any order and duplication of device responses leaves a legal final state and a monotonic history', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ status: fc.constantFrom(...DEVICE_STATUSES), detail: fc.option(fc.nat(100)) }), {
          maxLength: 12,
        }),
        fc.boolean(),
        fc.option(fc.nat(11)),
        async (responses, offline, expireAt) => {
          // Each run: a fresh device and command in the real (SQLite) stores of the harness.
          run++;
          const deviceId = `prop-${run}`;
          const commandId = `cmd_p${run}`;
          const { commands, registry } = h.deps;
          await registry.create({
            tenant: 't',
            deviceId,
            tags: {},
            tokenHash: 'x',
            status: 'active',
            createdAt: 0,
            connected: !offline,
          });
          let now = 1000;
          const svc = createCommandService({
            commands,
            publisher: new FakePublisher(),
            registry,
            events: h.deps.events,
            clock: () => now,
            newId: () => commandId,
          });
          const device = await registry.get('t', deviceId);
          if (!device) throw new Error('missing');
          await svc.submit(device, 'X', {}, 30);
          let firstFinal: CommandStatus | undefined;
          for (const [i, r] of responses.entries()) {
            now += 1000;
            if (expireAt !== null && i === expireAt) {
              const c = await svc.get('t', commandId);
              if (c && now >= c.expiresAt) firstFinal ??= 'TIMED_OUT';
            }
            const before = await commands.get('t', commandId);
            const out = await svc.handleResponse(
              deviceId,
              JSON.stringify({
                command_id: commandId,
                status: r.status,
                ...(r.detail !== null ? { detail: { progress: r.detail } } : {}),
              }),
            );
            if (out.applied && isFinal(out.command.status)) firstFinal ??= out.command.status;
            if (before && isFinal(before.status)) expect(out.applied).toBe(false);
          }
          const final = await commands.get('t', commandId);
          if (!final) throw new Error('lost');
          // The first final answer wins and is never left.
          if (firstFinal) expect(final.status).toBe(firstFinal);
          // History never moves backwards and every step was allowed.
          for (let i = 1; i < final.history.length; i++) {
            const prev = final.history[i - 1]?.status as CommandStatus;
            const cur = final.history[i]?.status as CommandStatus;
            expect(RANK[cur]).toBeGreaterThanOrEqual(RANK[prev]);
            expect(
              ALLOWED_FROM[cur].includes(prev) || (cur === 'ACKNOWLEDGED' && prev === 'ACKNOWLEDGED'),
            ).toBe(true);
          }
          expect(final.history.filter((x) => isFinal(x.status)).length).toBeLessThanOrEqual(1);
          // Without any final answer the command is open and at least as far as the furthest answer.
          if (!firstFinal) {
            expect(isFinal(final.status)).toBe(false);
            if (responses.some((r) => r.status === 'ACKNOWLEDGED')) expect(final.status).toBe('ACKNOWLEDGED');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
