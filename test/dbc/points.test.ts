import { describe, expect, it } from 'vitest';
import { framesToPoints } from '../../lambdas/core/dbc/index.js';
import type { CanFrame } from '../../lambdas/core/model/point.js';
import { compileFixture, hex } from './helpers.js';

const dbc = compileFixture('features.dbc');
const frame = (time: number, id: number, data: string, bus = 0, extended = false): CanFrame => ({
  time,
  bus,
  id,
  extended,
  dlc: data.length / 2,
  data: hex(data),
});

describe('framesToPoints', () => {
  it('makes one point per (time, bus, message) with <message>.<signal> fields and a bus tag', () => {
    const { points, warnings } = framesToPoints(
      [
        frame(1000, 100, '1027d0076457f9c5'),
        frame(1000, 100, '1027d0076457f9c5', 1),
        frame(1010, 302, '0100000000000002'),
      ],
      dbc,
      'dev-1',
    );
    expect(warnings).toEqual([]);
    expect(points).toHaveLength(3);
    expect(points[0]).toEqual({
      device: 'dev-1',
      time: 1000,
      tags: { bus: '0' },
      fields: {
        'Engine.Speed': 100,
        'Engine.Rpm': 2000,
        'Engine.Temp': 60,
        'Engine.Gear': 3,
        'Engine.Load': 42,
        'Engine.Torque': -10,
        'Engine.Flags': 5,
      },
    });
    expect(points[1]!.tags).toEqual({ bus: '1' });
    expect(points[2]!.fields).toEqual({ 'Short.Head': 1, 'Short.Tail': 2 });
    expect(Object.getPrototypeOf(points[0]!.fields)).toBeNull();
  });

  it('merges multiplexed pages of the same message and time into one point', () => {
    const { points } = framesToPoints(
      [frame(5, 300, '00341200000000ee'), frame(5, 300, '0105fe00000000ee')],
      dbc,
      'd',
    );
    expect(points).toHaveLength(1);
    expect(points[0]!.fields).toEqual({
      'Muxed.Mode': 1,
      'Muxed.A': 0x1234,
      'Muxed.Crc': 0xee,
      'Muxed.B': 5,
      'Muxed.C': -2,
    });
  });

  it('stores value-table names only when asked', () => {
    const f = [frame(1, 100, '1027d0076457f9c5')];
    expect(framesToPoints(f, dbc, 'd').points[0]!.fields['Engine.Gear']).toBe(3);
    expect(framesToPoints(f, dbc, 'd', { choices: true }).points[0]!.fields['Engine.Gear']).toBe('D');
  });

  it('keeps big integers exact: numbers when representable, decimal strings otherwise', () => {
    const { points, warnings } = framesToPoints(
      [frame(1, 0x123, '0000000000000080', 0, true), frame(2, 0x123, '0123456789abcdef', 0, true)],
      dbc,
      'd',
    );
    expect(points[0]!.fields['Wide.Counter64']).toBe(2 ** 63);
    expect(points[1]!.fields['Wide.Counter64']).toBe('17279655951921914625');
    expect(warnings).toEqual([
      { code: 'DBC_PRECISION', message: 'Wide.Counter64 exceeds 2^53; stored as a decimal string', index: 1 },
    ]);
  });

  it('reports unknown ids, short frames, bad selectors and non-finite values as aggregated warnings', () => {
    const { points, warnings } = framesToPoints(
      [
        frame(1, 999, '00'),
        frame(2, 999, '00'),
        frame(3, 0x999, '00', 2, true),
        frame(4, 302, '2a'),
        frame(5, 300, '0800000000000011'),
        frame(6, 201, '000000000000f87f'),
      ],
      dbc,
      'd',
    );
    expect(warnings.map((w) => [w.code, w.index])).toEqual([
      ['DBC_UNKNOWN_ID', 0],
      ['DBC_UNKNOWN_ID', 2],
      ['DBC_FRAME_TOO_SHORT', 3],
      ['DBC_BAD_MULTIPLEXER', 4],
      ['NON_FINITE_NUMBER', 5],
    ]);
    expect(warnings[0]!.message).toBe('no message in the DBC for standard id 0x3e7 on bus 0 (2 frames)');
    // Unknown frames are never guessed into points; partial frames keep what decoded.
    expect(points.map((p) => Object.keys(p.fields))).toEqual([
      ['Short.Head'],
      ['Muxed.Mode', 'Muxed.Crc'],
      [],
    ]);
  });
});
