/**
 * DBC-driven CAN generation: random frames from any seed decode completely with the DBC engine (every
 * multiplexer picks an existing branch, no signal missing), stay inside the declared [min|max] ranges and
 * survive the FlexConnect binary round trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFlexconnectBinary,
  encodeFlexconnectBinary,
} from '../../lambdas/core/codecs/flexconnect-binary.js';
import { type CompiledDbc, framesToPoints, loadCompiledDbc } from '../../lambdas/core/dbc/index.js';
import { DEFAULT_LIMITS } from '../../lambdas/core/limits.js';
import { CanTraffic, rawRange, restValue } from '../../lambdas/sim/can.js';
import { DEMO_DBC } from '../../lambdas/sim/demo-dbc.js';
import { createRng } from '../../lambdas/sim/rng.js';
import { fixture } from '../dbc/helpers.js';

const T = Date.UTC(2026, 0, 31, 12, 0, 0);
const demo = loadCompiledDbc(Buffer.from(DEMO_DBC));
const features = loadCompiledDbc(fixture('features.dbc'));

function checkFrames(dbc: CompiledDbc, seed: number): void {
  const traffic = new CanTraffic(dbc, undefined, 2);
  const frames = traffic.randomFrames(T, createRng(seed));
  expect(frames).toHaveLength(traffic.messageNames.length);
  for (const f of frames) {
    const r = dbc.decode(f.id, f.extended, f.data);
    expect(r.kind).toBe('message');
    if (r.kind !== 'message') continue;
    expect(r.error, `${r.message}: ${r.error?.message}`).toBeUndefined();
    expect(r.missing ?? []).toEqual([]);
    const m = dbc.getMessage(r.message);
    for (const s of m?.source.signals ?? []) {
      const v = r.signals[s.name];
      if (v === undefined || typeof v === 'string' || s.valueType !== 'integer') continue;
      if (s.minimum < s.maximum) {
        // Declared ranges hold (to the signal's own resolution).
        const eps = Math.abs(s.factor) / 2 + 1e-9;
        expect(Number(v), `${r.message}.${s.name}`).toBeGreaterThanOrEqual(s.minimum - eps);
        expect(Number(v), `${r.message}.${s.name}`).toBeLessThanOrEqual(s.maximum + eps);
      }
    }
  }
  // Through the wire format and the ingest plug-in: one point per message, no warnings.
  const bytes = encodeFlexconnectBinary({
    token: 't',
    points: [
      {
        timestamp: T,
        readings: frames.map((f) => ({ id: f.id, extended: f.extended, bus: f.bus, data: f.data })),
      },
    ],
  });
  const decoded = decodeFlexconnectBinary(bytes, {}, DEFAULT_LIMITS);
  expect(decoded.frames).toHaveLength(frames.length);
  const { points, warnings } = framesToPoints(decoded.frames, dbc, 'dev');
  // Only the documented precision note for 64-bit values beyond 2^53 (stored as exact decimal strings).
  expect(warnings.filter((w) => w.code !== 'DBC_PRECISION')).toEqual([]);
  expect(points).toHaveLength(frames.length);
  for (const p of points) expect(p.tags.bus).toBe('2');
}

describe('CAN traffic from a DBC', () => {
  it('generates fully decodable frames from the demo DBC for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => checkFrames(demo, seed)),
      { numRuns: 100 },
    );
  });

  it('handles multiplexing, 64-bit, float, CAN FD and extended messages (features.dbc)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => checkFrames(features, seed)),
      { numRuns: 100 },
    );
  });

  it('covers every branch of a multiplexer over many frames', () => {
    const traffic = new CanTraffic(features, ['Muxed']);
    const rng = createRng(5);
    const modes = new Set<unknown>();
    for (let i = 0; i < 200; i++) {
      const [f] = traffic.randomFrames(T, rng);
      const r = features.decode(f?.id ?? 0, false, f?.data ?? new Uint8Array());
      if (r.kind === 'message') modes.add(r.signals.Mode);
    }
    // m0, m1, m2M (nested), m3 and SG_MUL_VAL_ "3-5, 7-7": 6 has no branch and is never sent.
    expect([...modes].sort()).toEqual([0, 1, 2, 3, 4, 5, 7]);
  });

  it('sends only the named messages, and refuses names the DBC lacks', () => {
    expect(new CanTraffic(demo, ['BatteryStatus']).messageNames).toEqual(['BatteryStatus']);
    expect(() => new CanTraffic(demo, ['Nope'])).toThrow(/Nope/);
  });

  it('maps declared physical ranges to raw ranges inside the bit range', () => {
    const speed = demo.getMessage('VehicleDynamics')?.source.signals.find((s) => s.name === 'Speed');
    const temp = demo.getMessage('BatteryStatus')?.source.signals.find((s) => s.name === 'CellTempMax');
    const current = demo.getMessage('BatteryStatus')?.source.signals.find((s) => s.name === 'PackCurrent');
    if (!speed || !temp || !current) throw new Error('fixture');
    expect(rawRange(speed)).toEqual({ min: 0n, max: 25000n }); // 250 km/h / 0.01
    expect(rawRange(temp)).toEqual({ min: 0n, max: 165n }); // (-40..125 + 40) / 1
    expect(rawRange(current)).toEqual({ min: -10000n, max: 10000n });
    expect(restValue(temp)).toBe(0); // raw 40 → 0 °C
    expect(restValue(speed)).toBe(0);
  });

  it('pads frames to a length FlexConnect can carry', () => {
    const odd = loadCompiledDbc(
      Buffer.from('VERSION ""\n\nBU_: A\n\nBO_ 10 Odd: 3 A\n SG_ X : 0|8@1+ (1,0) [0|255] "" A\n'),
    );
    const [f] = new CanTraffic(odd, undefined).randomFrames(T, createRng(1));
    expect(f?.data.length).toBe(3);
    const fd = loadCompiledDbc(
      Buffer.from('VERSION ""\n\nBU_: A\n\nBO_ 11 Fd: 10 A\n SG_ X : 0|8@1+ (1,0) [0|255] "" A\n'),
    );
    const [g] = new CanTraffic(fd, undefined).randomFrames(T, createRng(1));
    expect(g?.data.length).toBe(12); // no DLC for 10 bytes: next CAN FD length
    expect(g?.dlc).toBe(9);
  });
});
