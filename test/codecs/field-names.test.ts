import { describe, expect, it } from 'vitest';
import { decodeEms, encodeEms } from '../../lambdas/core/codecs/ems.js';
import { MAX_CACHED_NAMES, rootNames, uncachedNames } from '../../lambdas/core/codecs/field-names.js';
import { DEFAULT_LIMITS } from '../../lambdas/core/limits.js';

describe('field name memo', () => {
  it('builds prefix + key at every level, memoized or not', () => {
    const root = rootNames();
    expect(root.name('grid')).toBe('grid');
    const battery = root.child('battery');
    expect(battery.prefix).toBe('battery.');
    expect(battery.name('voltage')).toBe('battery.voltage');
    expect(battery.name('voltage')).toBe('battery.voltage');
    expect(battery.child('cells').name('min')).toBe('battery.cells.min');
    expect(root.child('battery')).toBe(battery);
    const loose = uncachedNames('ch1.0.');
    expect(loose.name('x')).toBe('ch1.0.x');
    expect(loose.child('y').name('z')).toBe('ch1.0.y.z');
  });

  it('finds names by walk position only when the key there is the same, whatever the order', () => {
    const level = rootNames().child('ordered');
    for (const k of ['a', 'b', 'c']) level.name(k);
    const walk = (keys: string[]) => {
      level.rewind();
      return keys.map((k) => level.knownNameInOrder(k));
    };
    expect(walk(['a', 'b', 'c'])).toEqual(['ordered.a', 'ordered.b', 'ordered.c']);
    expect(walk(['a', 'b', 'c'])).toEqual(['ordered.a', 'ordered.b', 'ordered.c']);
    expect(walk(['c', 'a', 'x', 'b'])).toEqual(['ordered.c', 'ordered.a', undefined, 'ordered.b']);
    expect(walk(['b', 'c'])).toEqual(['ordered.b', 'ordered.c']);
    expect(walk(['a', 'b', 'c'])).toEqual(['ordered.a', 'ordered.b', 'ordered.c']);
  });

  it('names integer keys by position exactly as by text, inside and past the positional bound', () => {
    const ch = rootNames().child('ch7');
    for (const i of [0, 1, 9, 10, 4095, 4096, 4097, 123456]) {
      expect(ch.indexName(i)).toBe(`ch7.${i}`);
      expect(ch.indexName(i)).toBe(ch.name(String(i)));
      expect(ch.indexChild(i).name('units')).toBe(`ch7.${i}.units`);
    }
    expect(uncachedNames('ch1.').indexName(3)).toBe('ch1.3');
  });

  it('stays correct past its bound and starts over on the next message', () => {
    const root = rootNames();
    const node = root.child('flood');
    for (let i = 0; i < MAX_CACHED_NAMES + 10; i++) expect(node.name(`k${i}`)).toBe(`flood.k${i}`);
    expect(node.child('late').name('x')).toBe('flood.late.x');
    expect(rootNames()).not.toBe(root);
  });

  it('decodes correctly while messages with ever-new keys churn the memo', () => {
    for (let m = 0; m < 60; m++) {
      const data: Record<string, Record<string, number>> = {};
      for (let i = 0; i < 20; i++) {
        data[`m${m}_${i}`] = Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`f${j}`, m + i + j]));
      }
      const r = decodeEms(encodeEms({ deviceId: 'd', timestamp: 1769860801000, data }), {}, DEFAULT_LIMITS);
      const fields = r.points[0]!.fields;
      expect(Object.keys(fields)).toHaveLength(800);
      expect(fields[`m${m}_19.f39`]).toBe(m + 19 + 39);
    }
  });
});
