/**
 * `fleetwire decode-frames --dbc FILE [--choices] [--j1939] [--encoding utf-8|cp1252] [--input FILE]`:
 * decode CAN frames given as JSON lines on stdin, one output line per input line, in order (format in
 * lambdas/core/dbc/jsonl.ts and docs/dbc.md). Reads input in one piece and writes output in large
 * chunks, so 200k frames take well under two seconds.
 */
import { readFileSync } from 'node:fs';
import { loadCompiledDbc } from '../../core/dbc/index.js';
import { decodeFrameLines } from '../../core/dbc/jsonl.js';
import { parseFlags, readInput, UsageError } from '../io.js';

const USAGE =
  'usage: fleetwire decode-frames --dbc FILE [--choices] [--j1939] [--encoding utf-8|cp1252] [--input FILE] < frames.jsonl';

/** Write a chunk to stdout, waiting for the pipe to drain when it is full. */
function writeOut(chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(chunk, (err) => {
      if (err) reject(err);
    });
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** CLI entry. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    dbc: { type: 'string' },
    choices: { type: 'boolean' },
    j1939: { type: 'boolean' },
    encoding: { type: 'string' },
    input: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.dbc === undefined) throw new UsageError(`--dbc is required\n${USAGE}`);
  const encoding = values.encoding;
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'cp1252') {
    throw new UsageError('--encoding must be utf-8 or cp1252');
  }
  const dbc = loadCompiledDbc(readFileSync(values.dbc), {
    j1939: values.j1939 === true,
    ...(encoding !== undefined ? { encoding } : {}),
  });
  const text = readInput(values.input).toString('utf8');
  // Chunks are handed to stdout as they are produced (as bytes, outside the JS heap); the final write
  // waits for the pipe to drain.
  let last: Promise<void> = Promise.resolve();
  decodeFrameLines(dbc, text, { choices: values.choices === true }, (c) => {
    last = writeOut(Buffer.from(c, 'utf8'));
  });
  await last;
  return 0;
}
