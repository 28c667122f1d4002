/**
 * Shared machinery of the JSON dialects (ExoSense `data_in`, EMS telemetry, Avimesa DialTone): reading
 * the payload bytes, flattening nested objects into dotted field names, and resolving the device and
 * the point time from the payload or the decode context.
 *
 * Everything here is a plain loop over JSON.parse output, with no schema library and no per-field
 * closures, because these codecs sit on the ingest hot path (target: within 1.5× of gunzip + JSON.parse).
 */
import { DecodeError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, FieldValue } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { checkPayloadSize, decodeUtf8Strict, gunzipBounded, isGzip, parseJson } from './envelope.js';
import { type NameNode, uncachedNames } from './field-names.js';
import { numberArrayText, numberText } from './number-text.js';
import { buildKnownShape, MAX_BUILDER_FIELDS, rememberShape } from './record-shapes.js';
import { checkName, checkTimestamp } from './values.js';
import type { WarningList } from './warnings.js';

/**
 * Payload bytes → JSON value: size check, optional raw gzip (magic `1f 8b`, inflated under
 * `maxDecompressedBytes`), strict UTF-8, JSON.parse. All failures are typed errors.
 */
export function readJsonPayload(bytes: Uint8Array, limits: DecodeLimits): unknown {
  checkPayloadSize(bytes, limits);
  const raw = isGzip(bytes) ? gunzipBounded(bytes, limits) : bytes;
  return parseJson(decodeUtf8Strict(raw));
}

/** Throw NESTING_TOO_DEEP when a container at `depth` (root object = 1) is deeper than allowed. */
export function checkDepth(depth: number, limits: DecodeLimits): void {
  if (depth > limits.maxDepth) {
    throw new LimitError('NESTING_TOO_DEEP', `Nesting depth exceeds ${limits.maxDepth}`, {
      limit: limits.maxDepth,
    });
  }
}

/**
 * Collects the fields of one point. Enforces, as it goes (so a hostile payload stops early):
 * the field count (`maxFieldsPerPoint`), the dotted name length (`maxNameLength`), forbidden key
 * segments (`__proto__`, `constructor`, `prototype`), the nesting depth, finite numbers and string
 * lengths. Two JSON paths flattening to one name (`{"a.b": 1, "a": {"b": 2}}`) keep the last value
 * with a DUPLICATE_FIELD warning, as FlexConnect JSON does for a repeated field name.
 *
 * Speed (these codecs must stay within 1.5× of JSON.parse):
 * - Names and values are only appended to two arrays during the walk; {@link finish} builds the
 *   record in one go, with a generated builder when the message has a recurring shape
 *   (record-shapes.ts), else with plain stores.
 * - Paths made of dot-free keys map to distinct names, so no duplicate check is needed until a key
 *   with a dot is seen or a caller adds a computed name ({@link put}, {@link checkDuplicates}); then
 *   {@link finish} checks for duplicates — unless the names are a known shape, which was only
 *   remembered after it was built without duplicates. DUPLICATE_FIELD warnings therefore come after
 *   the walk's own warnings (NULL_VALUE, RESERVED_KEY), in name order.
 * - A key found in the name memo (field-names.ts) passed the key checks before (only checked, dot-free
 *   keys are memoized), so only its length is checked again (limits differ per call).
 */
export class FieldSink {
  /** Number of fields collected plus null values skipped (both count toward the limit). */
  count = 0;
  /** Number of fields collected (before duplicates are merged: only ever tested for > 0). */
  size = 0;
  /** Names collected, in walk order. */
  private readonly names: string[] = [];
  /** Values of {@link names}, index for index. */
  private readonly values: FieldValue[] = [];
  /** True once two collected names may be equal (a dotted key, or a computed name). */
  private mayCollide = false;
  private readonly maxFields: number;
  private readonly maxName: number;
  private readonly maxString: number;

  constructor(
    private readonly limits: DecodeLimits,
    private readonly warnings: WarningList,
    private readonly pointIndex: number,
  ) {
    this.maxFields = limits.maxFieldsPerPoint;
    this.maxName = limits.maxNameLength;
    this.maxString = limits.maxStringLength;
  }

