import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeEms } from '../../lambdas/core/codecs/ems.js';
import { encodeFlexconnectBinary } from '../../lambdas/core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson } from '../../lambdas/core/codecs/flexconnect-json.js';
import { DbcResolver } from '../../lambdas/services/dbc-resolver.js';
import { EVENT_NUMBERS } from '../../lambdas/services/ingest-codes.js';
import { IngestRetryableError, IngestService } from '../../lambdas/services/ingest-service.js';
import {
  CapturingDeadLetters,
  CapturingEvents,
  device,
  MemoryFiles,
  MemoryRegistry,
  MemoryStore,
  ruleEvent,
  TOKEN,
  TOY_ENGINE,
  type ToyDbc,
} from '../support/ingest-fakes.js';

const T0 = 1_760_000_000_000;
const JSON_TOPIC = 'dt/fleetwire/dev-1/flexconnect-json';
const BIN_TOPIC = 'dt/fleetwire/dev-1/flexconnect-binary';

function flexJson(opts: { token?: string; deviceId?: string; n?: number } = {}): Buffer {
  return encodeFlexconnectJson({
    ...(opts.deviceId !== undefined ? { device_id: opts.deviceId } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    tags: [{ site: 'a' }],
    points: Array.from({ length: opts.n ?? 2 }, (_, i) => ({
      timestamp: T0 + i,
      fields: [
        { name: 'temperature', value: 20 + i },
        { name: 'ok', value: true },
      ],
    })),
  });
}

function canMessage(ids: number[], token = TOKEN): Buffer {
  return encodeFlexconnectBinary({
    token,
    points: [{ timestamp: T0, readings: ids.map((id) => ({ id, data: Uint8Array.of(id & 0xff, 1, 2) })) }],
  });
}

interface Rig {
  registry: MemoryRegistry;
  store: MemoryStore;
  dlq: CapturingDeadLetters;
  events: CapturingEvents;
  files: MemoryFiles;
  resolver: DbcResolver<ToyDbc>;
  service: IngestService;
  warnings: { message: string; extra: Record<string, unknown> }[];
  hook: { tenant: string; n: number }[];
  now: { t: number };
}

function rig(opts: { hookFails?: boolean; app?: string } = {}): Rig {
  const registry = new MemoryRegistry(
    device({ dbcKey: 'dbc/t1/toy' }),
    device({ deviceId: 'dev-2', tenant: 't2' }),
  );
  const store = new MemoryStore();
  const dlq = new CapturingDeadLetters();
  const events = new CapturingEvents();
  const files = new MemoryFiles();
  files.set('dbc/t1/toy', 'TOY\nTOY 256 speed\nTOY 257 rpm', 'etag-1');
  const now = { t: 0 };
  const resolver = new DbcResolver(files, TOY_ENGINE, { ttlMs: 1000, now: () => now.t });
  const warnings: Rig['warnings'] = [];
  const hook: Rig['hook'] = [];
  const service = new IngestService({
    registry,
    store,
    deadLetters: dlq,
    events,
    dbc: resolver as DbcResolver<unknown>,
    ...(opts.app ? { app: opts.app } : {}),
    log: { warn: (message, extra) => warnings.push({ message, extra }) },
    onPoints: async (tenant, points) => {
      if (opts.hookFails) throw new Error('alerts down');
      hook.push({ tenant, n: points.length });
    },
  });
  return { registry, store, dlq, events, files, resolver, service, warnings, hook, now };
}

describe('IngestService', () => {
  let r: Rig;
  beforeEach(() => {
    r = rig();
  });

  it('stores a valid FlexConnect JSON message for the device tenant and touches lastSeen', async () => {
    const out = await r.service.ingest(ruleEvent(flexJson({ token: TOKEN, deviceId: 'dev-1' }), JSON_TOPIC));
    expect(out).toMatchObject({
      status: 'stored',
      stored: 2,
      rejected: 0,
      deadLettered: false,
      tenant: 't1',
    });
    expect(r.store.writes).toHaveLength(1);
    expect(r.store.writes[0]?.tenant).toBe('t1');
    expect(r.store.points.map((p) => [p.device, p.time, p.fields.temperature])).toEqual([
      ['dev-1', T0, 20],
      ['dev-1', T0 + 1, 21],
    ]);
    expect(r.registry.touches).toEqual([{ deviceId: 'dev-1', at: T0 }]);
    expect(r.dlq.letters).toEqual([]);
    expect(r.events.events).toEqual([]);
    expect(r.hook).toEqual([{ tenant: 't1', n: 2 }]);
  });

  it('accepts a message without a token (the certificate is the authentication)', async () => {
    const out = await r.service.ingest(ruleEvent(flexJson(), JSON_TOPIC));
    expect(out.status).toBe('stored');
  });

  it('accepts the Basic Ingest form of the topic and the FlexConnect topics', async () => {
    const basic = await r.service.ingest(
      ruleEvent(flexJson({ token: TOKEN }), `$aws/rules/fleetwire_dt_flexconnect_json/${JSON_TOPIC}`),
    );
    expect(basic.status).toBe('stored');
    const flex = await r.service.ingest(ruleEvent(flexJson({ token: TOKEN }), 'flexconnect/mqtt_topic'));
    expect(flex).toMatchObject({ status: 'stored', device: 'dev-1', format: 'flexconnect-json' });
  });

  const rejections: [string, () => ReturnType<typeof ruleEvent>, Partial<{ tenant: string }>][] = [
    ['IDENTITY_MISSING', () => ruleEvent(flexJson(), JSON_TOPIC, 'n/a'), {}],
    ['IDENTITY_MISSING', () => ruleEvent(flexJson(), JSON_TOPIC, ''), {}],
    ['TOPIC_IDENTITY_MISMATCH', () => ruleEvent(flexJson(), 'dt/fleetwire/dev-2/flexconnect-json'), {}],
    ['INVALID_TOPIC', () => ruleEvent(flexJson(), 'dt/fleetwire/dev-1'), {}],
    ['INVALID_TOPIC', () => ruleEvent(flexJson(), 'cmd/fleetwire/dev-1/ack'), {}],
    ['DEVICE_UNKNOWN', () => ruleEvent(flexJson(), 'dt/fleetwire/ghost/flexconnect-json', 'ghost'), {}],
    ['TOKEN_MISMATCH', () => ruleEvent(flexJson({ token: 'wrong-token' }), JSON_TOPIC), { tenant: 't1' }],
    ['DEVICE_ID_MISMATCH', () => ruleEvent(flexJson({ deviceId: 'dev-2' }), JSON_TOPIC), { tenant: 't1' }],
    ['INVALID_JSON', () => ruleEvent('{"points": [', JSON_TOPIC), { tenant: 't1' }],
    ['PAYLOAD_EMPTY', () => ruleEvent('', JSON_TOPIC), { tenant: 't1' }],
    ['PAYLOAD_TOO_LARGE', () => ruleEvent(Buffer.alloc(101 * 1024, 0x20), JSON_TOPIC), { tenant: 't1' }],
    ['INVALID_BASE64', () => ({ ...ruleEvent('x', JSON_TOPIC), payload: 'not base64!' }), { tenant: 't1' }],
  ];
  for (const [code, make, extra] of rejections) {
    it(`dead-letters ${code} with the original payload and a numbered event`, async () => {
      const ev = make();
      const out = await r.service.ingest(ev);
      expect(out).toMatchObject({ status: 'rejected', deadLettered: true, code, stored: 0 });
      expect(out.number).toBe(EVENT_NUMBERS[code]);
      expect(r.store.writes).toEqual([]);
      expect(r.dlq.letters).toHaveLength(1);
      const letter = r.dlq.letters[0]!;
      expect(letter).toMatchObject({
        code,
        payloadBase64: ev.payload,
        topic: ev.topic,
        clientId: ev.clientId,
      });
      expect(letter.reason.length).toBeGreaterThan(0);
      expect(letter.tenant).toBe(extra.tenant);
      expect(r.events.events).toHaveLength(1);
      expect(r.events.events[0]).toMatchObject({
        type: 'ingest.rejected',
        code,
        number: EVENT_NUMBERS[code],
      });
    });
  }

  it('refuses dt/ topics of another application when the app is configured', async () => {
    const { service } = rig({ app: 'fleetwire' });
    const other = await service.ingest(ruleEvent(flexJson(), 'dt/other-app/dev-1/flexconnect-json'));
    expect(other).toMatchObject({ status: 'rejected', code: 'INVALID_TOPIC' });
    const ours = await service.ingest(ruleEvent(flexJson(), JSON_TOPIC));
    expect(ours.status).toBe('stored');
    const flex = await service.ingest(ruleEvent(flexJson(), 'flexconnect/mqtt_topic'));
    expect(flex.status).toBe('stored');
  });

  it('rejects a disabled device', async () => {
    r.registry.devices.set('dev-1', device({ status: 'disabled' }));
    const out = await r.service.ingest(ruleEvent(flexJson(), JSON_TOPIC));
    expect(out).toMatchObject({ status: 'rejected', code: 'DEVICE_DISABLED', tenant: 't1' });
  });

  it('never lets a token reach dead letters, events or logs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/), async (token) => {
        fc.pre(token !== TOKEN);
        const t = rig();
        await t.service.ingest(ruleEvent(flexJson({ token }), JSON_TOPIC));
        expect(t.dlq.letters[0]?.code).toBe('TOKEN_MISMATCH');
        const { payloadBase64: _payload, ...rest } = t.dlq.letters[0]!;
        const text = JSON.stringify([rest, t.events.events, t.warnings]);
        expect(text).not.toContain(token);
        expect(text).not.toContain(TOKEN);
      }),
      { numRuns: 25 },
    );
  });

  it('decodes CAN frames with the device DBC and reports unknown ids as warnings', async () => {
    const out = await r.service.ingest(ruleEvent(canMessage([256, 257, 999]), BIN_TOPIC));
    expect(out).toMatchObject({ status: 'stored', stored: 2, warnings: 1, code: 'DECODE_WARNINGS' });
    expect(r.store.points.map((p) => p.fields)).toEqual([{ speed: 0 }, { rpm: 1 }]);
    expect(r.events.events).toHaveLength(1);
    expect(r.events.events[0]).toMatchObject({
      type: 'ingest.warnings',
      code: 'DECODE_WARNINGS',
      number: EVENT_NUMBERS.DECODE_WARNINGS,
      detail: { warnings: { DBC_UNKNOWN_ID: 1 } },
    });
    expect(r.dlq.letters).toEqual([]);
  });

  it('caches the compiled DBC: no GET within the TTL, one HEAD after it, a recompile on a new ETag', async () => {
    await r.service.ingest(ruleEvent(canMessage([256]), BIN_TOPIC));
    await r.service.ingest(ruleEvent(canMessage([256]), BIN_TOPIC));
    expect(r.files.calls).toEqual({ head: 1, get: 1 });
    expect(r.resolver.stats).toMatchObject({ hits: 1, compiles: 1 });
    r.now.t = 5000;
    await r.service.ingest(ruleEvent(canMessage([256]), BIN_TOPIC));
    expect(r.files.calls).toEqual({ head: 2, get: 1 });
    r.files.set('dbc/t1/toy', 'TOY\nTOY 256 velocity', 'etag-2');
    r.now.t = 10_000;
    await r.service.ingest(ruleEvent(canMessage([256]), BIN_TOPIC));
    expect(r.files.calls).toEqual({ head: 3, get: 2 });
    expect(r.store.points.at(-1)?.fields).toEqual({ velocity: 0 });
  });

  it('dead-letters CAN messages when the DBC is unassigned, missing, foreign or broken', async () => {
    const cases: [Partial<ReturnType<typeof device>>, string][] = [
      [{ dbcKey: undefined }, 'DBC_NOT_ASSIGNED'],
      [{ dbcKey: 'dbc/t1/missing' }, 'DBC_NOT_FOUND'],
      [{ dbcKey: 'dbc/t2/toy' }, 'DBC_NOT_FOUND'],
      [{ dbcKey: 'dbc/t1/broken' }, 'DBC_PARSE_ERROR'],
    ];
    r.files.set('dbc/t1/broken', 'NOT A DBC', 'etag-b');
    r.files.set('dbc/t2/toy', 'TOY\nTOY 256 speed', 'etag-x');
    for (const [patch, code] of cases) {
      r.registry.devices.set('dev-1', { ...device(), ...patch });
      const out = await r.service.ingest(ruleEvent(canMessage([256]), BIN_TOPIC));
      expect(out, code).toMatchObject({ status: 'rejected', code, tenant: 't1' });
    }
    expect(r.dlq.letters.map((l) => l.code)).toEqual(cases.map((c) => c[1]));
    expect(r.store.writes).toEqual([]);
  });

  it('dead-letters permanently rejected points with their reasons and stores the rest', async () => {
    r.store.reject = (_p, i) =>
      i === 1 ? { reason: 'VERSION_CONFLICT: differs', retryable: false } : undefined;
    const out = await r.service.ingest(ruleEvent(flexJson({ n: 3 }), JSON_TOPIC));
    expect(out).toMatchObject({
      status: 'partial',
      stored: 2,
      rejected: 1,
      deadLettered: true,
      code: 'STORE_REJECTED',
    });
    expect(r.dlq.letters[0]).toMatchObject({
      code: 'STORE_REJECTED',
      tenant: 't1',
      rejected: [{ index: 1, reason: 'VERSION_CONFLICT: differs' }],
    });
    expect(r.hook).toEqual([{ tenant: 't1', n: 2 }]);
    expect(r.events.events[0]).toMatchObject({
      code: 'STORE_REJECTED',
      number: EVENT_NUMBERS.STORE_REJECTED,
    });
  });

  it('marks a message whose every point was rejected as rejected', async () => {
    r.store.reject = () => ({ reason: 'LIMIT: too big', retryable: false });
    const out = await r.service.ingest(ruleEvent(flexJson({ n: 2 }), JSON_TOPIC));
    expect(out).toMatchObject({ status: 'rejected', stored: 0, rejected: 2, deadLettered: true });
  });

  it('throws IngestRetryableError (and dead-letters nothing) when retryable failures remain', async () => {
    r.store.reject = (_p, i) =>
      i === 0
        ? { reason: 'RETRY_EXHAUSTED: ThrottlingException', retryable: true }
        : { reason: 'x', retryable: false };
    await expect(r.service.ingest(ruleEvent(flexJson({ n: 2 }), JSON_TOPIC))).rejects.toBeInstanceOf(
      IngestRetryableError,
    );
    expect(r.dlq.letters).toEqual([]);
  });

  it('fails the invocation when the dead letter cannot be written', async () => {
    r.dlq.fail = true;
    await expect(r.service.ingest(ruleEvent('{', JSON_TOPIC))).rejects.toThrow('sqs down');
  });

  it('treats system events and lastSeen as best-effort', async () => {
    r.events.fail = true;
    r.registry.failTouch = true;
    // A CAN frame with an unknown id: stored with a warning event, after touching lastSeen.
    const out = await r.service.ingest(ruleEvent(canMessage([256, 999]), BIN_TOPIC));
    expect(out).toMatchObject({ status: 'stored', stored: 1, warnings: 1 });
    const bad = await r.service.ingest(ruleEvent('{', JSON_TOPIC));
    expect(bad.code).toBe('INVALID_JSON');
    expect(r.dlq.letters).toHaveLength(1);
    expect(r.warnings.map((w) => w.message)).toEqual([
      'lastSeen update failed',
      'system events could not be published',
      'system events could not be published',
    ]);
  });

  it('reports a failing alert hook without failing ingest', async () => {
    const t = rig({ hookFails: true });
    const out = await t.service.ingest(ruleEvent(flexJson(), JSON_TOPIC));
    expect(out).toMatchObject({ status: 'stored', stored: 2, hookFailed: true });
    expect(t.events.events.map((e) => e.code)).toEqual(['HOOK_FAILED']);
  });

  it('writes lastSeen at most once per interval', async () => {
    r.registry.devices.set('dev-1', device({ lastSeen: T0 - 10_000 }));
    await r.service.ingest(ruleEvent(flexJson(), JSON_TOPIC, 'dev-1', T0));
    expect(r.registry.touches).toEqual([]);
    await r.service.ingest(ruleEvent(flexJson(), JSON_TOPIC, 'dev-1', T0 + 60_000));
    expect(r.registry.touches).toEqual([{ deviceId: 'dev-1', at: T0 + 60_000 }]);
  });

  it('takes the point device from the connection, and an EMS device_id must match it', async () => {
    const ems = (id: string) => encodeEms({ deviceId: id, timestamp: T0, data: { battery: { soc: 50 } } });
    const ok = await r.service.ingest(ruleEvent(ems('dev-1'), 'dt/fleetwire/dev-1/ems'));
    expect(ok).toMatchObject({ status: 'stored', format: 'ems' });
    expect(r.store.points[0]).toMatchObject({ device: 'dev-1', fields: { 'battery.soc': 50 } });
    const bad = await r.service.ingest(ruleEvent(ems('dev-2'), 'dt/fleetwire/dev-1/ems'));
    expect(bad.code).toBe('DEVICE_ID_MISMATCH');
  });

  it('dead-letters a malformed Lambda event as INVALID_EVENT', async () => {
    const out = await r.service.ingestRaw({ hello: 'world' });
    expect(out).toMatchObject({
      status: 'rejected',
      code: 'INVALID_EVENT',
      number: EVENT_NUMBERS.INVALID_EVENT,
    });
    expect(Buffer.from(r.dlq.letters[0]!.payloadBase64, 'base64').toString()).toBe('{"hello":"world"}');
  });

  it('accepts a well-formed raw event', async () => {
    const out = await r.service.ingestRaw(ruleEvent(flexJson(), JSON_TOPIC));
    expect(out.status).toBe('stored');
  });
});
