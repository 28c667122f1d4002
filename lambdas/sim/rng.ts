/**
 * A small seeded pseudo-random generator for the device simulator, so that `--seed` reproduces a run's
 * values exactly (message contents, command failures). Not for anything secret.
 */

/** A seeded random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (inclusive; both safe integers). */
  int(min: number, max: number): number;
  /** Uniform BigInt in [min, max] (inclusive). */
  bigint(min: bigint, max: bigint): bigint;
  /** Uniform double in [min, max). */
  float(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A child generator with its own stream (one per device, so devices do not share a sequence). */
  fork(salt: number): Rng;
}

/** Mix a 32-bit state (splitmix32 finalizer) so nearby seeds give unrelated streams. */
function mix(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A mulberry32 generator seeded with `seed` (any 32-bit integer). */
export function createRng(seed: number): Rng {
  let state = mix(seed >>> 0);
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int(min, max) {
      if (max <= min) return min;
      // Two draws give 53 bits, enough for any safe-integer span without modulo bias worth noticing.
      const span = max - min + 1;
      const r = Math.floor(next() * 2 ** 21) * 2 ** 32 + Math.floor(next() * 2 ** 32);
      return min + (r % span);
    },
    bigint(min, max) {
      if (max <= min) return min;
      const span = max - min + 1n;
      let r = 0n;
      for (let bits = 0n; bits < BigInt(span.toString(2).length) + 32n; bits += 32n) {
        r = (r << 32n) | BigInt(Math.floor(next() * 4294967296));
      }
      return min + (r % span);
    },
    float(min, max) {
      return min + next() * (max - min);
    },
    pick(items) {
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    fork(salt) {
      return createRng(mix((seed ^ Math.imul(salt + 1, 0x27d4eb2d)) >>> 0));
    },
  };
  return rng;
}
