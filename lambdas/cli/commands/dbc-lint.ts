/**
 * `fleetwire dbc-lint FILE [--json]`: parse a DBC file and report its contents and problems (parse
 * warnings, signals beyond the message length, overlapping signals, duplicate ids, multiplexing that
 * cannot work). Exit status 0 when there is no error-level finding, 1 otherwise, 2 when unparsable.
 */
import { readFileSync } from 'node:fs';
import { parseDbc } from '../../core/dbc/index.js';
import { formatLintReport, lintDbc } from '../../core/dbc/lint.js';
import { parseFlags, UsageError } from '../io.js';

/** CLI entry. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UsageError('usage: fleetwire dbc-lint FILE [--json]');
  const file = positionals[0]!;
  const db = parseDbc(readFileSync(file));
  const report = lintDbc(db);
  if (values.json) process.stdout.write(`${JSON.stringify({ file, ...report }, null, 2)}\n`);
  else process.stdout.write(formatLintReport(file, report, db));
  return report.problems.some((p) => p.severity === 'error') ? 1 : 0;
}
