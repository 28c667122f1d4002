/**
 * A small, strict DER (ASN.1 Distinguished Encoding Rules) writer and reader: just what the local CA needs
 * to build X.509 certificates and to read PKCS#10 certificate signing requests and SubjectPublicKeyInfo.
 * node:crypto signs and parses certificates but cannot build them; this fills that gap without a
 * dependency. The reader is bounds-checked and rejects indefinite lengths, non-minimal lengths and
 * trailing bytes, because CSRs come from outside.
 */
import { FleetwireError } from '../../core/errors.js';

/** Universal tag numbers (with the constructed bit where DER requires it). */
export const TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
});

/** Maximum nesting the reader follows (CSRs are shallow; this bounds hostile input). */
const MAX_DEPTH = 16;

/** Encode a DER length. */
function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** A TLV with `tag` around `content` (parts are concatenated). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag), encodeLength(body.length), body]);
}

/** SEQUENCE of the given encoded elements. */
export function seq(...elements: Uint8Array[]): Uint8Array {
  return tlv(TAG.SEQUENCE, ...elements);
}

/** SET of the given encoded elements (callers pass one element, so no DER sorting is needed). */
export function set(...elements: Uint8Array[]): Uint8Array {
  return tlv(TAG.SET, ...elements);
}

/** Context-specific EXPLICIT tag `[n]` around an encoded element. */
export function explicit(n: number, element: Uint8Array): Uint8Array {
  return tlv(0xa0 | n, element);
}

/** Context-specific IMPLICIT primitive tag `[n]` with raw content. */
export function implicit(n: number, content: Uint8Array): Uint8Array {
  return tlv(0x80 | n, content);
}

/** INTEGER from unsigned big-endian magnitude bytes (minimal two's-complement encoding). */
export function integerFromBytes(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body.length === 0) body = Uint8Array.of(0);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Uint8Array.of(0), body]);
  return tlv(TAG.INTEGER, body);
}

/** INTEGER from a small non-negative number. */
export function integer(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`integer(${n}) must be a safe non-negative integer`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return integerFromBytes(Uint8Array.from(bytes));
}

/** BOOLEAN. */
export function boolean(v: boolean): Uint8Array {
  return tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0x00));
}

/** NULL. */
export function nullValue(): Uint8Array {
  return Uint8Array.of(TAG.NULL, 0);
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** BIT STRING with whole bytes (0 unused bits), e.g. a signature or a public key. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

/**
 * BIT STRING of named bits (bit 0 is the most significant bit of the first byte), DER-minimal: trailing
 * zero bits are dropped and counted as unused (X.690 §11.2.2), as KeyUsage requires.
 */
export function namedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Uint8Array.of(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3] = (bytes[b >> 3] ?? 0) | (0x80 >> (b & 7));
  const unused = 7 - (highest % 8);
  return tlv(TAG.BIT_STRING, Uint8Array.of(unused), bytes);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new RangeError(`bad OID ${dotted}`);
    return Number(s);
  });
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined || a > 2) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** UTF8String. */
export function utf8String(s: string): Uint8Array {
  return tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
}

/** IA5String (ASCII), e.g. a dNSName. */
export function ia5(s: string): Uint8Array {
  return Buffer.from(s, 'ascii');
}

/**
 * X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), second precision, UTC.
 */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

/** One parsed TLV: its tag, where its content is, and the whole encoding. */
export interface DerNode {
  tag: number;
  /** Content bytes (a view into the input). */
  content: Uint8Array;
  /** The whole TLV (tag, length and content; a view into the input). */
  raw: Uint8Array;
}

/** Malformed DER (from a CSR or key supplied from outside). */
export class DerError extends FleetwireError {
  constructor(message: string) {
    super('INVALID_CSR', message);
  }
}

/** Read one TLV at `offset` of `buf`; returns the node and the offset after it. */
export function readTlv(buf: Uint8Array, offset = 0): { node: DerNode; end: number } {
  if (offset + 2 > buf.length) throw new DerError('DER is truncated');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER high tag numbers are not supported');
  let pos = offset + 1;
  const first = buf[pos++] as number;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError('Indefinite lengths are not DER');
    if (n > 4) throw new DerError('DER length is too large');
    if (pos + n > buf.length) throw new DerError('DER is truncated');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[pos++] as number);
    if (length < 0x80 || (n > 1 && buf[pos - n] === 0)) throw new DerError('DER length is not minimal');
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError('DER is truncated');
  return { node: { tag, content: buf.subarray(pos, end), raw: buf.subarray(offset, end) }, end };
}

/** Parse exactly one TLV spanning all of `buf`. */
export function parseDer(buf: Uint8Array): DerNode {
  const { node, end } = readTlv(buf, 0);
  if (end !== buf.length) throw new DerError('Trailing bytes after DER value');
  return node;
}

/** The children of a constructed node (SEQUENCE, SET, explicit tag). */
export function children(node: DerNode, depth = 0): DerNode[] {
  if (depth > MAX_DEPTH) throw new DerError('DER nesting is too deep');
  if ((node.tag & 0x20) === 0) throw new DerError('Expected a constructed DER value');
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const { node: child, end } = readTlv(node.content, pos);
    out.push(child);
    pos = end;
  }
  return out;
}

/** Expect a node with `tag`. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag) throw new DerError(`Expected ${what}`);
  return node;
}

/** Decode an OBJECT IDENTIFIER node to dotted form. */
export function readOid(node: DerNode | undefined): string {
  const n = expectTag(node, TAG.OID, 'an object identifier');
  const bytes = n.content;
  if (bytes.length === 0 || bytes.length > 64) throw new DerError('Object identifier length is invalid');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (value === 0 && b === 0x80) throw new DerError('Object identifier is not minimal');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('Object identifier arc is too large');
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new DerError('Object identifier is truncated');
    }
  }
  const [head, ...rest] = arcs as [number, ...number[]];
  const first = head < 80 ? Math.floor(head / 40) : 2;
  return [first, head - first * 40, ...rest].join('.');
}

/** Content of a BIT STRING with 0 unused bits (keys and signatures). */
export function readBitStringBytes(node: DerNode | undefined): Uint8Array {
  const n = expectTag(node, TAG.BIT_STRING, 'a bit string');
  if (n.content.length < 1 || n.content[0] !== 0) throw new DerError('Bit string must have whole bytes');
  return n.content.subarray(1);
}
