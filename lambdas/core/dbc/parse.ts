/**
 * DBC parser: statements of the DBC format as found in the wild, into the {@link DbcDatabase} model.
 *
 * Strict where a mistake would change decoded values (a `BO_` or `SG_` that cannot be read is a
 * {@link DbcParseError} with line and column), forgiving elsewhere: unknown or malformed statements of
 * other kinds are skipped with a warning, and loose syntax seen in public DBC collections (missing `;`,
 * `.25`, a space before `:`, names starting with a digit, receivers separated by spaces) is accepted with
 * a warning. Semantics follow the reference decoder (cantools): references by frame id use the id as
 * written (bit 31 included), the last `VAL_` for a signal wins, `SG_MUL_VAL_` refines multiplexing.
 */
import { DbcParseError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { Lexer, LineMap, type Token } from './lexer.js';
import type {
  AttributeValue,
  DbcAttributeDefinition,
  DbcDatabase,
  DbcEnvironmentVariable,
  DbcMessage,
  DbcMuxCondition,
  DbcNode,
  DbcSignal,
  DbcWarning,
  ParseDbcOptions,
} from './model.js';
import { decodeDbcText } from './text.js';

/** Every statement keyword; one of these at the start of a line begins a new statement. */
const KEYWORDS = new Set([
  'VERSION',
  'NS_',
  'NS_DESC_',
  'BS_',
  'BU_',
  'BO_',
  'SG_',
  'CM_',
  'BA_DEF_',
  'BA_DEF_REL_',
  'BA_DEF_DEF_',
  'BA_DEF_DEF_REL_',
  'BA_',
  'BA_REL_',
  'VAL_',
  'VAL_TABLE_',
  'SIG_VALTYPE_',
  'SG_MUL_VAL_',
  'BO_TX_BU_',
  'SIG_GROUP_',
  'EV_',
  'ENVVAR_DATA_',
  'EV_DATA_',
  'SGTYPE_',
  'SGTYPE_VAL_',
  'BA_DEF_SGTYPE_',
  'BA_SGTYPE_',
  'SIG_TYPE_REF_',
  'SIGTYPE_VALTYPE_',
  'CAT_DEF_',
  'CAT_',
  'FILTER',
  'BU_SG_REL_',
  'BU_EV_REL_',
  'BU_BO_REL_',
]);

/** Statements that are valid DBC but carry nothing the decoder uses: skipped quietly (one info warning). */
const IGNORED = new Set([
  'ENVVAR_DATA_',
  'EV_DATA_',
  'SGTYPE_',
  'SGTYPE_VAL_',
  'BA_DEF_SGTYPE_',
  'BA_SGTYPE_',
  'SIG_TYPE_REF_',
  'SIGTYPE_VALTYPE_',
  'CAT_DEF_',
  'CAT_',
  'FILTER',
]);

/** Bits in the largest (CAN FD, 64-byte) frame: no signal can be longer. */
const MAX_SIGNAL_BITS = 512;

/** The message CANdb++ uses to hold signals not assigned to any message; not a real frame. */
const INDEPENDENT_SIGNALS_MESSAGE = 'VECTOR__INDEPENDENT_SIG_MSG';

/** Internal: a statement could not be read at `pos`. */
class StatementError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

interface RawSignal {
  name: string;
  mux?: string;
  startBit: number;
  length: number;
  bigEndian: boolean;
  signed: boolean;
  factor: number;
  factorText: string;
  offset: number;
  offsetText: string;
  minimum: number;
  maximum: number;
  unit: string;
  receivers: string[];
  line: number;
  pos: number;
}

interface RawMessage {
  fileId: number;
  name: string;
  length: number;
  sender: string;
  signals: RawSignal[];
  line: number;
  pos: number;
}

interface RawAttribute {
  name: string;
  target: 'network' | 'BO_' | 'SG_' | 'BU_' | 'EV_';
  id?: number;
  object?: string;
  value: string | number;
  valueText: string;
  pos: number;
}

type Choices = Map<bigint, string>;

const INT_TEXT = /^[+-]?\d+$/;

class Parser {
  private readonly lexer: Lexer;
  /** Lookahead tokens (at most two). */
  private readonly look: Token[] = [];
  /** Tokens consumed so far (`i++` consumes one: see the accessor below). */
  private consumed = 0;
  private prev: Token | undefined;
  private readonly lines: LineMap;
  readonly warnings: DbcWarning[] = [];
  private warningsDropped = 0;
  private readonly maxWarnings: number;
  private readonly ignoredSeen = new Set<string>();

  // Raw statement results.
  version = '';
  nodes: string[] = [];
  messages: RawMessage[] = [];
  comments: Array<{ target: string; id?: number; object?: string; text: string }> = [];
  definitions: DbcAttributeDefinition[] = [];
  relDefinitions: DbcAttributeDefinition[] = [];
  defaults = new Map<string, string | number>();
  relDefaults = new Map<string, string | number>();
  attributes: RawAttribute[] = [];
  relAttributes: Array<{
    name: string;
    kind: string;
    node: string;
    messageId: number;
    signal?: string;
    value: string | number;
  }> = [];
  valueTables = new Map<string, Choices>();
  choices: Array<{ id: number; signal: string; choices: Choices; pos: number }> = [];
  valTypes: Array<{ id: number; signal: string; type: number; pos: number }> = [];
  muxValues: Array<{
    id: number;
    signal: string;
    switchName: string;
    ranges: Array<[number, number]>;
    pos: number;
  }> = [];
  senders: Array<{ id: number; nodes: string[] }> = [];
  groups: Array<{ id: number; name: string; repetitions: number; signals: string[] }> = [];
  envVars: DbcEnvironmentVariable[] = [];
  recognized = 0;

  constructor(src: string, maxWarnings: number) {
    this.lexer = new Lexer(src);
    this.lines = new LineMap(src);
    this.maxWarnings = maxWarnings;
  }

  // --- token helpers -------------------------------------------------------------------------------

  /** Position in the token stream; assigning a larger value consumes tokens (so `this.i++` advances). */
  private get i(): number {
    return this.consumed;
  }

  private set i(v: number) {
    while (this.consumed < v) {
      const t = this.peek();
      if (t.kind !== 'eof') {
        this.look.shift();
        this.prev = t;
      }
      this.consumed++;
    }
  }

  private peek(k = 0): Token {
    while (this.look.length <= k) this.look.push(this.lexer.next());
    return this.look[k]!;
  }

  private next(): Token {
    const t = this.peek();
    this.i++;
    return t;
  }

  private isPunct(t: Token, c: string): boolean {
    return t.kind === 'punct' && t.value === c;
  }

  private isKeyword(t: Token, kw?: string): boolean {
    return t.kind === 'word' && (kw === undefined ? KEYWORDS.has(t.value) : t.value === kw);
  }

  /** A token that begins a new statement: a keyword at the start of a line, or the end of input. */
  private startsStatement(t: Token): boolean {
    return t.kind === 'eof' || (t.nl && this.isKeyword(t));
  }

  private describe(t: Token): string {
    if (t.kind === 'eof') return 'end of file';
    if (t.kind === 'str') return 'a string';
    return `"${t.value}"`;
  }

  private fail(what: string, t: Token = this.peek()): never {
    throw new StatementError(`expected ${what}, found ${this.describe(t)}`, t.pos);
  }

  private punct(c: string): void {
    const t = this.peek();
    if (!this.isPunct(t, c)) this.fail(`"${c}"`);
    this.i++;
  }

  private optPunct(c: string): boolean {
    if (this.isPunct(this.peek(), c)) {
      this.i++;
      return true;
    }
    return false;
  }

  private word(what = 'a name'): string {
    const t = this.peek();
    if (t.kind !== 'word' || KEYWORDS.has(t.value)) this.fail(what);
    this.i++;
    return t.value;
  }

  private str(what = 'a string'): string {
    const t = this.peek();
    if (t.kind !== 'str') this.fail(what);
    this.i++;
    if (t.loose)
      this.warn('DBC_UNTERMINATED_STRING', 'string is not terminated; read to the end of the line', t.pos);
    return t.value;
  }

  /** A number token; loose forms and hex literals are accepted with a warning. */
  private num(what = 'a number'): { value: number; text: string } {
    const t = this.peek();
    if (t.kind === 'num') {
      this.i++;
      if (t.loose) this.warn('DBC_LOOSE_NUMBER', `number "${t.value}" written in a loose form`, t.pos);
      return { value: Number(t.value), text: t.value };
    }
    if (t.kind === 'word' && /^0[xX][0-9a-fA-F]+$/.test(t.value)) {
      this.i++;
      this.warn('DBC_LOOSE_NUMBER', `hexadecimal number "${t.value}"`, t.pos);
      const v = Number.parseInt(t.value.slice(2), 16);
      return { value: v, text: String(v) };
    }
    // `1.` followed by a sign token etc. is already handled by the lexer; anything else is an error.
    return this.fail(what);
  }

  /** A number that must be a non-negative integer (ids, lengths, bit positions). */
  private uint(what: string): number {
    const t = this.peek();
    const { value } = this.num(what);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StatementError(`expected ${what} (a non-negative integer), found "${t.value}"`, t.pos);
    }
    return value;
  }

  /** An integer (choice keys, multiplexer values); may be negative. */
  private int(what: string): { value: number; big: bigint } {
    const t = this.peek();
    const { value, text } = this.num(what);
    if (INT_TEXT.test(text)) return { value, big: BigInt(text) };
    if (Number.isInteger(value)) {
      this.warn('DBC_LOOSE_NUMBER', `integer written as "${text}"`, t.pos);
      return { value, big: BigInt(value) };
    }
    throw new StatementError(`expected ${what} (an integer), found "${t.value}"`, t.pos);
  }

  /** End of a statement: `;`, or (with a warning) a new statement starting on the next line. */
  private end(): void {
    const t = this.peek();
    if (this.isPunct(t, ';')) {
      this.i++;
      return;
    }
    if (this.startsStatement(t)) {
      const prev = this.prev ?? t;
      this.warn('DBC_MISSING_SEMICOLON', 'statement does not end with ";"', prev.pos + prev.value.length);
      return;
    }
    this.fail('";"');
  }

  /** Skip to the end of the current statement (after `;` or before the next statement). */
  private skipStatement(): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (this.isPunct(t, ';')) {
        this.i++;
        return;
      }
      if (this.startsStatement(t) && this.i > 0) return;
      this.i++;
    }
  }

  warn(code: string, message: string, pos: number): void {
    if (this.warnings.length >= this.maxWarnings) {
      this.warningsDropped++;
      return;
    }
    const { line, column } = this.lines.locate(pos);
    this.warnings.push({ code, message, line, column });
  }

  finishWarnings(): void {
    if (this.warningsDropped > 0) {
      this.warnings.push({
        code: 'DBC_TOO_MANY_WARNINGS',
        message: `${this.warningsDropped} more warnings not listed`,
        line: 0,
        column: 0,
      });
    }
  }

  lineOf(pos: number): number {
    return this.lines.locate(pos).line;
  }

  error(message: string, pos: number): DbcParseError {
    const { line, column } = this.lines.locate(pos);
    return new DbcParseError(message, line, column);
  }

  // --- statements ----------------------------------------------------------------------------------

  parse(): void {
    let lastMessage: RawMessage | undefined;
    let lastWasSignalContext = false;
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      const start = this.i;
      if (t.kind !== 'word' || !KEYWORDS.has(t.value)) {
        this.warn(
          'DBC_UNEXPECTED_TOKEN',
          `unexpected ${this.describe(t)} outside a statement; skipped`,
          t.pos,
        );
        this.i++;
        this.skipToStatement();
        continue;
      }
      const kw = t.value;
      this.i++;
      try {
        if (kw === 'BO_') {
          lastMessage = this.message(t);
          this.messages.push(lastMessage);
          lastWasSignalContext = true;
          this.recognized++;
          continue;
        }
        if (kw === 'SG_') {
          if (!lastMessage) {
            this.warn('DBC_ORPHAN_SIGNAL', 'SG_ outside any BO_; skipped', t.pos);
            this.skipToStatement();
            continue;
          }
          if (!lastWasSignalContext) {
            this.warn(
              'DBC_ORPHAN_SIGNAL',
              `SG_ separated from its BO_; added to "${lastMessage.name}"`,
              t.pos,
            );
          }
          lastMessage.signals.push(this.signal(t));
          lastWasSignalContext = true;
          continue;
        }
        lastWasSignalContext = false;
        this.statement(kw, t);
        this.recognized++;
      } catch (e) {
        if (!(e instanceof StatementError)) throw e;
        if (kw === 'BO_' || kw === 'SG_') {
          // A message or signal we cannot read would silently change decoded values: fail loudly.
          throw this.error(`${kw}: ${e.message}`, e.pos);
        }
        this.warn('DBC_BAD_STATEMENT', `${kw} skipped: ${e.message}`, e.pos);
        if (this.i === start) this.i++;
        this.skipStatement();
      }
    }
  }

  /** Skip tokens up to the next statement keyword at the start of a line. */
  private skipToStatement(): void {
    while (!this.startsStatement(this.peek())) this.i++;
  }

  private statement(kw: string, t: Token): void {
    switch (kw) {
      case 'VERSION':
        this.version = this.peek().kind === 'str' ? this.str() : '';
        return;
      case 'NS_':
        this.newSymbols();
        return;
      case 'BS_':
        this.optPunct(':');
        // Baudrate and BTR values, when present, are obsolete; skip the rest of the line.
        while (!this.peek().nl && this.peek().kind !== 'eof') this.i++;
        return;
      case 'BU_':
        this.nodeList();
        return;
      case 'CM_':
        this.comment();
        return;
      case 'BA_DEF_':
        this.attributeDefinition(false);
        return;
      case 'BA_DEF_REL_':
        this.attributeDefinition(true);
        return;
      case 'BA_DEF_DEF_':
      case 'BA_DEF_DEF_REL_': {
        const name = this.str('an attribute name');
        const v = this.attrValue();
        this.end();
        (kw === 'BA_DEF_DEF_' ? this.defaults : this.relDefaults).set(name, v.value);
        return;
      }
      case 'BA_':
        this.attribute();
        return;
      case 'BA_REL_':
        this.relationAttribute();
        return;
      case 'VAL_':
        this.valueDescriptions();
        return;
      case 'VAL_TABLE_': {
        const name = this.word('a value table name');
        const table = this.choicePairs();
        this.end();
        this.valueTables.set(name, table);
        return;
      }
      case 'SIG_VALTYPE_': {
        const id = this.uint('a message id');
        const signal = this.word('a signal name');
        this.optPunct(':');
        const type = this.uint('a value type (0, 1 or 2)');
        this.end();
        this.valTypes.push({ id, signal, type, pos: t.pos });
        return;
      }
      case 'SG_MUL_VAL_':
        this.muxValue(t);
        return;
      case 'BO_TX_BU_': {
        const id = this.uint('a message id');
        this.optPunct(':');
        const nodes = this.nameList();
        this.end();
        this.senders.push({ id, nodes });
        return;
      }
      case 'SIG_GROUP_': {
        const id = this.uint('a message id');
        const name = this.word('a signal group name');
        const repetitions = this.uint('a repetition count');
        this.optPunct(':');
        const signals = this.nameList();
        this.end();
        this.groups.push({ id, name, repetitions, signals });
        return;
      }
      case 'EV_':
        this.environmentVariable();
        return;
      default:
        if (!IGNORED.has(kw)) {
          this.warn('DBC_UNEXPECTED_STATEMENT', `${kw} is not valid at this point; skipped`, t.pos);
        } else if (!this.ignoredSeen.has(kw)) {
          this.ignoredSeen.add(kw);
          this.warn('DBC_SKIPPED_SECTION', `${kw} statements are not used for decoding; skipped`, t.pos);
        }
        this.skipStatement();
    }
  }

  private newSymbols(): void {
    this.optPunct(':');
    // The symbol list: keywords one per line. It ends at the first token that starts a real statement
    // (a keyword followed by arguments on its own line, or any token followed by `:` such as `BS_:`).
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (this.isPunct(this.peek(1), ':')) return;
      if (t.kind !== 'word') return;
      if (t.value === 'BS_' || t.value === 'BU_' || t.value === 'BO_') return;
      // A keyword followed on its line by something that is not another symbol starts a statement.
      const n = this.peek(1);
      if (KEYWORDS.has(t.value) && n.kind !== 'eof' && !n.nl && !(n.kind === 'word' && KEYWORDS.has(n.value)))
        return;
      this.i++;
    }
  }

  private nodeList(): void {
    this.optPunct(':');
    const nodes: string[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'word' || KEYWORDS.has(t.value)) break;
      nodes.push(t.value);
      this.i++;
    }
    // Tolerate a stray `;` after the list.
    if (this.isPunct(this.peek(), ';')) this.i++;
    this.nodes = nodes;
  }

  /** Names separated by commas and/or spaces, up to `;` or the next statement. */
  private nameList(): string[] {
    const names: string[] = [];
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, ',')) {
        this.i++;
        continue;
      }
      if (t.kind !== 'word' || (KEYWORDS.has(t.value) && t.nl)) break;
      names.push(t.value);
      this.i++;
    }
    return names;
  }

  private message(kwTok: Token): RawMessage {
    const fileId = this.uint('a message id');
    if (fileId > 0xffffffff)
      throw new StatementError(`message id ${fileId} does not fit in 32 bits`, kwTok.pos);
    const nameTok = this.peek();
    let name: string;
    if (nameTok.kind === 'word') {
      name = nameTok.value;
      this.i++;
    } else {
      this.fail('a message name');
    }
    if (!this.optPunct(':'))
      this.warn('DBC_MISSING_COLON', `message "${name}" has no ":" after its name`, nameTok.pos);
    const length = this.uint('a message length');
    let sender = 'Vector__XXX';
    const s = this.peek();
    if (s.kind === 'word' && !(KEYWORDS.has(s.value) && s.nl)) {
      sender = s.value;
      this.i++;
    } else {
      this.warn('DBC_MISSING_SENDER', `message "${name}" has no sender node`, s.pos);
    }
    // Some exporters end the BO_ line with `;`.
    if (this.isPunct(this.peek(), ';') && !this.peek().nl) this.i++;
    return { fileId, name, length, sender, signals: [], line: this.lineOf(kwTok.pos), pos: kwTok.pos };
  }

  private signal(kwTok: Token): RawSignal {
    const nameTok = this.peek();
    if (nameTok.kind !== 'word') this.fail('a signal name');
    this.i++;
    const name = nameTok.value;
    let mux: string | undefined;
    const m = this.peek();
    if (m.kind === 'word' && !this.isPunct(m, ':')) {
      mux = m.value;
      this.i++;
    }
    if (!this.optPunct(':')) this.fail('":"');
    const startBit = this.uint('a start bit');
    this.punct('|');
    const length = this.uint('a bit length');
    this.punct('@');
    const orderTok = this.peek();
    const order = this.uint('a byte order (0 or 1)');
    if (order !== 0 && order !== 1) {
      throw new StatementError(`byte order must be 0 or 1, found ${order}`, orderTok.pos);
    }
    const signTok = this.peek();
    let signed: boolean;
    if (signTok.kind === 'sign') {
      signed = signTok.value === '-';
      this.i++;
    } else {
      this.fail('"+" or "-"');
    }
    this.punct('(');
    const factor = this.num('a factor');
    this.punct(',');
    const offset = this.num('an offset');
    this.punct(')');
    let minimum = 0;
    let maximum = 0;
    if (this.optPunct('[')) {
      minimum = this.num('a minimum').value;
      this.punct('|');
      maximum = this.num('a maximum').value;
      this.punct(']');
    } else {
      this.warn('DBC_MISSING_RANGE', `signal "${name}" has no [min|max]`, this.peek().pos);
    }
    let unit = '';
    if (this.peek().kind === 'str') unit = this.str();
    else this.warn('DBC_MISSING_UNIT', `signal "${name}" has no unit string`, this.peek().pos);
    const receivers: string[] = [];
    let spaceSeparated = false;
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, ',') && !t.nl) {
        this.i++;
        continue;
      }
      if (t.kind !== 'word' || t.nl || KEYWORDS.has(t.value)) break;
      if (receivers.length > 0 && this.prev !== undefined && !this.isPunct(this.prev, ','))
        spaceSeparated = true;
      receivers.push(t.value);
      this.i++;
    }
    if (spaceSeparated)
      this.warn('DBC_LOOSE_RECEIVERS', `signal "${name}" receivers separated by spaces`, nameTok.pos);
    if (this.isPunct(this.peek(), ';') && !this.peek().nl) this.i++;
    return {
      name,
      ...(mux !== undefined ? { mux } : {}),
      startBit,
      length,
      bigEndian: order === 0,
      signed,
      factor: factor.value,
      factorText: factor.text,
      offset: offset.value,
      offsetText: offset.text,
      minimum,
      maximum,
      unit,
      receivers,
      line: this.lineOf(kwTok.pos),
      pos: nameTok.pos,
    };
  }

  private comment(): void {
    const t = this.peek();
    if (t.kind === 'str') {
      this.comments.push({ target: 'network', text: this.str() });
      this.end();
      return;
    }
    const kind = this.peek();
    if (kind.kind !== 'word') this.fail('SG_, BO_, BU_, EV_ or a string');
    this.i++;
    switch (kind.value) {
      case 'SG_': {
        const id = this.uint('a message id');
        const object = this.word('a signal name');
        this.comments.push({ target: 'SG_', id, object, text: this.str('a comment string') });
        break;
      }
      case 'BO_': {
        const id = this.uint('a message id');
        this.comments.push({ target: 'BO_', id, text: this.str('a comment string') });
        break;
      }
      case 'BU_':
      case 'EV_': {
        const object = this.word('a name');
        this.comments.push({ target: kind.value, object, text: this.str('a comment string') });
        break;
      }
      default:
        this.fail('SG_, BO_, BU_, EV_ or a string', kind);
    }
    this.end();
  }

  private attributeDefinition(rel: boolean): void {
    let kind = '';
    const k = this.peek();
    const kinds = rel ? ['BU_SG_REL_', 'BU_BO_REL_', 'BU_EV_REL_'] : ['SG_', 'BO_', 'EV_', 'BU_'];
    if (k.kind === 'word' && kinds.includes(k.value)) {
      kind = k.value;
      this.i++;
    }
    const name = this.str('an attribute name');
    const typeTok = this.peek();
    const type = this.word('an attribute type').toUpperCase();
    const def: DbcAttributeDefinition = { name, kind, type: 'STRING' };
    if (type === 'INT' || type === 'HEX' || type === 'FLOAT') {
      def.type = type;
      if (this.peek().kind === 'num') {
        def.minimum = this.num().value;
        if (this.peek().kind === 'num') def.maximum = this.num().value;
      }
    } else if (type === 'ENUM') {
      def.type = 'ENUM';
      const values: string[] = [];
      while (this.peek().kind === 'str' || this.isPunct(this.peek(), ',')) {
        const t = this.next();
        if (t.kind === 'str') values.push(t.value);
      }
      def.enumValues = values;
    } else if (type !== 'STRING') {
      throw new StatementError(`unknown attribute type "${typeTok.value}"`, typeTok.pos);
    }
    this.end();
    (rel ? this.relDefinitions : this.definitions).push(def);
  }

  private attrValue(): { value: string | number; text: string } {
    const t = this.peek();
    if (t.kind === 'str') {
      this.i++;
      return { value: t.value, text: t.value };
    }
    const n = this.num('an attribute value');
    return n;
  }

  private attribute(): void {
    const pos = this.peek().pos;
    const name = this.str('an attribute name');
    const k = this.peek();
    let attr: RawAttribute;
    if (k.kind === 'word' && k.value === 'BO_') {
      this.i++;
      const id = this.uint('a message id');
      const v = this.attrValue();
      attr = { name, target: 'BO_', id, value: v.value, valueText: v.text, pos };
    } else if (k.kind === 'word' && k.value === 'SG_') {
      this.i++;
      const id = this.uint('a message id');
      const object = this.word('a signal name');
      const v = this.attrValue();
      attr = { name, target: 'SG_', id, object, value: v.value, valueText: v.text, pos };
    } else if (k.kind === 'word' && (k.value === 'BU_' || k.value === 'EV_')) {
      this.i++;
      const object = this.word('a name');
      const v = this.attrValue();
      attr = { name, target: k.value, object, value: v.value, valueText: v.text, pos };
    } else {
      const v = this.attrValue();
      attr = { name, target: 'network', value: v.value, valueText: v.text, pos };
    }
    this.end();
    this.attributes.push(attr);
  }

  private relationAttribute(): void {
    const name = this.str('an attribute name');
    const kindTok = this.next();
    if (kindTok.kind !== 'word') this.fail('BU_SG_REL_ or BU_BO_REL_', kindTok);
    const kind = kindTok.value;
    const node = this.word('a node name');
    if (kind === 'BU_SG_REL_') {
      if (this.peek().kind === 'word' && this.peek().value === 'SG_') this.i++;
      const messageId = this.uint('a message id');
      const signal = this.word('a signal name');
      const v = this.attrValue();
      this.relAttributes.push({ name, kind, node, messageId, signal, value: v.value });
    } else if (kind === 'BU_BO_REL_') {
      const messageId = this.uint('a message id');
      const v = this.attrValue();
      this.relAttributes.push({ name, kind, node, messageId, value: v.value });
    } else {
      // BU_EV_REL_ and others: nothing we use.
      this.skipStatement();
      return;
    }
    this.end();
  }

  private choicePairs(): Choices {
    const out: Choices = new Map();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'num' && !(t.kind === 'word' && /^0[xX][0-9a-fA-F]+$/.test(t.value))) break;
      const key = this.int('a value');
      // Later duplicates win, as in the reference.
      out.set(key.big, this.str('a value description'));
    }
    return out;
  }

  private valueDescriptions(): void {
    const pos = this.peek().pos;
    if (this.peek().kind === 'num') {
      const id = this.uint('a message id');
      const signal = this.word('a signal name');
      const choices = this.choicePairs();
      this.end();
      this.choices.push({ id, signal, choices, pos });
      return;
    }
    // `VAL_ <envvar> …`: environment variable descriptions, not used for decoding.
    this.word('a name');
    this.choicePairs();
    this.end();
  }

  private muxValue(kwTok: Token): void {
    const id = this.uint('a message id');
    const signal = this.word('a signal name');
    const switchName = this.word('a multiplexer signal name');
    const ranges: Array<[number, number]> = [];
    for (;;) {
      const lo = this.int('a range start').value;
      let hi: number;
      const t = this.peek();
      // `2-5` lexes as 2 and -5 (the reference reads the upper bound without its sign).
      if (t.kind === 'num' && t.value.startsWith('-')) {
        this.i++;
        hi = Number(t.value.slice(1));
      } else if (t.kind === 'sign' && t.value === '-') {
        this.i++;
        hi = this.int('a range end').value;
      } else {
        this.fail('"-" and a range end');
      }
      if (!Number.isSafeInteger(hi)) throw new StatementError('range end must be an integer', t.pos);
      if (hi < lo) this.warn('DBC_EMPTY_RANGE', `SG_MUL_VAL_ range ${lo}-${hi} is empty`, t.pos);
      else ranges.push([lo, hi]);
      if (!this.optPunct(',')) break;
    }
    this.end();
    this.muxValues.push({ id, signal, switchName, ranges, pos: kwTok.pos });
  }

  private environmentVariable(): void {
    const name = this.word('an environment variable name');
    this.optPunct(':');
    const type = this.uint('an environment variable type');
    this.punct('[');
    const minimum = this.num().value;
    this.punct('|');
    const maximum = this.num().value;
    this.punct(']');
    const unit = this.str('a unit');
    const initialValue = this.num().value;
    const id = this.num().value;
    const accessType = this.word('an access type');
    const accessNodes = this.nameList();
    this.end();
    this.envVars.push({ name, type, minimum, maximum, unit, initialValue, id, accessType, accessNodes });
  }
}

