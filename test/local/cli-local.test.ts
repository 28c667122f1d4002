/** `fleetwire local` as a user runs it: a child process, the banner, local.json, Ctrl-C. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('fleetwire local', () => {
  it('starts, prints how to use it, serves /healthz and stops cleanly on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'local', '--dir', tmp.dir, '--port-mqtt', '0', '--port-http', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!out.includes('Stop: Ctrl-C') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('Fleetwire local stack is running');
    expect(out).toContain('curl');
    const config = JSON.parse(readFileSync(join(tmp.dir, 'local.json'), 'utf8'));
    expect(out).toContain(config.mqttUrl);
    const health = await fetch(`${config.apiUrl}/healthz`);
    expect(health.status).toBe(200);
    const devices = await fetch(`${config.apiUrl}/v1/devices`, {
      headers: { authorization: `Bearer ${config.apiToken}` },
    });
    expect(devices.status).toBe(200);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('stopped:');
  });

  it('explains a bad option', async () => {
    const child = spawn(process.execPath, [bin, 'local', '--port-mqtt', 'abc'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(64);
    expect(JSON.parse(err.split('\n')[0] ?? '')).toMatchObject({ error: 'USAGE' });
  });
});
