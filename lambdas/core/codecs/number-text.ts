/**
 * A finite number's JSON text (exactly `JSON.stringify(x)`, i.e. ECMAScript Number::toString), fast for
 * the numbers devices send: integers and decimals with at most 6 fraction digits.
 *
 * Why: arrays of scalars become one JSON-text string field (json-fields.ts), so every element of a
 * cell-voltage array is turned back into text. V8's shortest-round-trip conversion of a double costs
 * about 120 ns when its number-to-string cache misses, which it does for fresh readings; that alone
 * took more time than JSON.parse of the whole message. Device readings are printed with few decimals,
 * so the shortest text is found by scaling instead, and an array of such numbers is written as bytes
 * into one scratch buffer and read back as one string ({@link numberArrayText}).
 *
 * Correctness (for 1e-6 ≤ |x| < 1e9 and d ≤ 6 fraction digits; anything else goes to `String(x)`):
 * - if `m = Math.round(|x|·10^d)` and `m / 10^d === |x|`, the decimal m·10^-d reads back as x, because
 *   IEEE division of the exact integers m and 10^d is correctly rounded, just as parsing is;
 * - any decimal m'·10^-d' (d' ≤ 6) that reads back as x lies within half an ulp of x, so |x|·10^6 lies
 *   within 0.12 of the integer m'·10^(6−d') (ulp(1e9)·10^6/2 plus the product's own rounding error):
 *   `Math.round(|x|·10^6)` is exactly that integer, and the fewest digits d are found by stripping its
 *   trailing zeros (each stripped zero leaves a decimal that still reads back as x, by the first point);
 * - with d minimal the decimal is unique (10^-6 exceeds two ulps of any |x| < 1e9), so it is the one
 *   Number::toString picks.
 */

/** "0".."999", and the zero-padded fraction digits "0".."9", "00".."99", "000".."999". */
const SMALL: string[] = Array.from({ length: 1000 }, (_, i) => String(i));
const PADDED: string[][] = [
  [],
  SMALL.slice(0, 10),
  SMALL.slice(0, 100).map((s) => s.padStart(2, '0')),
  SMALL.map((s) => s.padStart(3, '0')),
];

/** `f` (0 ≤ f < 10^d) as exactly d digits, zero-padded. */
function fractionDigits(f: number, d: number): string {
  if (d <= 3) return (PADDED[d] as string[])[f] as string;
  const hi = Math.floor(f / 1000);
  return (PADDED[d - 3] as string[])[hi] + ((PADDED[3] as string[])[f - hi * 1000] as string);
}

/** `String(x)` for a finite number, computed without V8's double-to-text conversion where possible. */
export function numberText(x: number): string {
  if (Number.isInteger(x)) {
    // Small integers hit V8's number-string cache; -0 prints as "0" here as in JSON.
    return x >= 0 && x < 1000 ? (SMALL[x] as string) : String(x);
  }
  const a = x < 0 ? -x : x;
  if (a >= 1e-6 && a < 1e9) {
    const m = Math.round(a * 1e6);
    if (m / 1e6 === a) {
      const ip = Math.floor(m / 1e6);
      let f = m - ip * 1e6; // 1 ≤ f < 10^6: x is not an integer
      let d = 6;
      for (let q = (f / 10) | 0; d > 1 && q * 10 === f; q = (f / 10) | 0) {
        f = q;
        d--;
      }
      const int = ip < 1000 ? (SMALL[ip] as string) : String(ip);
      const text = `${int}.${fractionDigits(f, d)}`;
      return x < 0 ? `-${text}` : text;
    }
  }
  return String(x);
}

/** Scratch space for {@link numberArrayText}; an array whose text would not fit takes the slow path. */
const scratch = Buffer.alloc(4096);
/** Longest text one number may add (sign, 10 integer digits, point, 6 fraction digits, comma). */
const MAX_NUMBER_CHARS = 20;

/** Write the decimal digits of the integer 0 ≤ v < 2^31 at `pos`; returns the end. */
function writeDigits(b: Buffer, pos: number, v: number): number {
  // Int32 arithmetic throughout: V8 turns the divisions by 10 into multiplications.
  let end = pos + 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) end++;
  for (let i = end - 1, r = v | 0; i >= pos; i--) {
    const q = (r / 10) | 0;
    b[i] = 48 + r - q * 10;
    r = q;
  }
  return end;
}

/** Write the integer 0 ≤ f < 10^d as exactly `d` digits, zero-padded, at `pos`; returns the end. */
function writeFraction(b: Buffer, pos: number, f: number, d: number): number {
  for (let i = pos + d - 1, r = f | 0; i >= pos; i--) {
    const q = (r / 10) | 0;
    b[i] = 48 + r - q * 10;
    r = q;
  }
  return pos + d;
}

/** Node's Buffer#latin1Slice (what `toString('latin1', …)` calls after checking its arguments). */
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }
).latin1Slice;
const readLatin1 =
  latin1Slice === undefined
    ? (b: Buffer, end: number) => b.toString('latin1', 0, end)
    : (b: Buffer, end: number) => latin1Slice.call(b, 0, end);

/**
 * `JSON.stringify(arr)` for an array of numbers that all take the fast path of {@link numberText}
 * (integers below 2^31 in magnitude, decimals as above), or undefined as soon as one element does not
 * (a non-number, a non-finite number, or any other number): the caller then takes the general path,
 * which also reports what is wrong with the element.
 */
export function numberArrayText(arr: readonly unknown[]): string | undefined {
  const n = arr.length;
  if (n * MAX_NUMBER_CHARS + 2 > scratch.length) return undefined;
  const b = scratch;
  let pos = 0;
  b[pos++] = 0x5b; // [
  for (let i = 0; i < n; i++) {
    const x = arr[i];
    if (typeof x !== 'number') return undefined;
    if (i > 0) b[pos++] = 0x2c; // ,
    let a = x;
    if (x < 0) {
      a = -x;
      b[pos++] = 0x2d; // -
    }
    if (Number.isInteger(a)) {
      if (a >= 0x8000_0000) return undefined;
      pos = writeDigits(b, pos, a);
      continue;
    }
    // Also false for NaN and ±Infinity.
    if (!(a >= 1e-6 && a < 1e9)) return undefined;
    const m = Math.round(a * 1e6);
    if (m / 1e6 !== a) return undefined;
    const ip = Math.floor(m / 1e6);
    let f = m - ip * 1e6; // 1 ≤ f < 10^6: a is not an integer
    let d = 6;
    for (let q = (f / 10) | 0; d > 1 && q * 10 === f; q = (f / 10) | 0) {
      f = q;
      d--;
    }
    pos = writeDigits(b, pos, ip);
    b[pos++] = 0x2e; // .
    pos = writeFraction(b, pos, f, d);
  }
  b[pos++] = 0x5d; // ]
  return readLatin1(b, pos);
}
