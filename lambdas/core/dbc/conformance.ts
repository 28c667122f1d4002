/**
 * Conformance comparison: our decode-frames output against a reference decoder's expected lines.
 * Integers are compared exactly (their digits, so values beyond 2^53 count), floats within 1e-9
 * relative, strings (value-table names, "NaN") exactly; error texts need not match, only whether
 * there is an error.
 */

/** A JSON value with numbers kept as their source text. */
type JVal = null | boolean | string | { num: string } | JVal[] | { obj: Map<string, JVal> };

class MiniJson {
  i = 0;
  constructor(private readonly s: string) {}

  parse(): JVal {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) throw new Error('trailing characters');
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  private value(): JVal {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const obj = new Map<string, JVal>();
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return { obj };
      }
      for (;;) {
        this.ws();
        const k = this.string();
        this.ws();
        if (this.s[this.i++] !== ':') throw new Error('expected :');
        obj.set(k, this.value());
        this.ws();
        const d = this.s[this.i++];
        if (d === '}') return { obj };
        if (d !== ',') throw new Error('expected , or }');
      }
    }
    if (c === '[') {
      this.i++;
      const arr: JVal[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.value());
        this.ws();
        const d = this.s[this.i++];
        if (d === ']') return arr;
        if (d !== ',') throw new Error('expected , or ]');
      }
    }
    if (c === '"') return this.string();
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (this.s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 64));
    if (!m) throw new Error(`unexpected character at ${this.i}`);
    this.i += m[0].length;
    return { num: m[0] };
  }

  private string(): string {
    if (this.s[this.i] !== '"') throw new Error('expected string');
    let j = this.i + 1;
    while (j < this.s.length && this.s[j] !== '"') j += this.s[j] === '\\' ? 2 : 1;
    const text = this.s.slice(this.i, j + 1);
    this.i = j + 1;
    return JSON.parse(text) as string;
  }
}

/** Parse JSON keeping number lexemes. */
export function parseExact(text: string): JVal {
  return new MiniJson(text).parse();
}

function isNum(v: JVal): v is { num: string } {
  return typeof v === 'object' && v !== null && 'num' in v;
}

function isObj(v: JVal): v is { obj: Map<string, JVal> } {
  return typeof v === 'object' && v !== null && 'obj' in v;
}

/** True when two values agree (see module doc). */
export function valuesAgree(a: JVal, b: JVal): boolean {
  if (isNum(a) && isNum(b)) {
    const intA = /^-?\d+$/.test(a.num);
    const intB = /^-?\d+$/.test(b.num);
    if (intA && intB) return BigInt(a.num) === BigInt(b.num);
    const x = Number(a.num);
    const y = Number(b.num);
    if (x === y) return true;
    return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
  }
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return false;
}

/** Outcome of comparing one output line with the expected one. */
export interface LineComparison {
  ok: boolean;
  /** Signal values compared / agreeing. */
  values: number;
  valuesOk: number;
  /** First difference, for the report. */
  diff?: string;
}

/** Compare one of our output lines with the expected line. */
export function compareLine(actualText: string, expectedText: string): LineComparison {
  let actual: JVal;
  let expected: JVal;
  try {
    actual = parseExact(actualText);
    expected = parseExact(expectedText);
  } catch (e) {
    return { ok: false, values: 0, valuesOk: 0, diff: `unparsable line: ${(e as Error).message}` };
  }
  if (!isObj(actual) || !isObj(expected)) return { ok: false, values: 0, valuesOk: 0, diff: 'not an object' };
  const A = actual.obj;
  const E = expected.obj;
  const diffs: string[] = [];
  const eMsg = E.get('message');
  const aMsg = A.get('message');
  if ((eMsg ?? null) !== (aMsg ?? null)) diffs.push(`message ${String(aMsg)} ≠ ${String(eMsg)}`);
  if (E.has('error') !== A.has('error')) diffs.push(E.has('error') ? 'missing error' : 'unexpected error');
  const eSig = E.get('signals');
  const aSig = A.get('signals');
  let values = 0;
  let valuesOk = 0;
  if (eSig !== undefined || aSig !== undefined) {
    const es = eSig && isObj(eSig) ? eSig.obj : new Map<string, JVal>();
    const as = aSig && isObj(aSig) ? aSig.obj : new Map<string, JVal>();
    for (const [k, v] of es) {
      values++;
      const mine = as.get(k);
      if (mine === undefined) diffs.push(`signal ${k} missing`);
      else if (!valuesAgree(mine, v)) diffs.push(`${k}: ${show(mine)} ≠ ${show(v)}`);
      else valuesOk++;
    }
    for (const k of as.keys()) if (!es.has(k)) diffs.push(`extra signal ${k}`);
  }
  const eSkip = E.get('skipped');
  if (eSkip !== undefined) {
    const want = Array.isArray(eSkip) ? eSkip.map(String).sort().join(',') : '';
    const got = A.get('skipped');
    const have = Array.isArray(got) ? got.map(String).sort().join(',') : '';
    if (want !== have) diffs.push(`skipped [${have}] ≠ [${want}]`);
  }
  const out: LineComparison = { ok: diffs.length === 0, values, valuesOk };
  if (diffs.length > 0) out.diff = diffs.slice(0, 3).join('; ');
  return out;
}

function show(v: JVal): string {
  if (isNum(v)) return v.num;
  return JSON.stringify(v);
}
