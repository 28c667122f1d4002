/**
 * `npm run fuzz [-- format…]`: fuzz every codec (or the named ones) through `decodePayload`.
 *
 * Environment:
 *   FUZZ_RUNS        cases per codec (default 100000); each case is decoded with the explicit format
 *                    and with `auto`
 *   FUZZ_SEED        run seed (default: random, printed); with FUZZ_CASE=<index> replays one case
 *   FUZZ_JOBS        codecs fuzzed in parallel (default 2)
 *   FUZZ_CASE_MS     a decode slower than this fails (default 1000)
 *   FUZZ_TIMEOUT_MS  a case still running after this is a hang: its worker is stopped (default 10000)
 *
 * Each codec runs in a worker thread whose current case index sits in shared memory, so a hang is
 * stopped and reported with the exact case to replay. Exits 1 on any failure.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../../lambdas/core/model/point.js';
import { type FuzzFailure, type FuzzReport, fuzzFormat } from './fuzz.js';

interface Job {
  format: PayloadFormat;
  runs: number;
  seed: number;
  only?: number;
  caseMs: number;
  current: Int32Array;
}

type WorkerMessage = { type: 'progress'; done: number } | { type: 'report'; report: FuzzReport };

function env(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
}

function runWorker(job: Job, timeoutMs: number): Promise<FuzzReport> {
  const url = new URL(import.meta.url).href;
  // Workers do not inherit the tsx loader: register it, then load this module as the worker.
  const worker = new Worker(
    `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`,
    { eval: true, workerData: job },
  );
  return new Promise((resolve, reject) => {
    let last = -1;
    let since = Date.now();
    const started = Date.now();
    const watchdog = setInterval(() => {
      const now = Atomics.load(job.current, 0);
      if (now !== last) {
        last = now;
        since = Date.now();
        return;
      }
      if (Date.now() - since > timeoutMs) {
        clearInterval(watchdog);
        void worker.terminate();
        const failure: FuzzFailure = {
          format: job.format,
          selector: job.format,
          seed: job.seed,
          index: now,
          kind: 'random',
          problem: `timeout: case still running after ${timeoutMs} ms`,
          inputHex: '',
        };
        resolve({
          format: job.format,
          cases: now,
          accepted: 0,
          rejected: {},
          slowestMs: Date.now() - since,
          slowestIndex: now,
          failures: [failure],
        });
      }
    }, 250);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') {
        const rate = Math.round(m.done / ((Date.now() - started) / 1000));
        process.stderr.write(`  ${job.format}: ${m.done}/${job.runs} (${rate}/s)\r`);
      } else {
        clearInterval(watchdog);
        resolve(m.report);
      }
    });
    worker.on('error', (e) => {
      clearInterval(watchdog);
      reject(e);
    });
  });
}

function printReport(r: FuzzReport, ms: number): void {
  const rejected = Object.entries(r.rejected)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  console.log(
    `${r.format.padEnd(20)} ${String(r.cases).padStart(8)} cases  ${String(r.accepted).padStart(7)} accepted  slowest ${r.slowestMs.toFixed(1)} ms (case ${r.slowestIndex})  ${(ms / 1000).toFixed(1)} s`,
  );
  if (rejected) console.log(`${''.padEnd(20)} rejected: ${rejected}`);
  for (const f of r.failures) {
    console.log(`  FAIL [${f.selector}] case ${f.index} (${f.kind}): ${f.problem}`);
    if (f.inputHex) console.log(`    input (hex, first 512 bytes): ${f.inputHex}`);
    console.log(`    replay: FUZZ_SEED=${f.seed} FUZZ_CASE=${f.index} npm run fuzz -- ${f.format}`);
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  for (const a of args) {
    if (!(PAYLOAD_FORMATS as readonly string[]).includes(a)) {
      console.error(`unknown format "${a}"; expected some of ${PAYLOAD_FORMATS.join(', ')}`);
      return 64;
    }
  }
  const formats = (args.length > 0 ? args : [...PAYLOAD_FORMATS]) as PayloadFormat[];
  const runs = env('FUZZ_RUNS', 100_000);
  const seed = env('FUZZ_SEED', Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const onlyRaw = process.env.FUZZ_CASE;
  const only = onlyRaw === undefined || onlyRaw === '' ? undefined : env('FUZZ_CASE', 0);
  const jobs = Math.max(1, env('FUZZ_JOBS', 2));
  const caseMs = env('FUZZ_CASE_MS', 1000);
  const timeoutMs = env('FUZZ_TIMEOUT_MS', 10_000);
  console.log(
    `fuzz: ${only === undefined ? `${runs} cases` : `case ${only}`} per codec, seed ${seed}, ${jobs} job(s)`,
  );

  const queue = [...formats];
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let format = queue.shift(); format !== undefined; format = queue.shift()) {
        const t0 = Date.now();
        const current = new Int32Array(new SharedArrayBuffer(4));
        const report = await runWorker({ format, runs, seed, only, caseMs, current }, timeoutMs);
        printReport(report, Date.now() - t0);
        if (report.failures.length > 0) failed = true;
      }
    }),
  );
  console.log(failed ? 'fuzz: FAILED' : 'fuzz: ok');
  return failed ? 1 : 0;
}

if (isMainThread) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
} else {
  const job = workerData as Job;
  const report = fuzzFormat(job.format, {
    runs: job.runs,
    seed: job.seed,
    only: job.only,
    caseMs: job.caseMs,
    current: job.current,
    onProgress: (done) => parentPort?.postMessage({ type: 'progress', done } satisfies WorkerMessage),
  });
  parentPort?.postMessage({ type: 'report', report } satisfies WorkerMessage);
}
