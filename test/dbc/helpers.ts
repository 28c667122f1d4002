/** Shared helpers for the DBC tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CompiledDbc, compileDbc, parseDbc } from '../../lambdas/core/dbc/index.js';

/** Path of a hand-written DBC fixture. */
export function fixturePath(name: string): string {
  return join(import.meta.dirname, '../fixtures/dbc', name);
}

/** Bytes of a fixture. */
export function fixture(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

/** Parse + compile a fixture. */
export function compileFixture(
  name: string,
  opts: { j1939?: boolean; generate?: boolean } = {},
): CompiledDbc {
  return compileDbc(parseDbc(fixture(name)), opts);
}

/** Hex → bytes. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}