  /** The collected fields as a null-prototype record. Call once, after the last put. */
  finish(): Record<string, FieldValue> {
    const names = this.names;
    const values = this.values;
    const known = names.length <= MAX_BUILDER_FIELDS ? buildKnownShape(names, values) : undefined;
    if (known !== undefined) return known;
    const fields = emptyRecord<FieldValue>();
    if (!this.mayCollide) {
      for (let i = 0; i < names.length; i++) fields[names[i] as string] = values[i] as FieldValue;
      rememberShape(names);
      return fields;
    }
    let duplicates = false;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      // Values are never undefined and the record has no prototype: this is an exact own-key test.
      if (fields[name] !== undefined) {
        duplicates = true;
        this.warnings.add(
          'DUPLICATE_FIELD',
          `Field "${name}" occurs more than once; the last value wins`,
          this.pointIndex,
        );
      }
      fields[name] = values[i] as FieldValue;
    }
    if (!duplicates) rememberShape(names);
    return fields;
  }

  /** Store one already-validated value under a computed full name (checked for duplicates). */
  put(name: string, value: FieldValue): void {
    this.admit(name);
    this.mayCollide = true;
    this.names.push(name);
    this.values.push(value);
    this.size++;
  }

  /**
   * Store any JSON value under `name`: scalars as they are, objects flattened to `name.key`, arrays of
   * scalars as one JSON-text string field, `null` left out with a NULL_VALUE warning. `depth` is the
   * depth of the container holding the value (root object = 1).
   */
  putValue(name: string, v: unknown, depth: number): void {
    let value: FieldValue;
    switch (typeof v) {
      case 'number':
        // JSON.parse turns 1e400 into Infinity.
        if (v - v !== 0) throw new DecodeError('NON_FINITE_NUMBER', `Field "${name}" is not a finite number`);
        value = v;
        break;
      case 'string':
        if (v.length > this.maxString) {
          throw new LimitError(
            'STRING_TOO_LONG',
            `Field "${name}" is longer than ${this.maxString} characters`,
            { limit: this.maxString },
          );
        }
        value = v;
        break;
      case 'boolean':
        value = v;
        break;
      case 'object':
        if (v === null) {
          this.admit(name);
          this.warnings.add('NULL_VALUE', `Field "${name}" is null and was left out`, this.pointIndex);
          return;
        }
        if (Array.isArray(v)) {
          checkDepth(depth + 1, this.limits);
          value = scalarArrayText(v, this.limits, `Field "${name}"`);
          break;
        }
        this.putObject(uncachedNames(`${name}.`), v as Record<string, unknown>, depth + 1);
        return;
      default:
        throw new DecodeError(
          'SCHEMA_VIOLATION',
          `Field "${name}" must be a number, string, boolean or object`,
        );
    }
    this.admit(name);
    this.names.push(name);
    this.values.push(value);
    this.size++;
  }

  /** Whether two collected names may be equal (a dotted key or a computed name was seen). */
  get collisionPossible(): boolean {
    return this.mayCollide;
  }

  /** The names collected so far, in walk order (for a caller that stores the fields itself). */
  collectedNames(): readonly string[] {
    return this.names;
  }

  /** The values of {@link collectedNames}, index for index. */
  collectedValues(): readonly FieldValue[] {
    return this.values;
  }

  /** Check the names for duplicates (for callers that build names which may repeat). */
  checkDuplicates(): void {
    this.mayCollide = true;
  }

  /** Flatten every key of `obj` (an object at `depth`) under the level `names`. */
  putObject(names: NameNode, obj: Record<string, unknown>, depth: number): void {
    checkDepth(depth, this.limits);
    // for-in, not Object.keys: on the small objects of a message V8 reads `obj[key]` straight from the
    // enum cache's field index, where a keyed load with an arbitrary key would be megamorphic.
    names.rewind();
    for (const key in obj) this.putMember(names, key, obj[key], depth);
  }

  /** Store member `key: v` of an object at `depth` under the level `names` (the key is validated here). */
  putMember(names: NameNode, key: string, v: unknown, depth: number): void {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      let kid = names.knownChild(key);
      if (kid === undefined || key.length > this.maxName) {
        this.checkKey(key);
        kid = names.child(key);
      }
      this.putObject(kid, v as Record<string, unknown>, depth + 1);
    } else if (names.prefix === '') {
      // A root member's name is its key, which JSON.parse has internalized already: a few cheap
      // checks cost less than a memo lookup. Anything unusual takes the full check.
      if (!plainRootKey(key, this.maxName)) this.checkKey(key);
      this.putValue(key, v, depth);
    } else {
      let name = names.knownNameInOrder(key);
      if (name === undefined || key.length > this.maxName) {
        this.checkKey(key);
        name = names.name(key);
      }
      this.putValue(name, v, depth);
    }
  }

  /** Validate a JSON key; the first key containing a dot turns on the duplicate check. */
  private checkKey(key: string): void {
    checkName(key, this.limits, 'key');
    if (!this.mayCollide && key.includes('.')) this.mayCollide = true;
  }

  /** Count one field against the limit and check its name length. */
  private admit(name: string): void {
    if (++this.count > this.maxFields) {
      throw new LimitError('LIMIT_EXCEEDED', `More than ${this.maxFields} fields in a point`, {
        limit: this.maxFields,
      });
    }
    if (name.length > this.maxName) {
      throw new LimitError('STRING_TOO_LONG', `Field name is longer than ${this.maxName} characters`, {
        limit: this.maxName,
      });
    }
  }
}

