/**
 * CLI plumbing shared by the commands: argument parsing, stdin reading and the error contract
 * (exit status 2 and one JSON line `{"error","message"}` on stderr for rejected input).
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isFleetwireError } from '../core/errors.js';

/** Exit status for rejected input (typed error). */
export const EXIT_REJECTED = 2;
/** Exit status for usage errors. */
export const EXIT_USAGE = 64;

/** A usage error: wrong flags or arguments. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** Parse flags with node:util parseArgs, turning its errors into {@link UsageError}. */
export function parseFlags<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Read all of stdin (or a file when `path` is given) as bytes. */
export function readInput(path?: string): Buffer {
  if (path !== undefined) return readFileSync(path);
  return readFileSync(0);
}

/** Print one JSON line on stderr describing `e` and return the exit status to use. */
export function reportError(e: unknown): number {
  if (isFleetwireError(e)) {
    process.stderr.write(`${JSON.stringify({ error: e.code, message: e.message })}\n`);
    return EXIT_REJECTED;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`${JSON.stringify({ error: 'USAGE', message: e.message })}\n`);
    return EXIT_USAGE;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${JSON.stringify({ error: 'INTERNAL', message })}\n`);
  return 1;
}
