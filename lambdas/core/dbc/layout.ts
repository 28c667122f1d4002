/**
 * Bit layout of signals. Two numberings meet here:
 * - Intel (little-endian) signals give the start bit of their least significant bit; bit `i` is bit
 *   `i % 8` of byte `i / 8`, and the signal grows towards higher bit numbers.
 * - Motorola (big-endian) signals give the start bit of their most significant bit in the DBC's
 *   "sawtooth" numbering (byte 0 holds bits 7…0, byte 1 bits 15…8, …). Converted to the sequential
 *   network numbering (bit 0 = MSB of byte 0) the signal occupies `seq … seq + length − 1`.
 */
import type { DbcSignal } from './model.js';

/** Sawtooth (DBC Motorola) bit number → sequential network bit number (MSB of byte 0 = 0). */
export function sawtoothToNetwork(bit: number): number {
  return 8 * Math.floor(bit / 8) + (7 - (bit % 8));
}

/**
 * The start position the reference decoder sorts signals by (and checks fit with): the start bit for
 * Intel signals, the network position of the MSB for Motorola signals.
 */
export function sequentialStart(sig: Pick<DbcSignal, 'byteOrder' | 'startBit'>): number {
  return sig.byteOrder === 'big_endian' ? sawtoothToNetwork(sig.startBit) : sig.startBit;
}

/** Bytes a frame must have for the signal to be decodable: ⌈(sequential start + length) / 8⌉. */
export function bytesNeeded(sig: Pick<DbcSignal, 'byteOrder' | 'startBit' | 'length'>): number {
  return Math.ceil((sequentialStart(sig) + sig.length) / 8);
}

/**
 * The (byte, bit) positions of a signal's bits, most significant first. Used by the encoder and the
 * linter (overlap checks); the decoder uses precomputed shifts instead.
 */
export function signalBitPositions(sig: Pick<DbcSignal, 'byteOrder' | 'startBit' | 'length'>): number[] {
  // Returned as absolute bit indexes `byte * 8 + bitInByte` (bitInByte 0 = LSB).
  const out: number[] = new Array(sig.length);
  if (sig.byteOrder === 'big_endian') {
    const seq = sawtoothToNetwork(sig.startBit);
    for (let k = 0; k < sig.length; k++) {
      const n = seq + k;
      out[k] = Math.floor(n / 8) * 8 + (7 - (n % 8));
    }
  } else {
    for (let k = 0; k < sig.length; k++) out[k] = sig.startBit + sig.length - 1 - k;
  }
  return out;
}
