import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, loadCases } from '../codecs/golden.js';

const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawn the real CLI (the esbuild bundle `npm test` builds first) with `input` on stdin. */
function cli(args: string[], input: Uint8Array = new Uint8Array()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, 'decode', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - t0,
      }),
    );
    child.stdin.on('error', () => {}); // the CLI may stop reading an oversized payload early
    child.stdin.end(input);
  });
}

/** Run tasks with bounded concurrency (2-core machines). */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i] as T);
      }
    }),
  );
  return results;
}

const lines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const fixture = (format: string, name: string) => readFileSync(join(FIXTURES_DIR, format, name));
const expected = (format: string, name: string) =>
  JSON.parse(fixture(format, `${name}.expected.json`).toString('utf8')) as {
    points: unknown[];
    frames: unknown[];
  };

/** The contract for a rejected payload: status 2, nothing on stdout, one JSON line on stderr. */
function expectRejected(r: Run, code?: string): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const errLines = r.stderr.split('\n').filter((l) => l !== '');
  expect(errLines).toHaveLength(1);
  const err = JSON.parse(errLines[0] as string) as { error: string; message: string };
  expect(Object.keys(err).sort()).toEqual(['error', 'message']);
  if (code !== undefined) expect(err.error).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('fleetwire decode: the seed examples', () => {
  for (const name of ['seed', 'seed-compressed', 'seed-raw-gzip']) {
    const file = name === 'seed-raw-gzip' ? `${name}.json.gz` : `${name}.json`;
    it(`prints the points of the FlexConnect JSON ${name} example`, async () => {
      const r = await cli([], fixture('flexconnect-json', file));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(lines(r.stdout)).toEqual(expected('flexconnect-json', name).points);
      expect(r.stdout).not.toContain('provided_token');
    });
  }

  for (const name of ['seed', 'seed-compressed', 'seed-table-bus3-dlc13']) {
    it(`prints the frames of the FlexConnect binary ${name} example`, async () => {
      const r = await cli(['--input', join(FIXTURES_DIR, 'flexconnect-binary', `${name}.bin`)]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(lines(r.stdout)).toEqual(expected('flexconnect-binary', name).frames);
      expect(r.stdout).not.toContain('provided_token');
    });
  }

  it('prints frames in the documented shape with --frames and an explicit format', async () => {
    const r = await cli(
      ['--frames', '--format', 'flexconnect-binary'],
      fixture('flexconnect-binary', 'seed.bin'),
    );
    expect(r.status).toBe(0);
    expect(lines(r.stdout)[0]).toEqual({
      time: 1622547800000,
      bus: 1,
      id: 0x123,
      extended: false,
      dlc: 8,
      data: '0102030405060708',
    });
  });

  it('uses --device as the point device', async () => {
    const r = await cli(['--device', 'thing-42'], fixture('flexconnect-json', 'seed.json'));
    expect(r.status).toBe(0);
    expect(lines(r.stdout).map((p) => p.device)).toEqual(['thing-42']);
  });

  it('reports warnings on stderr as JSON lines and still exits 0', async () => {
    const r = await cli([], fixture('flexconnect-json', 'duplicate-field-last-wins.json'));
    expect(r.status).toBe(0);
    expect(lines(r.stderr)).toEqual([expect.objectContaining({ warning: 'DUPLICATE_FIELD', index: 0 })]);
    expect(lines(r.stdout)).toHaveLength(1);
  });
});

describe('fleetwire decode --dbc', () => {
  const dbc = join(import.meta.dirname, '../fixtures/cli/seed.dbc');
  const seedBin = () => fixture('flexconnect-binary', 'seed.bin');

  it('turns the seed binary example into signal points, warning about ids the DBC lacks', async () => {
    for (const file of ['seed.bin', 'seed-compressed.bin']) {
      const r = await cli(['--dbc', dbc, '--device', 'truck-1'], fixture('flexconnect-binary', file));
      expect(r.status).toBe(0);
      expect(lines(r.stdout)).toEqual([
        {
          device: 'truck-1',
          time: 1622547800000,
          tags: { bus: '1' },
          fields: { 'Engine.Rpm': 128.25, 'Engine.Temp': -37 },
        },
        {
          device: 'truck-1',
          time: 1622547800000,
          tags: { bus: '1' },
          fields: { 'Battery.Voltage': 480.42, 'Battery.Soc': 204 },
        },
      ]);
      expect(lines(r.stderr)).toEqual([expect.objectContaining({ warning: 'DBC_UNKNOWN_ID', index: 2 })]);
    }
  });

  it('still prints raw frames with --frames', async () => {
    const r = await cli(['--dbc', dbc, '--device', 'truck-1', '--frames'], seedBin());
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual(expected('flexconnect-binary', 'seed').frames);
  });

  it('needs a device identity to make points from frames', async () => {
    expectRejected(await cli(['--dbc', dbc], seedBin()), 'MISSING_CONTEXT');
  });

  it('rejects a file that is not a DBC with DBC_PARSE_ERROR', async () => {
    const notDbc = join(FIXTURES_DIR, 'flexconnect-binary', 'seed.bin');
    expectRejected(await cli(['--dbc', notDbc, '--device', 'x'], seedBin()), 'DBC_PARSE_ERROR');
  });
});

describe('fleetwire decode: rejected input', () => {
  // In-process golden tests check every malformed fixture's code; here each spawn costs ~100 ms, so CI
  // spawns one fixture per distinct error code (FLEETWIRE_CLI_ALL=1 spawns the whole set).
  const all = process.env.FLEETWIRE_CLI_ALL === '1';
  for (const format of ['flexconnect-json', 'flexconnect-binary'] as const) {
    it(`exits 2 with one JSON error line for ${all ? 'every' : 'each code of the'} malformed ${format} fixtures`, async () => {
      const cases = loadCases(format).filter((c) => c.error !== undefined);
      const seen = new Set<string>();
      const bad = all
        ? cases
        : cases.filter((c) => !seen.has(c.error as string) && seen.add(c.error as string));
      expect(bad.length).toBeGreaterThan(8);
      const runs = await pool(bad, 3, async (c) => ({ c, r: await cli(['--format', format], c.input) }));
      for (const { c, r } of runs) {
        try {
          expectRejected(r, c.error);
        } catch (e) {
          throw new Error(`${c.file}: ${(e as Error).message}\nstderr: ${r.stderr}`);
        }
      }
    });
  }

  it('never prints the token of a rejected payload', async () => {
    const token = 'SECRET-9f86d081884c7d659a2feaa0c55ad015';
    const r = await cli([], Buffer.from(JSON.stringify({ token, points: [{ timestamp: 5, fields: [] }] })));
    expectRejected(r, 'MISSING_CONTEXT');
    expect(r.stderr).not.toContain('SECRET');
  });

  it('answers random and oversized input within a second, never with a stack trace', async () => {
    const inputs = [
      randomBytes(100 * 1024),
      Buffer.concat([Buffer.of(0, 0, 0, 4), randomBytes(100 * 1024 - 4)]),
      Buffer.concat([Buffer.from('{"points":['), Buffer.alloc(100 * 1024 - 20, '[')]),
      randomBytes(300 * 1024),
      Buffer.of(0xfc, 0x1f, 0x8b),
    ];
    const runs = await pool(inputs, 1, (input) => cli([], input));
    for (const r of runs) {
      expect([0, 2]).toContain(r.status);
      if (r.status === 2) expectRejected(r);
      // The promise is one second on an idle machine (a spawn takes ~100 ms there); the bound here is
      // looser so a loaded 2-core CI box does not flake, and still catches pathological slowness.
      expect(r.ms).toBeLessThan(3000);
    }
  });

  it('treats bad flags as usage errors (exit 64)', async () => {
    for (const args of [
      ['--format', 'xml'],
      ['--time', 'yesterday'],
      ['--nope'],
      ['--input', '/no/such/file'],
    ]) {
      const r = await cli(args);
      expect(r.status, args.join(' ')).toBe(64);
      expect(lines(r.stderr)).toEqual([expect.objectContaining({ error: 'USAGE' })]);
    }
  });

  it('prints help', async () => {
    const r = await cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--dbc FILE');
  });
});