/**
 * True for a key that passes every key check and contains no dot: 1 to `maxName` characters, not
 * `__proto__` / `constructor` / `prototype`. Lengths first: the forbidden keys are 9 or 11 long.
 */
export function plainRootKey(key: string, maxName: number): boolean {
  const n = key.length;
  if (n === 0 || n > maxName) return false;
  if ((n === 9 || n === 11) && (key === '__proto__' || key === 'prototype' || key === 'constructor')) {
    return false;
  }
  // A charCode loop beats String#includes (a builtin call) on the short keys devices use.
  if (n > 24) return !key.includes('.');
  for (let i = 0; i < n; i++) if (key.charCodeAt(i) === 46 /* . */) return false;
  return true;
}

/**
 * An array of scalars as one string field: its compact JSON text (`[]`, `["OVERHEAT","LOW_SOC"]`).
 * JSON text keeps element types, commas inside strings and the empty list (so an alert can tell "no
 * errors" from "no report"). Objects or arrays inside the array are a SCHEMA_VIOLATION.
 *
 * The text is built without JSON.stringify, which costs more per call than the conversions for the
 * short arrays devices send and converts fresh numbers slowly (number-text.ts): arrays of plain
 * numbers (cell voltages) are written in one pass by {@link numberArrayText}; any other array goes
 * through a loop that validates each element as it writes it (element errors first, then the length,
 * as before). The output is exactly JSON.stringify's: a finite number's JSON text is its ToString
 * (`-0` → `"0"`), strings are escaped by JSON.stringify itself.
 */
export function scalarArrayText(arr: unknown[], limits: DecodeLimits, what: string): string {
  const max = limits.maxStringLength;
  const n = arr.length;
  // Each element needs at least two characters of JSON text ("1,"), so a longer array cannot fit.
  if (n > max) throw arrayTooLong(limits, what);
  if (n === 0) return '[]';
  const fast = numberArrayText(arr);
  if (fast !== undefined) {
    if (fast.length > max) throw arrayTooLong(limits, what);
    return fast;
  }
  let text = '[';
  for (let i = 0; i < n; i++) {
    const e = arr[i];
    if (i > 0) text += ',';
    switch (typeof e) {
      case 'number':
        // JSON.parse turns 1e400 into Infinity, which JSON.stringify would silently write as null.
        if (e - e !== 0) throw new DecodeError('NON_FINITE_NUMBER', `${what} holds a non-finite number`);
        text += numberText(e);
        break;
      case 'string':
        text += JSON.stringify(e);
        break;
      case 'boolean':
        text += e ? 'true' : 'false';
        break;
      case 'object':
        if (e === null) {
          text += 'null';
          break;
        }
        throw new DecodeError('SCHEMA_VIOLATION', `${what} must be an array of scalars`);
      default:
        throw new DecodeError('SCHEMA_VIOLATION', `${what} must be an array of scalars`);
    }
  }
  text += ']';
  if (text.length > max) throw arrayTooLong(limits, what);
  return text;
}

function arrayTooLong(limits: DecodeLimits, what: string): LimitError {
  return new LimitError('STRING_TOO_LONG', `${what} is longer than ${limits.maxStringLength} characters`, {
    limit: limits.maxStringLength,
  });
}

/**
 * The point device: the authenticated identity from the context when given, else the device the
 * payload claims. Neither → MISSING_CONTEXT. (Whether a claim matches the connection is the ingest
 * handler's check, not the codec's.)
 */
export function resolveDevice(
  ctx: DecodeContext,
  claimed: string | undefined,
  limits: DecodeLimits,
  format: string,
): string {
  if (ctx.device !== undefined && ctx.device !== '') return checkName(ctx.device, limits, 'device');
  if (claimed !== undefined) return claimed;
  throw new DecodeError('MISSING_CONTEXT', `${format} names no device; a device identity is required`);
}

/** The context receive time, validated; missing → MISSING_CONTEXT (the core never reads the clock). */
export function receiveTime(ctx: DecodeContext, limits: DecodeLimits, why: string): number {
  if (ctx.receivedAt === undefined) {
    throw new DecodeError('MISSING_CONTEXT', `${why}; a receive time is required`);
  }
  return checkTimestamp(ctx.receivedAt, limits, 'receive time');
}

/** Validate an optional claimed device id from the payload (string, bounded, not a forbidden key). */
export function claimedDeviceId(v: unknown, limits: DecodeLimits, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new DecodeError('SCHEMA_VIOLATION', `${what} must be a string`);
  return checkName(v, limits, what);
}
