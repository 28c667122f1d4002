/**
 * Compile a parsed database for decoding: per message a plan of every signal (byte range, shifts,
 * masks, scaling mode), the multiplexing tree, and a generated fast path; id lookup maps for standard,
 * extended and (optionally) J1939 matching. Decoding then does no parsing and no per-frame setup.
 */
import { type FastDecoder, generateFastDecoder } from './codegen.js';
import type { DbcDatabase, DbcMessage } from './model.js';
import { choiceOf, planSignal, readRaw, type SignalPlan, scaleRaw } from './signal-plan.js';
import { buildTree, describeValues, type MuxNode } from './tree.js';
import type {
  CompiledDbc,
  CompiledMessage,
  CompileOptions,
  DecodedMessageFrame,
  DecodeFrameOptions,
  FrameDecodeResult,
  FrameIssue,
  SignalValue,
} from './types.js';

/** A compiled message (see {@link CompiledMessage}). */
class MessageCodec implements CompiledMessage {
  readonly name: string;
  readonly id: number;
  readonly extended: boolean;
  readonly length: number;
  readonly source: DbcMessage;
  readonly signals: readonly SignalPlan[];
  /** Signals that can never be decoded: beyond the message length, or of zero length. */
  readonly skipped: readonly string[];
  readonly root: MuxNode;
  private readonly generate: boolean;
  // Generated on first use: compiling a large DBC stays cheap when a device sends only a few messages.
  private fastPlain: FastDecoder | undefined | null = null;
  private fastNamed: FastDecoder | undefined | null = null;

  constructor(msg: DbcMessage, generate: boolean) {
    this.name = msg.name;
    this.id = msg.id;
    this.extended = msg.extended;
    this.length = msg.length;
    this.source = msg;
    const plans: SignalPlan[] = [];
    const skipped: string[] = [];
    for (const s of msg.signals) {
      if (s.length < 1) {
        skipped.push(s.name);
        continue;
      }
      const p = planSignal(s);
      // A signal that does not fit in the declared length can never be decoded (the reference lists
      // it as skipped rather than failing the message).
      if (p.minBytes > msg.length) skipped.push(s.name);
      else plans.push(p);
    }
    // Decode order: by sequential start bit, stable (the reference sorts signals this way).
    plans.sort((a, b) => a.order - b.order);
    this.signals = plans;
    this.skipped = skipped;
    this.root = buildTree(plans);
    this.generate = generate;
  }

  /** The generated decoder (without / with value-table names), built on first use. */
  fast(choices: boolean): FastDecoder | undefined {
    if (!this.generate) return undefined;
    if (choices) {
      if (this.fastNamed === null) this.fastNamed = generateFastDecoder(this.root, true);
      return this.fastNamed;
    }
    if (this.fastPlain === null) this.fastPlain = generateFastDecoder(this.root);
    return this.fastPlain;
  }

  decode(data: Uint8Array, opts?: DecodeFrameOptions): DecodedMessageFrame {
    return this.decodeAs(this.id, this.extended, data, opts?.choices === true);
  }

  fastSignals(data: Uint8Array, choices: boolean): Record<string, SignalValue> | undefined {
    const fast = data.length >= this.length ? this.fast(choices) : undefined;
    return fast === undefined ? undefined : fast(data);
  }

  /** Decode with the frame's own id in the result. */
  decodeAs(id: number, extended: boolean, data: Uint8Array, choices: boolean): DecodedMessageFrame {
    const fast = data.length >= this.length ? this.fast(choices) : undefined;
    if (fast !== undefined) {
      const signals = fast(data);
      if (signals !== undefined) {
        const r: DecodedMessageFrame = { kind: 'message', id, extended, message: this.name, signals };
        if (this.skipped.length > 0) r.skipped = this.skipped;
        return r;
      }
    }
    return this.interpret(id, extended, data, choices);
  }

  /** The reference implementation: handles short frames, value-table names and selector errors. */
  interpret(id: number, extended: boolean, data: Uint8Array, choices: boolean): DecodedMessageFrame {
    const n = Math.min(data.length, this.length);
    const signals: Record<string, SignalValue> = {};
    const missing: string[] = [];
    const error = decodeNode(this.root, data, n, choices, signals, missing);
    const r: DecodedMessageFrame = { kind: 'message', id, extended, message: this.name, signals };
    if (error) r.error = error;
    if (missing.length > 0) {
      r.missing = missing;
      r.error ??= {
        code: 'DBC_FRAME_TOO_SHORT',
        message: `frame has ${data.length} bytes, message ${this.name} has ${this.length}: ${missing.length} signal(s) missing`,
      };
    }
    if (this.skipped.length > 0) r.skipped = this.skipped;
    return r;
  }
}

