/**
 * `fleetwire conformance [DIR] [--verbose] [--filter TEXT]`: run the DBC conformance vectors (a DBC file,
 * frames, and a reference decoder's expected output with and without value-table names) through our
 * decoder and print per-vector and total agreement. Exit status 1 below 100%.
 *
 * DIR defaults to `../shared/conformance/dbc` next to the project, else `/work/shared/conformance/dbc`,
 * else the vendored copy in `test/fixtures/conformance/dbc`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compareLine } from '../../core/dbc/conformance.js';
import { compileDbc, parseDbc } from '../../core/dbc/index.js';
import { decodeFrameLines } from '../../core/dbc/jsonl.js';
import { parseFlags, UsageError } from '../io.js';

/** Result of one vector. */
export interface VectorResult {
  name: string;
  frames: number;
  framesOk: number;
  choicesOk: number;
  values: number;
  valuesOk: number;
  /** First few differences. */
  diffs: string[];
  /** Set when the DBC could not be loaded. */
  loadError?: string;
  /** Set when the DBC file came from the vendored copy. */
  note?: string;
}

/** Totals over a conformance directory. */
export interface ConformanceReport {
  dir: string;
  vectors: VectorResult[];
  frames: number;
  framesOk: number;
  values: number;
  valuesOk: number;
}

/** Walk up from `start` to the directory holding Fleetwire's package.json. */
function findRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'fleetwire') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The project root: from the CLI bundle's location (dist/), else from the working directory. */
function projectRoot(): string {
  const bundleDir = typeof __dirname === 'string' ? __dirname : undefined;
  return (bundleDir && findRoot(bundleDir)) || findRoot(process.cwd()) || process.cwd();
}

/** The default vector directory (see module doc). */
export function defaultConformanceDir(): string {
  const root = projectRoot();
  const candidates = [
    resolve(root, '../shared/conformance/dbc'),
    '/work/shared/conformance/dbc',
    resolve(root, 'test/fixtures/conformance/dbc'),
  ];
  return candidates.find((c) => existsSync(join(c, 'README.md')) || existsSync(c)) ?? candidates[2]!;
}

/** The vendored copy of the vectors (used to fill in files missing from another copy). */
function vendoredDir(): string {
  return resolve(projectRoot(), 'test/fixtures/conformance/dbc');
}

/** The DBC file of a vector; falls back to the vendored copy when a copy of the set lacks the file. */
function dbcPath(dir: string, rel: string): { path: string; note?: string } {
  const direct = join(dir, rel);
  if (existsSync(direct)) return { path: direct };
  const vendored = join(vendoredDir(), rel);
  if (existsSync(vendored))
    return { path: vendored, note: `${rel} missing in ${dir}; used the vendored copy` };
  return { path: direct };
}

function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines;
}

/** Run every vector (`*.meta.json`) in `dir`. */
export function runConformance(dir: string, filter?: string): ConformanceReport {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.meta.json'))
    .map((f) => f.slice(0, -'.meta.json'.length))
    .filter((n) => filter === undefined || n.includes(filter))
    .sort();
  const report: ConformanceReport = { dir, vectors: [], frames: 0, framesOk: 0, values: 0, valuesOk: 0 };
  for (const name of names) {
    const meta = JSON.parse(readFileSync(join(dir, `${name}.meta.json`), 'utf8')) as { dbc: string };
    const framesText = readFileSync(join(dir, `${name}.frames.jsonl`), 'utf8');
    const expected = readLines(join(dir, `${name}.expected.jsonl`));
    const expectedChoices = readLines(join(dir, `${name}.expected-choices.jsonl`));
    const r: VectorResult = {
      name,
      frames: expected.length,
      framesOk: 0,
      choicesOk: 0,
      values: 0,
      valuesOk: 0,
      diffs: [],
    };
    try {
      const file = dbcPath(dir, meta.dbc);
      if (file.note) r.note = file.note;
      const dbc = compileDbc(parseDbc(readFileSync(file.path)));
      for (const [choices, want] of [
        [false, expected],
        [true, expectedChoices],
      ] as const) {
        const out: string[] = [];
        decodeFrameLines(dbc, framesText, { choices }, (chunk) => out.push(chunk));
        const got = out.join('').split('\n');
        for (let k = 0; k < want.length; k++) {
          const c = compareLine(got[k] ?? '', want[k]!);
          if (!choices) {
            r.values += c.values;
            r.valuesOk += c.valuesOk;
          }
          if (c.ok) {
            if (choices) r.choicesOk++;
            else r.framesOk++;
          } else if (r.diffs.length < 5) {
            r.diffs.push(`${choices ? '[choices] ' : ''}line ${k + 1}: ${c.diff}`);
          }
        }
      }
    } catch (e) {
      r.loadError = e instanceof Error ? e.message : String(e);
    }
    report.vectors.push(r);
    report.frames += 2 * r.frames;
    report.framesOk += r.framesOk + r.choicesOk;
    report.values += r.values;
    report.valuesOk += r.valuesOk;
  }
  return report;
}

function pct(a: number, b: number): string {
  return b === 0 ? '100.00%' : `${((100 * a) / b).toFixed(2)}%`;
}

/** CLI entry. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { verbose: { type: 'boolean', short: 'v' }, filter: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length > 1)
    throw new UsageError('usage: fleetwire conformance [DIR] [--verbose] [--filter TEXT]');
  const dir = positionals[0] !== undefined ? resolve(positionals[0]) : defaultConformanceDir();
  if (!existsSync(dir)) throw new UsageError(`conformance directory not found: ${dir}`);
  const report = runConformance(dir, values.filter);
  if (report.vectors.length === 0) throw new UsageError(`no *.meta.json vectors in ${dir}`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines: string[] = [`DBC conformance: ${dir}`];
    for (const v of report.vectors) {
      const ok = v.framesOk === v.frames && v.choicesOk === v.frames && !v.loadError;
      lines.push(
        `${ok ? 'ok  ' : 'FAIL'} ${v.name.padEnd(60)} ${String(v.framesOk).padStart(4)}/${v.frames} frames, ${String(v.choicesOk).padStart(4)}/${v.frames} with choices`,
      );
      if (v.loadError) lines.push(`       load error: ${v.loadError}`);
      if (v.note) lines.push(`       note: ${v.note}`);
      if (!ok || values.verbose) for (const d of v.diffs) lines.push(`       ${d}`);
    }
    lines.push(
      `total: ${report.vectors.length} vectors, ${report.framesOk}/${report.frames} frame decodes agree (${pct(report.framesOk, report.frames)}), ${report.valuesOk}/${report.values} signal values (${pct(report.valuesOk, report.values)})`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.framesOk === report.frames && report.vectors.every((v) => !v.loadError) ? 0 : 1;
}
