/**
 * The simulator's message generators: every format, plain and compressed, decodes with the production
 * codecs into exactly the points the generator announces; times strictly increase per device; a seed
 * reproduces a run; scripts drive the values.
 */
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../lambdas/core/codecs/index.js';
import { loadCompiledDbc } from '../../lambdas/core/dbc/index.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../../lambdas/core/model/point.js';
import { CanTraffic } from '../../lambdas/sim/can.js';
import { DEMO_DBC } from '../../lambdas/sim/demo-dbc.js';
import { expectedPoints } from '../../lambdas/sim/expected.js';
import { MessageGenerator, RECEIVE_TIME_FORMATS } from '../../lambdas/sim/generators.js';
import { createRng } from '../../lambdas/sim/rng.js';
import { parseScript } from '../../lambdas/sim/script.js';

const dbc = loadCompiledDbc(Buffer.from(DEMO_DBC));
const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

function generator(
  format: PayloadFormat,
  extra: Partial<ConstructorParameters<typeof MessageGenerator>[0]> = {},
) {
  return new MessageGenerator({
    format,
    deviceId: 'dev-1',
    token: 'tok-123',
    rng: createRng(7),
    can: new CanTraffic(dbc, undefined),
    ...extra,
  });
}

describe('message generators', () => {
  for (const format of PAYLOAD_FORMATS) {
    for (const compress of [false, true]) {
      it(`${format}${compress ? ' (compressed)' : ''}: decodes into the announced points`, () => {
        const g = generator(format, { compress });
        let last = 0;
        for (let i = 0; i < 20; i++) {
          // Several messages in the same millisecond still get distinct, increasing times.
          const msg = g.next(T0 + Math.floor(i / 4) * 1000);
          if (!msg) throw new Error('no message');
          const receivedAt = T0 + 60_000 + i;
          const points = expectedPoints(format, msg.payload, { device: 'dev-1', receivedAt, dbc });
          const distinct = new Set(points.map((p) => p.time));
          expect(distinct.size).toBe(msg.points);
          if (RECEIVE_TIME_FORMATS.includes(format)) {
            expect(msg.times).toEqual([]);
            expect([...distinct]).toEqual([receivedAt]);
          } else {
            expect([...distinct].sort()).toEqual(msg.times);
            for (const t of msg.times) {
              expect(t).toBeGreaterThan(last);
              last = t;
            }
          }
          for (const p of points) expect(Object.keys(p.fields).length).toBeGreaterThan(0);
          const decoded = decodePayload(msg.payload, format, { device: 'dev-1', receivedAt });
          expect(decoded.warnings).toEqual([]);
          if (format === 'flexconnect-json' || format === 'flexconnect-binary' || format === 'protobuf')
            expect(decoded.token).toBe('tok-123');
          if (compress) {
            const first = msg.payload[0];
            if (format === 'flexconnect-binary') expect(first).toBe(0xfc);
            else if (format === 'flexconnect-json')
              expect(JSON.parse(msg.payload.toString()).b64).toBeTypeOf('string');
            else expect(gunzipSync(msg.payload).length).toBeGreaterThan(0);
          }
        }
      });
    }
  }

  it('puts several points in one message, spaced and strictly increasing', () => {
    const g = generator('flexconnect-json', { pointsPerMessage: 5, pointSpacingMs: 10 });
    const a = g.next(T0);
    const b = g.next(T0 + 20); // overlaps the first message's span: pushed after it
    expect(a?.times).toEqual([T0 - 40, T0 - 30, T0 - 20, T0 - 10, T0]);
    expect(b?.times).toEqual([T0 + 1, T0 + 11, T0 + 21, T0 + 31, T0 + 41]);
    expect(decodePayload(b?.payload ?? Buffer.alloc(0), 'flexconnect-json').points).toHaveLength(5);
  });

  it('refuses several points for single-point formats', () => {
    expect(() => generator('ems', { pointsPerMessage: 2 })).toThrow(/one point/);
  });

  it('stamps DialTone messages in whole, increasing seconds', () => {
    const g = generator('dialtone');
    const times = [0, 1, 2].map((i) => g.next(T0 + 200 + i)?.times[0]);
    expect(times).toEqual([T0, T0 + 1000, T0 + 2000]);
  });

  it('reproduces the same messages from the same seed, different ones from another', () => {
    const run = (seed: number) => {
      const g = generator('ems', { rng: createRng(seed) });
      return [0, 1, 2].map((i) => g.next(T0 + i * 1000)?.payload.toString());
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('reports the EMS mode and error state the device holds', () => {
    const g = generator('ems');
    g.state.mode = 'MANUAL_DISCHARGE';
    g.state.errorFlags = ['OVERHEAT'];
    const [p] = decodePayload(g.next(T0)?.payload ?? Buffer.alloc(0), 'ems', { device: 'dev-1' }).points;
    expect(p?.fields['system_status.mode']).toBe('MANUAL_DISCHARGE');
    expect(p?.fields['system_status.state']).toBe('ERROR');
    expect(p?.fields['system_status.error_flags']).toBe('["OVERHEAT"]');
  });

  it('sends scripted values in order, looping, for field formats', () => {
    const script = parseScript(
      JSON.stringify([
        { speed: 1, gear: 'D' },
        { speed: 2, ignition: false },
      ]),
    );
    const g = generator('flexconnect-json', { script });
    const fields = [0, 1, 2].map(
      (i) => decodePayload(g.next(T0 + i)?.payload ?? Buffer.alloc(0), 'flexconnect-json').points[0]?.fields,
    );
    expect(fields.map((f) => ({ ...f }))).toEqual([
      { speed: 1, gear: 'D' },
      { speed: 2, ignition: false },
      { speed: 1, gear: 'D' },
    ]);
  });

  it('stops after the last step of a non-looping script', () => {
    const script = parseScript(JSON.stringify({ loop: false, steps: [{ '001': 1 }, { '001': 2 }] }));
    const g = generator('exosense', { script });
    expect(g.next(T0)).toBeDefined();
    expect(g.next(T0 + 1)).toBeDefined();
    expect(g.exhausted).toBe(true);
    expect(g.next(T0 + 2)).toBeUndefined();
  });

  it('scripts CAN signals by message; unnamed signals keep their previous values', () => {
    const script = parseScript(
      JSON.stringify([
        { VehicleDynamics: { Speed: 12.5, Gear: 3 } },
        { VehicleDynamics: { Speed: 20 }, BatteryStatus: { StateOfCharge: 80.5 } },
      ]),
    );
    const g = generator('flexconnect-binary', { script });
    const first = expectedPoints('flexconnect-binary', g.next(T0)?.payload ?? Buffer.alloc(0), {
      device: 'd',
      dbc,
    });
    const second = expectedPoints('flexconnect-binary', g.next(T0 + 1)?.payload ?? Buffer.alloc(0), {
      device: 'd',
      dbc,
    });
    expect(first).toHaveLength(1);
    expect(first[0]?.fields).toMatchObject({ 'VehicleDynamics.Speed': 12.5, 'VehicleDynamics.Gear': 3 });
    const byMsg = Object.assign({}, ...second.map((p) => ({ ...p.fields })));
    expect(byMsg).toMatchObject({
      'VehicleDynamics.Speed': 20,
      'VehicleDynamics.Gear': 3,
      'BatteryStatus.StateOfCharge': 80.5,
    });
  });

  it('fails clearly on a script value the DBC cannot hold', () => {
    const script = parseScript(JSON.stringify([{ VehicleDynamics: { Gear: 99 } }]));
    expect(() => generator('flexconnect-binary', { script }).next(T0)).toThrow(/Gear/);
    const unknown = parseScript(JSON.stringify([{ NoSuchMessage: { A: 1 } }]));
    expect(() => generator('flexconnect-binary', { script: unknown }).next(T0)).toThrow(/NoSuchMessage/);
  });

  it('keeps every generated flexconnect-json point decodable for any seed and point count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 20 }), (seed, n) => {
        const g = generator('flexconnect-json', {
          rng: createRng(seed),
          pointsPerMessage: n,
          compress: seed % 2 === 0,
        });
        const msg = g.next(T0);
        const r = decodePayload(msg?.payload ?? Buffer.alloc(0), 'flexconnect-json');
        expect(r.points.map((p) => p.time)).toEqual(msg?.times);
      }),
      { numRuns: 50 },
    );
  });
});
