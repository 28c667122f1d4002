/** `fleetwire simulate` argument handling: help, and usage errors (exit 64, one JSON line) before any work. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../lambdas/cli/commands/simulate.js';
import { UsageError } from '../../lambdas/cli/io.js';

const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');
const empty = mkdtempSync(join(tmpdir(), 'fw-sim-cli-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('fleetwire simulate (arguments)', () => {
  it('prints help, and reports usage errors as exit 64 with one JSON line', () => {
    const help = spawnSync(process.execPath, [bin, 'simulate', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: fleetwire simulate');
    expect(help.stdout).toContain('--fail-rate');
    const bad = spawnSync(process.execPath, [bin, 'simulate', '--format', 'xml'], { encoding: 'utf8' });
    expect(bad.status).toBe(64);
    expect(JSON.parse(bad.stderr.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      error: 'USAGE',
      message: expect.stringMatching(/--format must be one of/),
    });
  });

  it.each([
    [['--rate', '5000'], /--rate must be/],
    [['--format', 'dialtone', '--rate', '5'], /whole seconds/],
    [['--format', 'ems', '--points', '3'], /one point each/],
    [['--dbc', 'x.dbc'], /flexconnect-binary/],
    [['--cert', 'c.pem', '--device', 'd1'], /direct mode needs/],
    [['--mqtt', '6'], /3\.1\.1 or 5/],
    [['--qos', '2'], /--qos must be/],
    [['--count', '0'], /--count must be/],
    [['--script', join(empty, 'missing.json')], /cannot read script/],
    [['--no-such-flag'], /Unknown option/],
    [[], /no API to provision through/],
  ])('refuses %j before any work', async (args, message) => {
    const saved = process.env.FLEETWIRE_API_TOKEN;
    delete process.env.FLEETWIRE_API_TOKEN;
    try {
      await expect(run(['--state-dir', empty, ...args])).rejects.toSatisfy(
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    } finally {
      if (saved !== undefined) process.env.FLEETWIRE_API_TOKEN = saved;
    }
  });
});
