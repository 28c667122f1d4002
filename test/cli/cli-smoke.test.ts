import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');

describe('fleetwire CLI', () => {
  it('prints usage with --help and exits 0', () => {
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: fleetwire');
  });

  it('rejects an unknown command with a JSON error line', () => {
    const r = spawnSync(process.execPath, [bin, 'no-such-command'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(JSON.parse(r.stderr.split('\n')[0] ?? '')).toMatchObject({ error: 'USAGE' });
  });
});
