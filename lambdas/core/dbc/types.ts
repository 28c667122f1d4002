/**
 * Result and option types of the compiled decoder, the encoder and the point plug-in.
 */
import type { DbcDatabase, DbcMessage, DbcSignal } from './model.js';

/** A decoded signal value: a number, a BigInt for integers beyond 2^53, or a value-table name. */
export type SignalValue = number | bigint | string;

/** Why a known message decoded only partly. */
export interface FrameIssue {
  /** `DBC_FRAME_TOO_SHORT` (signals beyond the data) or `DBC_BAD_MULTIPLEXER` (selector with no branch). */
  code: 'DBC_FRAME_TOO_SHORT' | 'DBC_BAD_MULTIPLEXER';
  /** Human-readable text. */
  message: string;
}

/** A frame whose id matched a message. */
export interface DecodedMessageFrame {
  kind: 'message';
  /** The frame id as given (without extended flag). */
  id: number;
  /** Whether the frame was treated as extended. */
  extended: boolean;
  /** The matched message's name. */
  message: string;
  /** Decoded signals in message order (null-prototype object). */
  signals: Record<string, SignalValue>;
  /** Set when the frame decoded only partly; `signals` then holds what did decode. */
  error?: FrameIssue;
  /** Signals that were expected (their selectors matched) but did not fit in the frame. */
  missing?: string[];
  /** Signals the DBC places beyond the message length (or with zero length): never decodable. */
  skipped?: readonly string[];
}

/** A frame whose id matched no message: reported, never guessed. */
export interface UnknownFrame {
  kind: 'unknown';
  id: number;
  extended: boolean;
  error: { code: 'DBC_UNKNOWN_ID'; message: string };
}

/** The result of {@link CompiledDbc.decode}. */
export type FrameDecodeResult = DecodedMessageFrame | UnknownFrame;

/** Per-call decode options. */
export interface DecodeFrameOptions {
  /** Replace raw values found in the signal's value table with their names. @default false */
  choices?: boolean;
}

/** Options for compiling a database. */
export interface CompileOptions {
  /**
   * J1939 matching: an extended frame matches a message by PGN (priority and source address ignored;
   * for PDU1 PGNs the destination address is ignored too), after exact-id matching fails. @default false
   */
  j1939?: boolean;
}

/** One signal prepared for decoding. */
export interface CompiledSignal {
  readonly name: string;
  readonly source: DbcSignal;
  /** Number of bytes the frame must have for this signal to be decoded. */
  readonly minBytes: number;
}

/** One message prepared for decoding and encoding. */
export interface CompiledMessage {
  readonly name: string;
  readonly id: number;
  readonly extended: boolean;
  readonly length: number;
  readonly source: DbcMessage;
  /** Decodable signals in decode order (by start position). */
  readonly signals: readonly CompiledSignal[];
  /** Signals that can never be decoded (beyond the message length or zero length). */
  readonly skipped: readonly string[];
  /** Decode a frame of this message (no id matching). */
  decode(data: Uint8Array, opts?: DecodeFrameOptions): DecodedMessageFrame;
  /**
   * The signals of a frame when the generated fast path can decode it (a full-length frame, every
   * selector known), with no result object around them; `undefined` otherwise, and {@link decode} then
   * gives the full answer (partial signals, error). Same values as `decode(data, opts).signals`.
   */
  fastSignals(data: Uint8Array, choices: boolean): Record<string, SignalValue> | undefined;
}

/** A database compiled for fast decoding. */
export interface CompiledDbc {
  /** The parsed database this was compiled from. */
  readonly database: DbcDatabase;
  /** Messages in file order. */
  readonly messages: readonly CompiledMessage[];
  /** Whether J1939 PGN matching is on. */
  readonly j1939: boolean;
  /** SHA-256 (hex) of the source bytes when loaded through {@link loadCompiledDbc}. */
  readonly hash?: string;
  /** Find the message a frame id belongs to. */
  findMessage(id: number, extended: boolean): CompiledMessage | undefined;
  /** Look a message up by name or by (non-extended-flagged) id. */
  getMessage(nameOrId: string | number): CompiledMessage | undefined;
  /** Decode one frame. */
  decode(id: number, extended: boolean, data: Uint8Array, opts?: DecodeFrameOptions): FrameDecodeResult;
}
