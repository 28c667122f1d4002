/**
 * `fleetwire decode`: decode one payload (stdin or --input) into JSON lines.
 *
 * Points print as `{"device","time","tags","fields"}`, CAN frames as
 * `{"time","bus","id","extended","dlc","data"}` (data in lowercase hex). A rejected payload exits 2
 * with one `{"error","message"}` line on stderr. The token a payload carries is never printed.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodePayload } from '../../core/codecs/index.js';
import { framesToPoints, loadCompiledDbc } from '../../core/dbc/index.js';
import { DecodeError, LimitError } from '../../core/errors.js';
import { DEFAULT_LIMITS } from '../../core/limits.js';
import {
  type CanFrame,
  type DecodeContext,
  type DecodeWarning,
  type FormatSelector,
  PAYLOAD_FORMATS,
  type Point,
} from '../../core/model/point.js';
import { parseFlags, UsageError } from '../io.js';

const HELP = `usage: fleetwire decode [options] [< payload]

Decode one payload into JSON lines: points as {"device","time","tags","fields"}, or raw CAN frames as
{"time","bus","id","extended","dlc","data"} (data in hex).

options:
  --input FILE      read the payload from FILE instead of stdin
  --format NAME     auto (default), ${PAYLOAD_FORMATS.join(', ')}
  --device ID       device identity, for formats that carry none (overrides a payload device_id)
  --time MS         receive time in epoch ms, for formats without timestamps
  --dbc FILE        decode CAN frames into signal points with this DBC file
  --frames          print raw CAN frames instead of points

A FlexConnect binary payload decoded without --dbc prints its raw frames (it has no points without one).
Warnings go to stderr as {"warning","message"} lines. A rejected payload exits with status 2 and one
{"error","message"} line on stderr.
`;

const FORMATS: readonly string[] = ['auto', ...PAYLOAD_FORMATS];

/** Run `fleetwire decode`. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    input: { type: 'string' },
    format: { type: 'string', default: 'auto' },
    device: { type: 'string' },
    time: { type: 'string' },
    dbc: { type: 'string' },
    frames: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const format = values.format ?? 'auto';
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const ctx: DecodeContext = {};
  if (values.device !== undefined) {
    if (values.device === '') throw new UsageError('--device must not be empty');
    ctx.device = values.device;
  }
  if (values.time !== undefined) {
    if (!/^\d{1,16}$/.test(values.time))
      throw new UsageError('--time must be epoch milliseconds (an integer)');
    ctx.receivedAt = Number(values.time);
  }
  // Load the DBC before reading stdin so a bad DBC fails fast, whatever the payload.
  const dbc =
    values.dbc === undefined
      ? undefined
      : loadCompiledDbc(readBounded(values.dbc, DEFAULT_LIMITS.maxDbcBytes, 'DBC_TOO_LARGE'));

  const payload =
    values.input === undefined
      ? await readStdinBounded(DEFAULT_LIMITS.maxPayloadBytes)
      : readBounded(values.input, DEFAULT_LIMITS.maxPayloadBytes, 'PAYLOAD_TOO_LARGE');
  const result = decodePayload(payload, format as FormatSelector, ctx);

  const lines: string[] = [];
  const warnings: DecodeWarning[] = [...result.warnings];
  const printFrames =
    values.frames || (dbc === undefined && result.points.length === 0 && result.frames.length > 0);
  if (printFrames) {
    for (const f of result.frames) lines.push(frameLine(f));
  } else {
    for (const p of result.points) lines.push(pointLine(p));
    if (dbc !== undefined && result.frames.length > 0) {
      const device = ctx.device ?? result.claimedDevice;
      if (device === undefined) {
        throw new DecodeError(
          'MISSING_CONTEXT',
          'CAN frames carry no device identity: pass --device ID with --dbc',
        );
      }
      const decoded = framesToPoints(result.frames, dbc, device);
      for (const p of decoded.points) lines.push(pointLine(p));
      warnings.push(...decoded.warnings);
    }
  }
  for (const w of warnings) {
    const line: Record<string, unknown> = { warning: w.code, message: w.message };
    if (w.index !== undefined) line.index = w.index;
    process.stderr.write(`${JSON.stringify(line)}\n`);
  }
  if (lines.length > 0) await write(`${lines.join('\n')}\n`);
  return 0;
}

function pointLine(p: Point): string {
  return JSON.stringify({ device: p.device, time: p.time, tags: p.tags, fields: p.fields });
}

function frameLine(f: CanFrame): string {
  return JSON.stringify({
    time: f.time,
    bus: f.bus,
    id: f.id,
    extended: f.extended,
    dlc: f.dlc,
    data: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('hex'),
  });
}

/** Write to stdout and wait until it is flushed (a closed pipe, e.g. `| head`, is not an error). */
function write(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.once('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}

/**
 * Read a file, refusing (before reading it whole) one larger than `limit`: the decoder would reject it
 * anyway, and reading a huge file first would break the "answers within a second" promise.
 */
function readBounded(path: string, limit: number, code: 'PAYLOAD_TOO_LARGE' | 'DBC_TOO_LARGE'): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > limit) {
      throw new LimitError(code, `${path} is ${stat.size} bytes; the limit is ${limit}`, {
        size: stat.size,
        limit,
      });
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw new LimitError(code, `${path} exceeds ${limit} bytes`, { limit });
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof LimitError) throw e;
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Read stdin up to `limit` + 1 bytes; stop reading (and reject) as soon as it is over the limit. */
async function readStdinBounded(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      process.stdin.destroy();
      throw new LimitError('PAYLOAD_TOO_LARGE', `Payload exceeds the limit of ${limit} bytes`, { limit });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
