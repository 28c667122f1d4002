import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../lambdas/core/codecs/index.js';
import {
  buildKnownShape,
  MAX_BUILDER_FIELDS,
  rememberShape,
} from '../../lambdas/core/codecs/record-shapes.js';

const CTX = { device: 'd1', receivedAt: 1769860801000 };
const ems = (v: number) =>
  Buffer.from(
    JSON.stringify({ device_id: 'ems_001', battery: { voltage: v, soc: 85 }, grid: { power: -200 } }),
  );

describe('record shapes', () => {
  it('builds a recurring shape into the same null-prototype record as the generic path', () => {
    const results = [1, 2, 3, 4].map((v) => decodePayload(ems(v), 'ems', CTX).points[0]?.fields);
    results.forEach((fields, i) => {
      expect(Object.getPrototypeOf(fields)).toBeNull();
      expect({ ...fields }).toEqual({ 'battery.voltage': i + 1, 'battery.soc': 85, 'grid.power': -200 });
    });
  });

  it('builds only remembered shapes, with values in order', () => {
    const names = ['a.x', 'a.y', `z${Math.random()}`];
    expect(buildKnownShape(names, [1, 2, 3])).toBeUndefined();
    rememberShape(names); // what the generic build does after a duplicate-free first sighting
    const o = buildKnownShape(names, [4, 'five', true]);
    expect(o).toBeDefined();
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(Object.entries(o ?? {})).toEqual([
      ['a.x', 4],
      ['a.y', 'five'],
      [names[2], true],
    ]);
  });

  it('never compiles "__proto__" into a literal, nor shapes past the builder cap', () => {
    const hostile = ['__proto__', 'b'];
    rememberShape(hostile);
    rememberShape(hostile);
    expect(buildKnownShape(hostile, [{ polluted: true } as never, 1])).toBeUndefined();
    const big = Array.from({ length: MAX_BUILDER_FIELDS + 1 }, (_, i) => `f${i}`);
    rememberShape(big);
    expect(
      buildKnownShape(
        big,
        big.map(() => 1),
      ),
    ).toBeUndefined();
  });

  it('names that need escaping stay inert string keys', () => {
    const names = ['a"b', 'c\\d', 'e\u2028f', '\u0024{x}', "g'h"];
    rememberShape(names);
    buildKnownShape(names, [1, 2, 3, 4, 5]);
    expect(Object.keys(buildKnownShape(names, [1, 2, 3, 4, 5]) ?? {})).toEqual(names);
  });
});
