/**
 * Splits an MQTT byte stream into whole control packets (fixed header + remaining length + body) without
 * decoding them, refusing a packet larger than the broker accepts before buffering it. Used by the
 * connection bridge to enforce the packet size limit for every protocol version and to look at the
 * CONNECT packet's protocol level.
 */

/** A packet that cannot be accepted: too large or with a malformed length. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** MQTT 5 reason code to send, when the client speaks MQTT 5. */
    readonly reasonCode: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Incremental frame splitter. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** `maxRemainingLength`: the largest remaining length (bytes after the fixed header) accepted. */
  constructor(private readonly maxRemainingLength: number) {}

  /** Feed bytes; returns the complete frames they finish. Throws {@link FrameError}. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const header = this.header();
      if (header === undefined) break;
      const total = header.headerLength + header.remaining;
      if (this.buffer.length < total) break;
      frames.push(this.buffer.subarray(0, total));
      this.buffer = this.buffer.subarray(total);
    }
    return frames;
  }

  /** Bytes held that do not make a whole frame yet. */
  get pending(): number {
    return this.buffer.length;
  }

  private header(): { headerLength: number; remaining: number } | undefined {
    const b = this.buffer;
    if (b.length < 2) return undefined;
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i <= 4; i++) {
      if (i >= b.length) return undefined;
      const byte = b[i] as number;
      remaining += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (remaining > this.maxRemainingLength) {
          throw new FrameError(
            `packet of ${remaining} bytes exceeds the ${this.maxRemainingLength}-byte limit`,
            0x95,
          );
        }
        return { headerLength: i + 1, remaining };
      }
      multiplier *= 128;
    }
    throw new FrameError('malformed remaining length', 0x81);
  }
}

/** The protocol level of a CONNECT frame (3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0), or undefined if not CONNECT. */
export function connectProtocolLevel(frame: Buffer): number | undefined {
  if (frame.length < 2 || (frame[0] as number) >> 4 !== 1) return undefined;
  let i = 1;
  while (i < frame.length && ((frame[i] as number) & 0x80) !== 0) i++;
  i++; // past the last length byte
  if (i + 2 > frame.length) return undefined;
  const nameLength = frame.readUInt16BE(i);
  const levelAt = i + 2 + nameLength;
  return levelAt < frame.length ? frame[levelAt] : undefined;
}

/**
 * Lower every QoS 2 request of a SUBSCRIBE frame to QoS 1, in place (IoT Core supports QoS 0 and 1 and
 * grants 1 for 2; aedes reports the requested QoS in its SUBACK, so the request itself is adjusted).
 * Frames that are not SUBSCRIBE, or are malformed, are left for the broker to judge.
 */
export function clampSubscribeQos(frame: Buffer): void {
  if ((frame[0] as number) >> 4 !== 8) return;
  let i = 1;
  while (i < frame.length && ((frame[i] as number) & 0x80) !== 0) i++;
  i += 1 + 2; // last length byte, packet identifier
  while (i + 2 <= frame.length) {
    const len = frame.readUInt16BE(i);
    const opt = i + 2 + len;
    if (opt >= frame.length) return;
    const options = frame[opt] as number;
    if ((options & 0x03) === 2) frame[opt] = (options & ~0x03) | 1;
    i = opt + 1;
  }
}
