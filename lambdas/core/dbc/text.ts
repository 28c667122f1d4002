/**
 * DBC text decoding. DBC files in the wild are either UTF-8 or Windows-1252 (CANdb++ writes cp1252);
 * we decode strictly as UTF-8 first and fall back to cp1252, which maps every byte to some character,
 * so reading a file never fails on encoding.
 */

/** Windows-1252 code points for bytes 0x80–0x9F (undefined bytes map to the C1 control of the same value). */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,
  0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x9d, 0x017e, 0x0178,
];

/** Decode bytes as Windows-1252. */
export function decodeCp1252(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const end = Math.min(bytes.length, i + CHUNK);
    const codes = new Array<number>(end - i);
    for (let j = i; j < end; j++) {
      const b = bytes[j]!;
      codes[j - i] = b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b;
    }
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decode DBC bytes: a UTF-8 BOM or valid UTF-8 gives UTF-8, anything else is read as cp1252.
 * `forced` skips detection.
 */
export function decodeDbcText(
  bytes: Uint8Array,
  forced?: 'utf-8' | 'cp1252',
): { text: string; encoding: 'utf-8' | 'cp1252' } {
  if (forced === 'cp1252') return { text: decodeCp1252(bytes), encoding: 'cp1252' };
  try {
    return { text: utf8.decode(bytes), encoding: 'utf-8' };
  } catch {
    if (forced === 'utf-8') {
      // Caller insisted on UTF-8: replace invalid sequences rather than failing the whole file.
      return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'utf-8' };
    }
    return { text: decodeCp1252(bytes), encoding: 'cp1252' };
  }
}
