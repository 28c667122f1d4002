/**
 * `npm run load`: the local stack under load, on loopback (not part of `npm test`).
 *
 * 100 simulated devices × 20 messages/s × 30 s (flags change it) publish over MQTT/TLS (QoS 1) to a local
 * stack running in a child process (`fleetwire local`, its own core), and the run reports:
 *
 * - delivered vs stored: points in messages the broker acknowledged (PUBACK) against points stored, counted
 *   through the API (every device's telemetry, paged) and in the SQLite store; they must be equal;
 * - publish-to-queryable latency, p50/p99/max, for every point: a read-only SQLite connection polls each
 *   device's newest rows every 10 ms (index seeks, cheap) and notes when each point became visible;
 *   an API sampler (a few devices polled over HTTP) confirms the figure through the public surface;
 * - the sustained rate: published and stored points per second, and the slowest 1-second window;
 * - CPU time of the stack process and of the simulator, and the router's queue high-water mark, so a
 *   bottleneck shows where it is.
 *
 * Flags: --devices N --rate R --duration S --format F --points N --seed N --keep (keep the state dir)
 * --profile DIR (V8 CPU profile of the stack process) --json (machine-readable result on stdout).
 * Exit status 1 when delivered ≠ stored.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { loadCompiledDbc } from '../lambdas/core/dbc/index.js';
import type { PayloadFormat } from '../lambdas/core/model/point.js';
import { FleetwireApi } from '../lambdas/sim/api-client.js';
import { CanTraffic } from '../lambdas/sim/can.js';
import { type CachedDevice, cacheDir, provisionDevice } from '../lambdas/sim/credentials.js';
import { DEMO_DBC, DEMO_DBC_NAME } from '../lambdas/sim/demo-dbc.js';
import { RECEIVE_TIME_FORMATS } from '../lambdas/sim/generators.js';
import { runSimulation, type SimDeviceSpec } from '../lambdas/sim/runner.js';

const { values: flags } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '30' },
    format: { type: 'string', default: 'flexconnect-json' },
    points: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(flags.devices);
const RATE = Number(flags.rate);
const DURATION = Number(flags.duration);
const POINTS = Number(flags.points);
const FORMAT = flags.format as PayloadFormat;
if (RECEIVE_TIME_FORMATS.includes(FORMAT))
  throw new Error(`${FORMAT} points carry no send time; pick a timestamped format`);
const TENANT = 'local';
const log = (s: string) => process.stderr.write(`${s}\n`);

/** CPU seconds (user + system) of a process, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function startStack(dir: string): Promise<{ child: ChildProcess; config: Record<string, unknown> }> {
  const bin = join(import.meta.dirname, '../bin/fleetwire.cjs');
  // --profile DIR: a V8 CPU profile of the stack process (written when it stops), to find the bottleneck.
  const prof = flags.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${flags.profile}`] : [];
  const child = spawn(
    process.execPath,
    [...prof, bin, 'local', '--dir', dir, '--port-mqtt', '0', '--port-http', '0'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c) => {
    stderr += c;
  });
  const cfgPath = join(dir, 'local.json');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`stack exited: ${stderr}`);
    if (existsSync(cfgPath)) {
      const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
      if (config.pid === child.pid) return { child, config };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`stack did not start: ${stderr}`);
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fw-load-'));
  const { child, config } = await startStack(dir);
  const stackPid = child.pid as number;
  try {
    const api = new FleetwireApi(config.apiUrl as string, config.apiToken as string);
    const cache = cacheDir(dir, api.url);
    log(`stack pid ${stackPid}: ${config.apiUrl}, ${config.mqttUrl}; provisioning ${DEVICES} devices…`);
    const t0 = Date.now();
    const ids = Array.from({ length: DEVICES }, (_, i) => `load-${String(i + 1).padStart(4, '0')}`);
    const creds: CachedDevice[] = [];
    for (let i = 0; i < ids.length; i += 8) {
      creds.push(
        ...(await Promise.all(
          ids.slice(i, i + 8).map(async (id) => (await provisionDevice(api, cache, id)).device),
        )),
      );
    }
    let can: CanTraffic | undefined;
    if (FORMAT === 'flexconnect-binary') {
      const file = await api.ensureDbc(DEMO_DBC_NAME, Buffer.from(DEMO_DBC));
      for (const id of ids) await api.assignDbc(id, file.fileId);
      can = new CanTraffic(loadCompiledDbc(Buffer.from(DEMO_DBC)), undefined);
    }
    log(`provisioned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const specs: SimDeviceSpec[] = creds.map((c) => ({
      deviceId: c.deviceId,
      host: config.mqttHost as string,
      port: config.mqttPort as number,
      certificatePem: c.certificatePem,
      privateKey: c.privateKey,
      caPem: config.caPem as string,
      topic: c.topics.telemetry[FORMAT] as string,
      ...(c.token !== undefined ? { token: c.token } : {}),
    }));

    // --- store-side observer: when does each point become queryable? ---
    const db = new Database(config.database as string, { readonly: true });
    db.pragma('busy_timeout = 5000');
    const newer = db.prepare(
      'SELECT DISTINCT time FROM telemetry WHERE tenant = ? AND device = ? AND time > ? ORDER BY time',
    );
    const lastSeen = new Map<string, number>(ids.map((id) => [id, 0]));
    const latencies: number[] = [];
    const perSecond = new Map<number, number>();
    let observed = 0;
    let lastStoredAt = 0;
    let firstSentAt = 0;
    const poll = () => {
      for (const id of ids) {
        const rows = newer.all(TENANT, id, lastSeen.get(id) as number) as { time: number }[];
        if (rows.length === 0) continue;
        const at = Date.now();
        for (const r of rows) {
          latencies.push(at - r.time);
          observed++;
        }
        const sec = Math.floor(at / 1000);
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + rows.length);
        lastStoredAt = at;
        lastSeen.set(id, (rows[rows.length - 1] as { time: number }).time);
      }
    };
    const poller = setInterval(poll, 10);

    // --- API sampler: the same latency through the public surface, for a few devices ---
    const sampled = ids.filter((_, i) => i % Math.max(1, Math.floor(DEVICES / 5)) === 0).slice(0, 5);
    const apiLatencies: number[] = [];
    let sampling = true;
    const samplers = sampled.map(async (id) => {
      let since = Date.now() - 1000;
      while (sampling) {
        try {
          const q = new URLSearchParams({
            from: String(since + 1),
            to: String(Date.now() + 3_600_000),
            limit: '1000',
          });
          const page = (await api.call<{ points: { time: string }[] }>(
            'GET',
            `/v1/devices/${id}/telemetry?${q}`,
          )) as {
            points: { time: string }[];
          };
          const at = Date.now();
          for (const p of page.points) {
            const t = Date.parse(p.time);
            apiLatencies.push(at - t);
            if (t > since) since = t;
          }
        } catch {
          // The sampler is best effort; the counts below are what must hold.
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    // --- the run ---
    const load0 = loadavg().map((x) => Math.round(x * 100) / 100);
    const stackCpu0 = cpuSeconds(stackPid);
    const simCpu0 = process.cpuUsage();
    let delivered = 0;
    const pubackLatencies: number[] = [];
    log(
      `publishing: ${DEVICES} devices × ${RATE} msg/s × ${DURATION} s, ${FORMAT}, ${POINTS} point(s)/message, QoS 1`,
    );
    const summary = await runSimulation({
      devices: specs,
      format: FORMAT,
      rate: RATE,
      durationSeconds: DURATION,
      pointsPerMessage: POINTS,
      seed: Number(flags.seed),
      respond: false,
      qos: 1,
      drainMs: 300_000, // let a slow stack finish: every message is acknowledged or counted as an error
      ...(can ? { can } : {}),
      progressIntervalMs: 5000,
      onProgress: (p) =>
        log(
          `  ${(p.elapsedMs / 1000).toFixed(0).padStart(3)} s  ${p.phase.padEnd(10)} sent ${p.sent}  acked ${p.acked}  errors ${p.errors}  ${Math.round(p.currentRate)} msg/s  stored ${observed}`,
        ),
      onPublished: (_id, msg, r) => {
        if (!firstSentAt || r.sentAt < firstSentAt) firstSentAt = r.sentAt;
        if (r.ok) {
          delivered += msg.points;
          pubackLatencies.push(r.ackedAt - r.sentAt);
        }
      },
    });
    // Wait for the stack to finish what it acknowledged.
    const drainStart = Date.now();
    while (observed < delivered && Date.now() - drainStart < 300_000)
      await new Promise((r) => setTimeout(r, 50));
    poll();
    clearInterval(poller);
    sampling = false;
    await Promise.all(samplers);
    const stackCpu = (cpuSeconds(stackPid) ?? Number.NaN) - (stackCpu0 ?? Number.NaN);
    const simUsage = process.cpuUsage(simCpu0);
    const simCpu = (simUsage.user + simUsage.system) / 1e6;

    // --- counts: through the API and in the store ---
    let storedApi = 0;
    const short: string[] = [];
    for (const id of ids) {
      const pts = await api.telemetry(id, firstSentAt - 60_000, Date.now() + 60_000);
      storedApi += pts.length;
      if (pts.length !== DURATION * RATE * POINTS) short.push(`${id}: ${pts.length}`);
    }
    const storedSql = (
      db
        .prepare('SELECT COUNT(*) AS n FROM (SELECT DISTINCT device, time FROM telemetry WHERE tenant = ?)')
        .get(TENANT) as { n: number }
    ).n;
    const rows = (
      db.prepare('SELECT COUNT(*) AS n FROM telemetry WHERE tenant = ?').get(TENANT) as { n: number }
    ).n;
    db.close();
    const health = (await (await fetch(`${config.apiUrl as string}/healthz`)).json()) as {
      router?: {
        maxQueued?: number;
        overflow?: number;
        deadLettered?: number;
        failed?: number;
        retried?: number;
      };
      deadLetters?: unknown;
    };

    latencies.sort((a, b) => a - b);
    pubackLatencies.sort((a, b) => a - b);
    apiLatencies.sort((a, b) => a - b);
    const seconds = [...perSecond.entries()].sort((a, b) => a[0] - b[0]);
    const steady = seconds.slice(1, -1).map(([, n]) => n);
    const ingestSeconds = (lastStoredAt - firstSentAt) / 1000;
    const result = {
      config: {
        devices: DEVICES,
        rate: RATE,
        durationSeconds: DURATION,
        format: FORMAT,
        pointsPerMessage: POINTS,
        qos: 1,
      },
      published: {
        messages: summary.sent,
        acknowledged: summary.acknowledged,
        errors: summary.errors,
        points: summary.points,
      },
      delivered,
      stored: { api: storedApi, store: storedSql, rows },
      equal: delivered === storedApi && storedApi === storedSql,
      latencyMs: {
        store: {
          samples: latencies.length,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: latencies.at(-1) ?? Number.NaN,
          resolutionMs: 10,
        },
        puback: { p50: percentile(pubackLatencies, 50), p99: percentile(pubackLatencies, 99) },
        api: {
          devices: sampled.length,
          samples: apiLatencies.length,
          p50: percentile(apiLatencies, 50),
          p99: percentile(apiLatencies, 99),
          resolutionMs: 100,
        },
      },
      rate: {
        publishMsgPerSec: summary.rate,
        publishSeconds: summary.durationSeconds,
        storedPointsPerSec: Math.round((storedSql / ingestSeconds) * 10) / 10,
        ingestSeconds: Math.round(ingestSeconds * 100) / 100,
        slowestSecond: steady.length > 0 ? Math.min(...steady) : Number.NaN,
        fastestSecond: steady.length > 0 ? Math.max(...steady) : Number.NaN,
      },
      cpuSeconds: { stack: Math.round(stackCpu * 100) / 100, simulator: Math.round(simCpu * 100) / 100 },
      loadAverage: { before: load0, after: loadavg().map((x) => Math.round(x * 100) / 100) },
      router: health.router,
      deadLetters: health.deadLetters,
      devicesShort: short.slice(0, 10),
    };

    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const l = result.latencyMs;
      const lines = [
        '',
        `load: ${DEVICES} devices × ${RATE} msg/s × ${DURATION} s, ${FORMAT}, QoS 1, stack in a child process (loopback)`,
        `  published     ${summary.sent} messages, ${summary.acknowledged} acknowledged (PUBACK), ${summary.errors} errors, ${summary.rate} msg/s over ${summary.durationSeconds} s`,
        `  delivered     ${delivered} points (in acknowledged messages)`,
        `  stored        ${storedApi} points through the API, ${storedSql} in the store (${rows} field rows) → ${result.equal ? 'EQUAL' : 'MISMATCH'}`,
        `  latency       publish→queryable p50 ${l.store.p50} ms, p99 ${l.store.p99} ms, max ${l.store.max} ms (store poll every 10 ms, ${l.store.samples} points)`,
        `                publish→PUBACK p50 ${l.puback.p50} ms, p99 ${l.puback.p99} ms`,
        `                via the API (${l.api.devices} devices, 100 ms polls, ${l.api.samples} points): p50 ${l.api.p50} ms, p99 ${l.api.p99} ms`,
        `  sustained     ${result.rate.storedPointsPerSec} points/s stored over ${result.rate.ingestSeconds} s (1-s windows: ${result.rate.slowestSecond}…${result.rate.fastestSecond})`,
        `  cpu           stack ${result.cpuSeconds.stack} s, simulator ${result.cpuSeconds.simulator} s (of ${Math.round(ingestSeconds)} s wall, 2 cores)`,
        `  machine       load average ${load0[0]} before, ${result.loadAverage.after[0]} after (1 min; other work on this host competes for the 2 cores)`,
        `  router        ${JSON.stringify(health.router)}`,
        `  dead letters  ${JSON.stringify(health.deadLetters)}`,
        ...(short.length > 0 ? [`  short devices ${short.slice(0, 10).join(', ')}`] : []),
        '',
      ];
      process.stdout.write(lines.join('\n'));
    }
    return result.equal ? 0 : 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(
        () => {
          child.kill('SIGKILL');
          r(undefined);
        },
        flags.profile !== undefined ? 120_000 : 15_000,
      ); // writing a CPU profile takes a while
      child.once('exit', (code, signal) => {
        clearTimeout(t);
        if (code !== 0) log(`stack exited with ${code ?? signal}`);
        r(undefined);
      });
    });
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else log(`state kept in ${dir}`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`load test failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
