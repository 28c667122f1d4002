/** Device responses and lifecycle events applied by the command-events service. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleCommandEvent } from '../../lambdas/services/command-events.js';
import { createCommandService } from '../../lambdas/services/command-service.js';
import { createHarness, type Harness } from '../support/api-harness.js';

let h: Harness;
let deps: Parameters<typeof handleCommandEvent>[1];
let dev: string;
beforeEach(async () => {
  h = await createHarness();
  dev = (await h.call(h.keys.acmeOperator, 'POST', '/v1/devices', { body: { deviceId: 'gw-7' } })).body
    .deviceId;
  deps = {
    registry: h.deps.registry,
    commands: createCommandService({
      commands: h.deps.commands,
      publisher: h.deps.publisher,
      registry: h.deps.registry,
      events: h.deps.eventSink,
      clock: () => h.clock.now,
      newId: () => 'unused',
    }),
  };
});
afterEach(() => h.close());

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('handleCommandEvent', () => {
  it('applies responses from res and ack topics of the answering device', async () => {
    const c = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    const ack = await handleCommandEvent(
      {
        payload: b64({ command_id: c.commandId, status: 'ACKNOWLEDGED' }),
        topic: `cmd/fleetwire/${dev}/ack`,
        clientId: dev,
      },
      deps,
    );
    expect(ack).toMatchObject({ kind: 'response', outcome: { applied: true } });
    const done = await handleCommandEvent(
      {
        payload: b64({ command_id: c.commandId, status: 'SUCCEEDED' }),
        topic: `$aws/rules/fleetwire_cmd/cmd/fleetwire/${dev}/res`,
        clientId: 'n/a',
      },
      deps,
    );
    expect(done).toMatchObject({
      kind: 'response',
      outcome: { applied: true, command: { status: 'SUCCEEDED' } },
    });
  });

  it('ignores responses on the wrong topics, from another client, or not base64', async () => {
    const c = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    const msg = b64({ command_id: c.commandId, status: 'SUCCEEDED' });
    const cases = [
      { payload: msg, topic: `cmd/fleetwire/${dev}/req`, clientId: dev },
      { payload: msg, topic: `cmd/fleetwire/${dev}/res`, clientId: 'someone-else' },
      { payload: msg, topic: `dt/fleetwire/${dev}/ems`, clientId: dev },
      { payload: '***', topic: `cmd/fleetwire/${dev}/res`, clientId: dev },
      { nonsense: true },
      null,
    ];
    for (const e of cases)
      expect((await handleCommandEvent(e, deps)).kind, JSON.stringify(e)).toBe('ignored');
    expect((await h.deps.commands.get('acme', c.commandId))?.status).toBe('SENT');
  });

  it('tracks connection state and delivers held commands on connect', async () => {
    expect(
      await handleCommandEvent({ clientId: dev, eventType: 'disconnected', timestamp: 1 }, deps),
    ).toMatchObject({ kind: 'lifecycle', connected: false });
    expect((await h.deps.registry.getByThing(dev))?.connected).toBe(false);
    const held = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    expect(held.status).toBe('QUEUED');
    const device = (await h.call(h.keys.acmeViewer, 'GET', `/v1/devices/${dev}`)).body;
    expect(device.connected).toBe(false);
    const out = await handleCommandEvent({ clientId: dev, eventType: 'connected', timestamp: 2 }, deps);
    expect(out).toMatchObject({ kind: 'lifecycle', connected: true, sent: 1, timedOut: 0 });
    expect((await h.deps.commands.get('acme', held.commandId))?.status).toBe('SENT');
    expect((await handleCommandEvent({ clientId: 'unknown', eventType: 'connected' }, deps)).kind).toBe(
      'ignored',
    );
  });
});
