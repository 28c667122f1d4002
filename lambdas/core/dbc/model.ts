/**
 * The parsed DBC model: what a DBC file says, kept close to the file (names, raw start bits, factors as
 * written) so that linting, round-tripping and compiling all work from one source of truth.
 */

/** Byte order of a signal: `little_endian` is Intel (`@1`), `big_endian` is Motorola (`@0`). */
export type ByteOrder = 'little_endian' | 'big_endian';

/** Raw value representation: two's-complement / unsigned integer, or IEEE float (`SIG_VALTYPE_`). */
export type SignalValueType = 'integer' | 'float16' | 'float32' | 'float64';

/** An attribute value as written in `BA_` / `BA_DEF_DEF_` (numbers parsed, strings unquoted). */
export type AttributeValue = number | string;

/** One row of `SG_MUL_VAL_`: the signal is active when `switchName`'s raw value is in one of `ranges`. */
export interface DbcMuxCondition {
  /** Name of the multiplexer (switch) signal. */
  switchName: string;
  /** Inclusive `[low, high]` raw value ranges. */
  ranges: Array<[number, number]>;
}

/** A signal (`SG_`). */
export interface DbcSignal {
  /** Signal name (the `SystemSignalLongSymbol` attribute when present, else the name in `SG_`). */
  name: string;
  /** Name as written in `SG_` (what `CM_`, `VAL_`, `BA_` … refer to). */
  fileName: string;
  /** Start bit exactly as written in the file (LSB for Intel, MSB in sawtooth numbering for Motorola). */
  startBit: number;
  /** Length in bits, 1–64. */
  length: number;
  /** Intel or Motorola layout. */
  byteOrder: ByteOrder;
  /** True for two's-complement (`-`), false for unsigned (`+`). */
  signed: boolean;
  /** Integer, or IEEE float16/float32/float64 by length (`SIG_VALTYPE_` 1 or 2). */
  valueType: SignalValueType;
  /** Scale: physical = raw × factor + offset. */
  factor: number;
  /** The factor exactly, when it is written as an integer literal (kept as BigInt so huge factors stay exact). */
  factorExact?: bigint;
  /** Offset: physical = raw × factor + offset. */
  offset: number;
  /** The offset exactly, when it is written as an integer literal. */
  offsetExact?: bigint;
  /**
   * True when both factor and offset are whole numbers, so integer signals scale exactly (BigInt-safe),
   * the way the reference decoder does.
   */
  integerScaling: boolean;
  /** Minimum physical value from `[min|max]`. */
  minimum: number;
  /** Maximum physical value from `[min|max]`. */
  maximum: number;
  /** Unit text. */
  unit: string;
  /** Receiving nodes. */
  receivers: string[];
  /** True when this signal is a multiplexer switch (`M`, or `m<n>M` when nested). */
  isMultiplexer: boolean;
  /**
   * For multiplexed signals: the switch values that enable the signal, as sorted, merged inclusive ranges
   * (from `m<n>` and `SG_MUL_VAL_`). Ranges rather than lists so `0-4294967295` costs nothing.
   */
  multiplexerRanges?: Array<[number, number]>;
  /** For multiplexed signals: the switch signal's (final) name. */
  multiplexerSignal?: string;
  /** Extended multiplexing conditions from `SG_MUL_VAL_`, when present. */
  muxConditions?: DbcMuxCondition[];
  /** Value table (`VAL_`): raw value → name. Keys are BigInt so 64-bit raw values are exact. */
  choices?: Map<bigint, string>;
  /** Comment (`CM_ SG_`). */
  comment?: string;
  /** Attributes (`BA_ … SG_`). */
  attributes: Record<string, AttributeValue>;
  /** 1-based line of the `SG_` in the file. */
  line: number;
}

