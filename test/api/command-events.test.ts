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

  it('tracks connection state from presence events without sending held commands at connect', async () => {
    expect(
      await handleCommandEvent({ clientId: dev, eventType: 'disconnected', timestamp: 1 }, deps),
    ).toMatchObject({ kind: 'lifecycle', event: 'disconnected', connected: false, sent: 0 });
    expect((await h.deps.registry.getByThing(dev))?.connected).toBe(false);
    const held = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    expect(held.status).toBe('QUEUED');
    const device = (await h.call(h.keys.acmeViewer, 'GET', `/v1/devices/${dev}`)).body;
    expect(device.connected).toBe(false);
    const published = h.deps.publisher.sent.length;
    // Connected, but not yet subscribed to its command topic: a publish now could be lost.
    const out = await handleCommandEvent({ clientId: dev, eventType: 'connected', timestamp: 2 }, deps);
    expect(out).toMatchObject({ kind: 'lifecycle', event: 'connected', connected: true, sent: 0 });
    expect((await h.deps.registry.getByThing(dev))?.connected).toBe(true);
    expect((await h.deps.commands.get('acme', held.commandId))?.status).toBe('QUEUED');
    expect(h.deps.publisher.sent).toHaveLength(published);
    expect((await handleCommandEvent({ clientId: 'unknown', eventType: 'connected' }, deps)).kind).toBe(
      'ignored',
    );
  });

  it('delivers held commands, oldest first, once the device subscribes to its command topic', async () => {
    await handleCommandEvent({ clientId: dev, eventType: 'disconnected', timestamp: 1 }, deps);
    const ids: string[] = [];
    for (const action of ['FIRST', 'SECOND']) {
      h.clock.now += 1000;
      ids.push(
        (await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, { body: { action } })).body
          .commandId,
      );
    }
    await handleCommandEvent({ clientId: dev, eventType: 'connected', timestamp: 2 }, deps);
    const before = h.deps.publisher.sent.length;
    // The payload shape of AWS IoT's subscribe lifecycle event (developer guide, "Lifecycle events").
    const out = await handleCommandEvent(
      {
        clientId: dev,
        thingName: dev,
        timestamp: 3,
        eventType: 'subscribed',
        sessionIdentifier: '00000000-0000-0000-0000-000000000000',
        principalIdentifier: '12345678901234567890123456789012',
        topics: [`cmd/fleetwire/${dev}/req`],
      },
      deps,
    );
    expect(out).toMatchObject({ kind: 'lifecycle', event: 'subscribed', connected: true, sent: 2 });
    const sent = h.deps.publisher.sent.slice(before);
    expect(sent.map((m) => m.topic)).toEqual([`cmd/fleetwire/${dev}/req`, `cmd/fleetwire/${dev}/req`]);
    expect(sent.map((m) => JSON.parse(m.payload).command_id)).toEqual(ids);
    for (const id of ids) expect((await h.deps.commands.get('acme', id))?.status).toBe('SENT');
    // A second SUBSCRIBE (a resubscribe, a duplicate event) finds nothing left to send.
    expect(
      await handleCommandEvent(
        { clientId: dev, eventType: 'subscribed', timestamp: 4, topics: [`cmd/fleetwire/${dev}/#`] },
        deps,
      ),
    ).toMatchObject({ kind: 'lifecycle', sent: 0 });
    expect(h.deps.publisher.sent).toHaveLength(before + 2);
  });

  it('marks a device subscribed before its connect event was processed as connected', async () => {
    await handleCommandEvent({ clientId: dev, eventType: 'disconnected', timestamp: 1 }, deps);
    const held = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    const out = await handleCommandEvent(
      { clientId: dev, eventType: 'subscribed', timestamp: 3, topics: [`cmd/+/${dev}/req`] },
      deps,
    );
    expect(out).toMatchObject({ kind: 'lifecycle', connected: true, sent: 1 });
    expect((await h.deps.registry.getByThing(dev))?.connected).toBe(true);
    expect((await h.deps.commands.get('acme', held.commandId))?.status).toBe('SENT');
  });

  it('ignores subscriptions that do not cover the command topic, and malformed subscription events', async () => {
    await handleCommandEvent({ clientId: dev, eventType: 'disconnected', timestamp: 1 }, deps);
    const held = (
      await h.call(h.keys.acmeOperator, 'POST', `/v1/devices/${dev}/commands`, {
        body: { action: 'SOFT_RESET' },
      })
    ).body;
    const cases: unknown[] = [
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: [`dt/fleetwire/${dev}/ems`] },
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: [`cmd/fleetwire/other/req`] },
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: [`cmd/other-app/${dev}/req`] },
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: [] },
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: `cmd/fleetwire/${dev}/req` },
      { clientId: dev, eventType: 'subscribed', timestamp: 2, topics: [42] },
      {
        clientId: dev,
        eventType: 'subscribed',
        timestamp: 2,
        topics: Array.from({ length: 65 }, () => `cmd/fleetwire/${dev}/req`),
      },
      { clientId: dev, eventType: 'unsubscribed', timestamp: 2, topics: [`cmd/fleetwire/${dev}/req`] },
      { clientId: 'no-such-device', eventType: 'subscribed', topics: ['cmd/fleetwire/no-such-device/req'] },
      { clientId: `${dev}/x`, eventType: 'subscribed', topics: ['#'] },
    ];
    for (const e of cases)
      expect((await handleCommandEvent(e, deps)).kind, JSON.stringify(e).slice(0, 120)).toBe('ignored');
    expect((await h.deps.commands.get('acme', held.commandId))?.status).toBe('QUEUED');
    expect((await h.deps.registry.getByThing(dev))?.connected).toBe(false);
  });
});
