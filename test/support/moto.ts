/**
 * moto_server for AWS adapter tests: one server per test file on a free port, started in `beforeAll` and
 * stopped in `afterAll`. If `moto_server` is not installed the suite fails with an install hint rather
 * than skipping, so a green run always means the adapters were exercised.
 *
 * ```ts
 * let moto: MotoServer;
 * beforeAll(async () => { moto = await startMoto(); useMotoEnv(moto); });
 * afterAll(() => moto.stop());
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The install hint shown when moto_server is missing. */
export const MOTO_INSTALL_HINT = 'moto_server not found: install it with `pip install "moto[server]"`';

/** A running moto_server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Everything moto holds (`GET /moto-api/data.json`): service → model → instances. */
  data(): Promise<Record<string, Record<string, unknown[]>>>;
  /** Forget all state (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stop the server and wait for it to exit. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `moto_server exited early (code ${code}, signal ${signal})`;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(exited);
    try {
      const res = await fetch(`${url}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not become ready within ${timeoutMs} ms`);
}

/** Start moto_server on a free port and wait until it answers. */
export async function startMoto(opts: { timeoutMs?: number } = {}): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
  if (spawned) {
    throw new Error(
      (spawned as NodeJS.ErrnoException).code === 'ENOENT' ? MOTO_INSTALL_HINT : spawned.message,
    );
  }
  try {
    await waitReady(url, child, opts.timeoutMs ?? 20_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return {
    url,
    port,
    async data() {
      const res = await fetch(`${url}/moto-api/data.json`);
      return (await res.json()) as Record<string, Record<string, unknown[]>>;
    },
    async reset() {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

/** Environment that points every AWS SDK client at `moto` with dummy credentials. */
export function motoEnv(moto: Pick<MotoServer, 'url'>): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: moto.url,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

/** Apply {@link motoEnv} to `process.env` (vitest runs each test file in its own worker). */
export function useMotoEnv(moto: Pick<MotoServer, 'url'>): void {
  Object.assign(process.env, motoEnv(moto));
  // Never let a developer's shell profile or config redirect the tests.
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
}