/** Convert an attribute value per its definition (INT/HEX/ENUM → integer index, FLOAT → number). */
function typedValue(def: DbcAttributeDefinition | undefined, raw: string | number): AttributeValue {
  if (!def) return raw;
  if (def.type === 'STRING') return String(raw);
  if (typeof raw === 'string') {
    if (def.type === 'ENUM' && def.enumValues) {
      const idx = def.enumValues.indexOf(raw);
      if (idx >= 0) return idx;
    }
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) ? (def.type === 'FLOAT' ? n : Math.trunc(n)) : raw;
  }
  return def.type === 'FLOAT' ? raw : Math.trunc(raw);
}

/** Merge inclusive ranges into a sorted, non-overlapping list. */
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = ranges
    .map((r) => [r[0], r[1]] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function parseMuxIndicator(ind: string): { isMultiplexer: boolean; id?: number } | undefined {
  const m = /^(?:m(\d+))?(M)?$/.exec(ind);
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  const out: { isMultiplexer: boolean; id?: number } = { isMultiplexer: m[2] !== undefined };
  if (m[1] !== undefined) out.id = Number(m[1]);
  return out;
}

/**
 * Parse a DBC file. Byte input is decoded as UTF-8 when valid, else as cp1252 (override with
 * `opts.encoding`). Throws {@link DbcParseError} (with line and column) for input that cannot be a DBC
 * file or for messages/signals that cannot be read; everything else that is odd becomes a warning on the
 * returned database.
 */
export function parseDbc(input: Uint8Array | string, opts: ParseDbcOptions = {}): DbcDatabase {
  const maxBytes = opts.maxBytes ?? DEFAULT_LIMITS.maxDbcBytes;
  let text: string;
  let encoding: 'utf-8' | 'cp1252' = 'utf-8';
  if (typeof input === 'string') {
    if (input.length > maxBytes) throw new DbcParseError(`DBC text exceeds ${maxBytes} characters`, 1, 1);
    text = input;
  } else {
    if (input.byteLength > maxBytes) throw new DbcParseError(`DBC file exceeds ${maxBytes} bytes`, 1, 1);
    const d = decodeDbcText(input, opts.encoding);
    text = d.text;
    encoding = d.encoding;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const p = new Parser(text, opts.maxWarnings ?? 1000);
  p.parse();
  if (p.recognized === 0 && p.messages.length === 0 && text.trim() !== '') {
    const first = /\S/.exec(text);
    const lines = new LineMap(text).locate(first?.index ?? 0);
    throw new DbcParseError('not a DBC file: no DBC statement found', lines.line, lines.column);
  }
  const db = build(p, encoding);
  p.finishWarnings();
  db.warnings = p.warnings;
  return db;
}

function build(p: Parser, encoding: 'utf-8' | 'cp1252'): DbcDatabase {
  // Attribute definitions and defaults.
  const definitions = new Map<string, DbcAttributeDefinition>();
  for (const d of p.definitions) definitions.set(d.name, d);
  for (const d of p.relDefinitions) if (!definitions.has(d.name)) definitions.set(d.name, d);
  for (const [name, v] of p.defaults) {
    const d = definitions.get(name);
    if (d) d.default = typedValue(d, v);
  }
  for (const d of p.relDefinitions) {
    const v = p.relDefaults.get(d.name);
    if (v !== undefined) d.default = typedValue(d, v);
  }

  // Attributes by object.
  const networkAttrs: Record<string, AttributeValue> = Object.create(null);
  const nodeAttrs = new Map<string, Record<string, AttributeValue>>();
  const messageAttrs = new Map<number, Record<string, AttributeValue>>();
  const signalAttrs = new Map<string, Record<string, AttributeValue>>();
  const sigKey = (id: number, name: string) => `${id}\u0000${name}`;
  const bucket = <K>(m: Map<K, Record<string, AttributeValue>>, k: K) => {
    let r = m.get(k);
    if (!r) {
      r = Object.create(null) as Record<string, AttributeValue>;
      m.set(k, r);
    }
    return r;
  };
  for (const a of p.attributes) {
    const def = definitions.get(a.name);
    if (!def) p.warn('DBC_UNDEFINED_ATTRIBUTE', `attribute "${a.name}" has no BA_DEF_`, a.pos);
    const value = typedValue(def, a.value);
    if (a.target === 'network') networkAttrs[a.name] = value;
    else if (a.target === 'BO_') bucket(messageAttrs, a.id!)[a.name] = value;
    else if (a.target === 'SG_') bucket(signalAttrs, sigKey(a.id!, a.object!))[a.name] = value;
    else if (a.target === 'BU_') bucket(nodeAttrs, a.object!)[a.name] = value;
  }

  // Comments.
  let networkComment: string | undefined;
  const nodeComments = new Map<string, string>();
  const envComments = new Map<string, string>();
  const messageComments = new Map<number, string>();
  const signalComments = new Map<string, string>();
  for (const c of p.comments) {
    if (c.target === 'network') networkComment = (networkComment ?? '') + c.text;
    else if (c.target === 'BU_') nodeComments.set(c.object!, c.text);
    else if (c.target === 'EV_') envComments.set(c.object!, c.text);
    else if (c.target === 'BO_') messageComments.set(c.id!, c.text);
    else signalComments.set(sigKey(c.id!, c.object!), c.text);
  }

  // Node names (long names via SystemNodeLongSymbol).
  const nodeName = (n: string) => {
    const long = nodeAttrs.get(n)?.SystemNodeLongSymbol;
    return typeof long === 'string' && long !== '' ? long : n;
  };
  const nodes: DbcNode[] = p.nodes.map((n) => {
    const node: DbcNode = { name: nodeName(n), attributes: nodeAttrs.get(n) ?? Object.create(null) };
    const c = nodeComments.get(n);
    if (c !== undefined) node.comment = c;
    return node;
  });

  // Per-signal references keyed by (file id, signal file name).
  const choices = new Map<string, Map<bigint, string>>();
  for (const c of p.choices) {
    if (c.choices.size === 0) continue; // an empty VAL_ does not replace an earlier one
    choices.set(sigKey(c.id, c.signal), c.choices);
  }
  const valTypes = new Map<string, { type: number; pos: number }>();
  for (const v of p.valTypes) valTypes.set(sigKey(v.id, v.signal), { type: v.type, pos: v.pos });
  // SG_MUL_VAL_: per message, switch → (signal → ranges); insertion order matters (later switch wins).
  const muxValues = new Map<number, Map<string, Map<string, Array<[number, number]>>>>();
  for (const m of p.muxValues) {
    let perMsg = muxValues.get(m.id);
    if (!perMsg) {
      perMsg = new Map();
      muxValues.set(m.id, perMsg);
    }
    let perSwitch = perMsg.get(m.switchName);
    if (!perSwitch) {
      perSwitch = new Map();
      perMsg.set(m.switchName, perSwitch);
    }
    perSwitch.set(m.signal, m.ranges);
  }
  const extraSenders = new Map<number, string[]>();
  for (const s of p.senders) extraSenders.set(s.id, [...(extraSenders.get(s.id) ?? []), ...s.nodes]);
  const groups = new Map<number, Array<{ name: string; repetitions: number; signals: string[] }>>();
  for (const g of p.groups) {
    const list = groups.get(g.id) ?? [];
    list.push({ name: g.name, repetitions: g.repetitions, signals: g.signals });
    groups.set(g.id, list);
  }

  const vFrameDef = definitions.get('VFrameFormat');
  const frameFormat = (attrs: Record<string, AttributeValue> | undefined): string | undefined => {
    const v = attrs?.VFrameFormat ?? vFrameDef?.default;
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    return vFrameDef?.enumValues?.[v];
  };

  const messages: DbcMessage[] = [];
  for (const raw of p.messages) {
    if (raw.name === INDEPENDENT_SIGNALS_MESSAGE) continue;
    const attrs = messageAttrs.get(raw.fileId) ?? (Object.create(null) as Record<string, AttributeValue>);
    let extended = raw.fileId >= 0x80000000;
    let id = raw.fileId & 0x7fffffff;
    if (extended && id > 0x1fffffff) {
      p.warn('DBC_BAD_ID', `extended id of "${raw.name}" has more than 29 bits; masked`, raw.pos);
      id &= 0x1fffffff;
    } else if (!extended && id > 0x7ff) {
      // Standard ids have 11 bits; a larger id without bit 31 can only be an extended frame.
      p.warn(
        'DBC_BAD_ID',
        `id ${id} of "${raw.name}" is more than 11 bits without bit 31; taken as extended`,
        raw.pos,
      );
      extended = true;
      if (id > 0x1fffffff) id &= 0x1fffffff;
    }
    const format = frameFormat(messageAttrs.get(raw.fileId));
    const longName = attrs.SystemMessageLongSymbol;
    const senders = [nodeName(raw.sender)];
    for (const s of extraSenders.get(raw.fileId) ?? []) {
      const n = nodeName(s);
      if (!senders.includes(n)) senders.push(n);
    }
    const msg: DbcMessage = {
      id,
      fileId: raw.fileId,
      extended,
      name: typeof longName === 'string' && longName !== '' ? longName : raw.name,
      length: raw.length,
      sender: senders[0]!,
      transmitters: senders.slice(1),
      signals: [],
      attributes: attrs,
      isFd: format?.endsWith('CAN_FD') ?? false,
      signalGroups: groups.get(raw.fileId) ?? [],
      line: raw.line,
    };
    const mc = messageComments.get(raw.fileId);
    if (mc !== undefined) msg.comment = mc;
    buildSignals(p, raw, msg, {
      sigKey,
      signalAttrs,
      signalComments,
      choices,
      valTypes,
      muxValues: muxValues.get(raw.fileId),
      nodeName,
    });
    messages.push(msg);
  }

  // References to messages or signals that do not exist are harmless for decoding but worth a warning.
  const signalNames = new Map<number, Set<string>>();
  for (const raw of p.messages) {
    const set = signalNames.get(raw.fileId) ?? new Set<string>();
    for (const s of raw.signals) set.add(s.name);
    signalNames.set(raw.fileId, set);
  }
  const checkRef = (kind: string, id: number, signal: string, pos: number) => {
    const names = signalNames.get(id);
    if (!names) p.warn('DBC_UNKNOWN_REFERENCE', `${kind} refers to unknown message id ${id}`, pos);
    else if (!names.has(signal)) {
      p.warn(
        'DBC_UNKNOWN_REFERENCE',
        `${kind} refers to unknown signal "${signal}" of message id ${id}`,
        pos,
      );
    }
  };
  for (const c of p.choices) checkRef('VAL_', c.id, c.signal, c.pos);
  for (const v of p.valTypes) checkRef('SIG_VALTYPE_', v.id, v.signal, v.pos);
  for (const m of p.muxValues) {
    checkRef('SG_MUL_VAL_', m.id, m.signal, m.pos);
    checkRef('SG_MUL_VAL_', m.id, m.switchName, m.pos);
  }

  const envVars = p.envVars.map((e) => {
    const c = envComments.get(e.name);
    return c !== undefined ? { ...e, comment: c } : e;
  });

  const db: DbcDatabase = {
    version: p.version,
    nodes,
    messages,
    valueTables: p.valueTables,
    attributeDefinitions: definitions,
    attributes: networkAttrs,
    relationAttributes: p.relAttributes.map((r) => ({
      ...r,
      value: typedValue(definitions.get(r.name), r.value),
    })),
    environmentVariables: envVars,
    encoding,
    warnings: [],
  };
  if (networkComment !== undefined) db.comment = networkComment;
  return db;
}

interface SignalContext {
  sigKey: (id: number, name: string) => string;
  signalAttrs: Map<string, Record<string, AttributeValue>>;
  signalComments: Map<string, string>;
  choices: Map<string, Map<bigint, string>>;
  valTypes: Map<string, { type: number; pos: number }>;
  muxValues: Map<string, Map<string, Array<[number, number]>>> | undefined;
  nodeName: (n: string) => string;
}

/** Resolve signals of one message, including the reference decoder's multiplexing rules. */
function buildSignals(p: Parser, raw: RawMessage, msg: DbcMessage, ctx: SignalContext): void {
  // Multiplexing (cantools rules): with exactly one switch (`M` / `m<n>M`) in the message, every `m<n>`
  // signal belongs to it and `SG_MUL_VAL_` only adds values; with several switches, `SG_MUL_VAL_` alone
  // says which switch and which values select a signal.
  const indicators = raw.signals.map((s) => {
    if (s.mux === undefined) return undefined;
    const ind = parseMuxIndicator(s.mux);
    if (!ind)
      p.warn('DBC_BAD_MULTIPLEXER', `signal "${s.name}" has an unknown multiplexer flag "${s.mux}"`, s.pos);
    return ind;
  });
  let single: string | undefined;
  let switches = 0;
  raw.signals.forEach((s, k) => {
    if (indicators[k]?.isMultiplexer) {
      switches++;
      single = s.name;
    }
  });
  if (switches !== 1) single = undefined;
  const signalToSwitch = new Map<string, string>();
  if (ctx.muxValues) {
    for (const [switchName, items] of ctx.muxValues)
      for (const name of items.keys()) signalToSwitch.set(name, switchName);
  }
  const finalName = new Map<string, string>();
  const seen = new Set<string>();

  raw.signals.forEach((s, k) => {
    const key = ctx.sigKey(raw.fileId, s.name);
    const attrs = ctx.signalAttrs.get(key) ?? (Object.create(null) as Record<string, AttributeValue>);
    const longName = attrs.SystemSignalLongSymbol;
    const name = typeof longName === 'string' && longName !== '' ? longName : s.name;
    finalName.set(s.name, name);
    if (seen.has(name))
      p.warn('DBC_DUPLICATE_SIGNAL', `signal "${name}" appears twice in "${msg.name}"`, s.pos);
    seen.add(name);
    const ind = indicators[k];
    let length = s.length;
    if (length < 1 || length > MAX_SIGNAL_BITS) {
      // Longer than a CAN FD frame (512 bits): no frame can hold it.
      p.warn('DBC_BAD_SIGNAL', `signal "${name}" has length ${length}; it is never decoded`, s.pos);
      length = 0;
    } else if (length > 64) {
      p.warn(
        'DBC_LONG_SIGNAL',
        `signal "${name}" has ${length} bits (more than 64); decoded as a BigInt`,
        s.pos,
      );
    }
    const vt = ctx.valTypes.get(key);
    let valueType: DbcSignal['valueType'] = 'integer';
    if (vt && (vt.type === 1 || vt.type === 2)) {
      if (length === 32) valueType = 'float32';
      else if (length === 64) valueType = 'float64';
      else if (length === 16) valueType = 'float16';
      else
        p.warn('DBC_BAD_VALTYPE', `float signal "${name}" has length ${length}; decoded as integer`, vt.pos);
    }
    const factorExact = INT_TEXT.test(s.factorText) ? BigInt(s.factorText) : undefined;
    const sig: DbcSignal = {
      name,
      fileName: s.name,
      startBit: s.startBit,
      length,
      byteOrder: s.bigEndian ? 'big_endian' : 'little_endian',
      signed: s.signed,
      valueType,
      factor: s.factor,
      offset: s.offset,
      integerScaling: Number.isInteger(s.factor) && Number.isInteger(s.offset),
      minimum: s.minimum,
      maximum: s.maximum,
      unit: s.unit,
      receivers: s.receivers.filter((r) => r !== 'Vector__XXX').map(ctx.nodeName),
      isMultiplexer: ind?.isMultiplexer ?? false,
      attributes: attrs,
      line: s.line,
    };
    if (factorExact !== undefined) sig.factorExact = factorExact;
    if (INT_TEXT.test(s.offsetText)) sig.offsetExact = BigInt(s.offsetText);
    if (!Number.isFinite(s.factor) || !Number.isFinite(s.offset)) {
      p.warn('DBC_BAD_SCALING', `signal "${name}" has a non-finite factor or offset`, s.pos);
    }

    // Selector values and switch, per the rules above.
    let ranges: Array<[number, number]> = [];
    let switchFile: string | undefined;
    if (ind) {
      if (single !== undefined) {
        if (!ind.isMultiplexer && ind.id !== undefined) ranges.push([ind.id, ind.id]);
        const extra = ctx.muxValues?.get(single)?.get(s.name);
        if (extra) ranges.push(...extra);
        if (s.name !== single) switchFile = single;
      } else {
        switchFile = signalToSwitch.get(s.name);
        const extra = switchFile !== undefined ? ctx.muxValues?.get(switchFile)?.get(s.name) : undefined;
        if (extra) ranges.push(...extra);
        if (switchFile === undefined && ind.id !== undefined) {
          p.warn(
            'DBC_AMBIGUOUS_MULTIPLEXER',
            `signal "${name}" (m${ind.id}) is in a message with ${switches} multiplexer switches but no SG_MUL_VAL_ names its switch; it is decoded as a plain signal`,
            s.pos,
          );
        }
      }
    }
    ranges = mergeRanges(ranges);
    if (ranges.length > 0) sig.multiplexerRanges = ranges;
    if (switchFile !== undefined) sig.multiplexerSignal = switchFile; // file name for now; renamed below
    const muxConds = [...(ctx.muxValues?.entries() ?? [])]
      .filter(([, items]) => items.has(s.name))
      .map(([switchName, items]): DbcMuxCondition => ({ switchName, ranges: items.get(s.name)! }));
    if (muxConds.length > 0) sig.muxConditions = muxConds;
    const ch = ctx.choices.get(key);
    if (ch) sig.choices = ch;
    const comment = ctx.signalComments.get(key);
    if (comment !== undefined) sig.comment = comment;
    msg.signals.push(sig);
  });
  // Switch references use names as written; translate to final (long) names.
  for (const sig of msg.signals) {
    if (sig.multiplexerSignal !== undefined) {
      const target = finalName.get(sig.multiplexerSignal);
      if (target === undefined) {
        p.warn(
          'DBC_UNKNOWN_REFERENCE',
          `signal "${sig.name}" is multiplexed by "${sig.multiplexerSignal}", which is not in "${msg.name}"`,
          raw.pos,
        );
      } else {
        sig.multiplexerSignal = target;
      }
    }
    if (sig.muxConditions) {
      for (const c of sig.muxConditions) c.switchName = finalName.get(c.switchName) ?? c.switchName;
    }
  }
}