function decodeNode(
  node: MuxNode,
  d: Uint8Array,
  n: number,
  choices: boolean,
  out: Record<string, SignalValue>,
  missing: string[],
): FrameIssue | undefined {
  for (const p of node.signals) {
    if (p.minBytes > n) {
      missing.push(p.name);
      continue;
    }
    const raw = readRaw(p, d);
    const name = choices ? choiceOf(p, raw) : undefined;
    setSignal(out, p.name, name ?? scaleRaw(p, raw));
  }
  for (const sw of node.muxes) {
    if (sw.signal.minBytes > n) continue; // the switch did not fit: its branches are missing too
    const raw = readRaw(sw.signal, d);
    let selector: number | bigint;
    const name = choices ? choiceOf(sw.signal, raw) : undefined;
    if (name !== undefined) {
      selector = sw.signal.choiceNumbers!.get(name)!;
    } else {
      const v = scaleRaw(sw.signal, raw);
      if (typeof v === 'number' && !Number.isFinite(v)) {
        return {
          code: 'DBC_BAD_MULTIPLEXER',
          message: `multiplexer ${sw.signal.name} value ${v} is not a number`,
        };
      }
      selector = typeof v === 'number' ? Math.trunc(v) : v;
    }
    const branch =
      typeof selector === 'number' || (selector >= -(2n ** 53n) && selector <= 2n ** 53n)
        ? sw.branch(Number(selector))
        : undefined;
    if (!branch) {
      return {
        code: 'DBC_BAD_MULTIPLEXER',
        message: `expected multiplexer id ${describeValues(sw)}, but got ${String(selector)}`,
      };
    }
    const err = decodeNode(branch, d, n, choices, out, missing);
    if (err) return err;
  }
  return undefined;
}

/** Set a decoded signal without ever touching the object's prototype (`__proto__` as a plain key). */
function setSignal(out: Record<string, SignalValue>, name: string, value: SignalValue): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

/** J1939: keys that ignore priority and source address, and for PDU1 also the destination address. */
function j1939Keys(id: number): [number, number] {
  const noPrioritySa = id & 0x03ffff00;
  const pf = (id >> 16) & 0xff;
  return [noPrioritySa, pf < 240 ? id & 0x03ff0000 : noPrioritySa];
}

class CompiledDatabase implements CompiledDbc {
  readonly messages: readonly MessageCodec[];
  readonly j1939: boolean;
  hash?: string;
  private readonly standard = new Map<number, MessageCodec>();
  private readonly extendedIds = new Map<number, MessageCodec>();
  private readonly pgnWithDa = new Map<number, MessageCodec>();
  private readonly pgn = new Map<number, MessageCodec>();
  private readonly byName = new Map<string, MessageCodec>();

  constructor(
    readonly database: DbcDatabase,
    opts: CompileOptions & { generate?: boolean },
  ) {
    this.j1939 = opts.j1939 === true;
    const generate = opts.generate !== false;
    this.messages = database.messages.map((m) => new MessageCodec(m, generate));
    for (const m of this.messages) {
      // Later definitions of the same id win, as in the reference.
      (m.extended ? this.extendedIds : this.standard).set(m.id, m);
      this.byName.set(m.name, m);
      if (m.extended) {
        const [a, b] = j1939Keys(m.id);
        // For PGN matching the first message declared for a PGN wins; exact ids always win over it.
        if (!this.pgnWithDa.has(a)) this.pgnWithDa.set(a, m);
        if (!this.pgn.has(b)) this.pgn.set(b, m);
      }
    }
  }

  findMessage(id: number, extended: boolean): MessageCodec | undefined {
    if (!extended) return this.standard.get(id);
    const exact = this.extendedIds.get(id);
    if (exact !== undefined || !this.j1939) return exact;
    const [a, b] = j1939Keys(id);
    return this.pgnWithDa.get(a) ?? this.pgn.get(b);
  }

  getMessage(nameOrId: string | number): MessageCodec | undefined {
    if (typeof nameOrId === 'string') return this.byName.get(nameOrId);
    return this.standard.get(nameOrId) ?? this.extendedIds.get(nameOrId);
  }

  decode(id: number, extended: boolean, data: Uint8Array, opts?: DecodeFrameOptions): FrameDecodeResult {
    const m = this.findMessage(id, extended);
    if (m === undefined) {
      return {
        kind: 'unknown',
        id,
        extended,
        error: {
          code: 'DBC_UNKNOWN_ID',
          message: `no message with ${extended ? 'extended' : 'standard'} id ${id}`,
        },
      };
    }
    return m.decodeAs(id, extended, data, opts?.choices === true);
  }
}

/**
 * Compile a parsed database. `opts.j1939` turns on PGN matching for extended frames that match no id
 * exactly. (`generate: false` disables the generated fast path; used by tests to cross-check.)
 */
export function compileDbc(db: DbcDatabase, opts: CompileOptions & { generate?: boolean } = {}): CompiledDbc {
  return new CompiledDatabase(db, opts);
}
