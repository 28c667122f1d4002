/**
 * The codec registry: one entry point, `decodePayload`, for every format. Codecs are pure functions of
 * (bytes, context, limits); this module only dispatches and runs `auto` detection.
 */
import { DecodeError } from '../errors.js';
import { type DecodeLimits, resolveLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, FormatSelector, PayloadFormat } from '../model/point.js';
import { decodeAuto } from './auto.js';
import { decodeDialtone } from './dialtone.js';
import { decodeEms } from './ems.js';
import { decodeExosense } from './exosense.js';
import { decodeFlexconnectBinary } from './flexconnect-binary.js';
import { decodeFlexconnectJson } from './flexconnect-json.js';
import { decodeProtobuf } from './protobuf.js';

/** A codec's decode function. */
export type Decoder = (bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits) => DecodeResult;

/** Decoders by format. */
export const DECODERS: Readonly<Record<PayloadFormat, Decoder>> = Object.freeze({
  'flexconnect-json': decodeFlexconnectJson,
  'flexconnect-binary': decodeFlexconnectBinary,
  exosense: decodeExosense,
  ems: decodeEms,
  dialtone: decodeDialtone,
  protobuf: decodeProtobuf,
});

/**
 * Decode one payload into normalized points (and raw CAN frames where the format carries them).
 * Throws only {@link DecodeError} subclasses.
 */
export function decodePayload(
  bytes: Uint8Array,
  format: FormatSelector = 'auto',
  ctx: DecodeContext = {},
  limits?: Partial<DecodeLimits>,
): DecodeResult {
  const lim = resolveLimits(limits);
  // auto parses JSON once and hands the value to the chosen codec (see auto.ts).
  if (format === 'auto') return decodeAuto(bytes, ctx, lim);
  const decoder = Object.hasOwn(DECODERS, format) ? DECODERS[format] : undefined;
  if (!decoder) throw new DecodeError('UNSUPPORTED_FORMAT', `Unsupported format "${String(format)}"`);
  return decoder(bytes, ctx, lim);
}