/** A message (`BO_`). */
export interface DbcMessage {
  /** Frame id without the extended flag (11 or 29 bits). */
  id: number;
  /** The id exactly as written in the file (bit 31 marks extended ids); other statements refer to it. */
  fileId: number;
  /** True for 29-bit ids (bit 31 set in the file's id, or `VFrameFormat` says so). */
  extended: boolean;
  /** Message name (the `SystemMessageLongSymbol` attribute when present). */
  name: string;
  /** Declared length in bytes (DLC as bytes; up to 64 for CAN FD). */
  length: number;
  /** Sending node (`Vector__XXX` when none). */
  sender: string;
  /** Additional transmitters from `BO_TX_BU_`. */
  transmitters: string[];
  /** Signals in file order. */
  signals: DbcSignal[];
  /** Comment (`CM_ BO_`). */
  comment?: string;
  /** Attributes (`BA_ … BO_`), e.g. `GenMsgCycleTime`, `VFrameFormat`. */
  attributes: Record<string, AttributeValue>;
  /** True when `VFrameFormat` marks the message as CAN FD. */
  isFd: boolean;
  /** Signal groups (`SIG_GROUP_`). */
  signalGroups: Array<{ name: string; repetitions: number; signals: string[] }>;
  /** 1-based line of the `BO_` in the file. */
  line: number;
}

/** A node (`BU_`). */
export interface DbcNode {
  name: string;
  comment?: string;
  attributes: Record<string, AttributeValue>;
}

/** An attribute definition (`BA_DEF_` / `BA_DEF_REL_`). */
export interface DbcAttributeDefinition {
  name: string;
  /** Object kind: '' (network), 'BU_', 'BO_', 'SG_', 'EV_', 'BU_SG_REL_', 'BU_BO_REL_', 'BU_EV_REL_'. */
  kind: string;
  /** Value type: INT, HEX, FLOAT, STRING or ENUM. */
  type: 'INT' | 'HEX' | 'FLOAT' | 'STRING' | 'ENUM';
  minimum?: number;
  maximum?: number;
  /** ENUM choices in order (the value of an enum attribute is an index into these). */
  enumValues?: string[];
  /** Default from `BA_DEF_DEF_` / `BA_DEF_DEF_REL_`. */
  default?: AttributeValue;
}

/** An environment variable (`EV_`); kept for linting and round-trips, not used in decoding. */
export interface DbcEnvironmentVariable {
  name: string;
  type: number;
  minimum: number;
  maximum: number;
  unit: string;
  initialValue: number;
  id: number;
  accessType: string;
  accessNodes: string[];
  comment?: string;
}

/** A non-fatal parse finding: the file was accepted, but something was skipped or repaired. */
export interface DbcWarning {
  /** Stable code, e.g. `DBC_MISSING_SEMICOLON`, `DBC_SKIPPED_SECTION`, `DBC_UNKNOWN_REFERENCE`. */
  code: string;
  /** Human-readable text. */
  message: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** A whole parsed DBC file. */
export interface DbcDatabase {
  /** `VERSION` string. */
  version: string;
  /** Nodes from `BU_`. */
  nodes: DbcNode[];
  /** Messages in file order. */
  messages: DbcMessage[];
  /** Named value tables (`VAL_TABLE_`). */
  valueTables: Map<string, Map<bigint, string>>;
  /** Attribute definitions by name. */
  attributeDefinitions: Map<string, DbcAttributeDefinition>;
  /** Network attributes (`BA_` with no object). */
  attributes: Record<string, AttributeValue>;
  /** Relation attributes (`BA_REL_`), kept for linting. */
  relationAttributes: Array<{
    name: string;
    kind: string;
    node: string;
    messageId: number;
    signal?: string;
    value: AttributeValue;
  }>;
  /** Environment variables (`EV_`). */
  environmentVariables: DbcEnvironmentVariable[];
  /** Network comment (`CM_ "…";`). */
  comment?: string;
  /** Text encoding the file was read with. */
  encoding: 'utf-8' | 'cp1252';
  /** Everything that was accepted with a repair or skipped. */
  warnings: DbcWarning[];
}

/** Options for {@link parseDbc}. */
export interface ParseDbcOptions {
  /** Force a text encoding for byte input instead of detecting it. */
  encoding?: 'utf-8' | 'cp1252';
  /** Maximum input size in bytes. @default DEFAULT_LIMITS.maxDbcBytes */
  maxBytes?: number;
  /** Maximum number of warnings kept (the rest are counted in one summary warning). @default 1000 */
  maxWarnings?: number;
}
