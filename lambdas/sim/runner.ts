/**
 * The simulation run: connect every device (a few at a time, so TLS handshakes do not stampede), publish
 * at `rate` messages per second per device until each has sent its quota (`count`, or `rate × duration`),
 * answer commands throughout, then wait for the outstanding PUBACKs and command answers, disconnect and
 * sum up. One scheduler tick drives every device: each device's quota so far follows from the elapsed
 * time (start times staggered across the first period), so timer jitter never changes the total or the
 * average rate.
 */
import type { PayloadFormat } from '../core/model/point.js';
import type { CanTraffic } from './can.js';
import { type ConnectOptions, type DeviceEndpoint, type PublishResult, SimDevice } from './device.js';
import { type GeneratedMessage, MessageGenerator } from './generators.js';
import { CommandResponder } from './responder.js';
import { createRng } from './rng.js';
import type { SimScript } from './script.js';

/** A device to simulate: where it connects and the payload token it carries. */
export interface SimDeviceSpec extends DeviceEndpoint {
  token?: string;
}

/** Options of {@link runSimulation}. */
export interface SimulationOptions extends ConnectOptions {
  devices: readonly SimDeviceSpec[];
  format: PayloadFormat;
  compress?: boolean;
  /** Messages per second per device (0 = send nothing, only stay connected and answer commands). */
  rate: number;
  /** Messages per device. With `durationSeconds` only, `round(rate × duration)`. */
  count?: number;
  /** How long to send (or, at rate 0, to stay connected), seconds. */
  durationSeconds?: number;
  pointsPerMessage?: number;
  can?: CanTraffic;
  script?: SimScript;
  /** Seed of all random values. @default 1 */
  seed?: number;
  /** Answer commands. @default true */
  respond?: boolean;
  ackDelayMs?: number;
  resultDelayMs?: number;
  failRate?: number;
  /** Devices connecting at once. @default 16 */
  connectConcurrency?: number;
  /** How long to wait for PUBACKs and command answers after the last message, ms. @default 10000 */
  drainMs?: number;
  /** Progress callback and its period, ms. @default 1000 */
  onProgress?: (p: SimulationProgress) => void;
  progressIntervalMs?: number;
  /** Called once every device is connected and subscribed, before the first message (e.g. to send commands). */
  onReady?: (connected: readonly string[]) => Promise<void>;
  /** Called for every message published, with how it ended. */
  onPublished?: (device: string, msg: GeneratedMessage, result: PublishResult) => void;
  /** Stops the run early (Ctrl-C): the summary covers what was sent. */
  signal?: AbortSignal;
  now?: () => number;
}

/** Live counters. */
export interface SimulationProgress {
  phase: 'connecting' | 'running' | 'draining' | 'done';
  elapsedMs: number;
  devices: number;
  connected: number;
  sent: number;
  acked: number;
  errors: number;
  points: number;
  /** Messages per second over the last progress period. */
  currentRate: number;
  /** Total messages the run will send (undefined at rate 0). */
  target?: number;
  commands: { received: number; succeeded: number; failed: number };
}

/** The summary of a run. */
export interface SimulationSummary {
  format: PayloadFormat;
  compress: boolean;
  qos: 0 | 1;
  devices: { requested: number; connected: number; failed: number };
  /** Messages published. */
  sent: number;
  /** Of those, acknowledged by the broker (PUBACK; with QoS 0, written to the socket). */
  acknowledged: number;
  /** Publishes that failed plus devices that could not connect. */
  errors: number;
  /** Points carried by the published messages. */
  points: number;
  /** Seconds from the first to the last publish. */
  durationSeconds: number;
  /** Messages per second over that time (all devices). */
  rate: number;
  reconnects: number;
  commands: { received: number; acknowledged: number; succeeded: number; failed: number; rejected: number };
  /** A few error texts. */
  errorSamples: string[];
  /** True when the run was stopped early. */
  aborted: boolean;
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
}

/** Run a simulation to the end and return its summary. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationSummary> {
  const now = opts.now ?? Date.now;
  const started = now();
  const rng = createRng(opts.seed ?? 1);
  const qos = opts.qos ?? 1;
  if (!(opts.rate >= 0) || !Number.isFinite(opts.rate))
    throw new RangeError('rate must be a finite number ≥ 0');
  const quota =
    opts.rate === 0 ? 0 : (opts.count ?? Math.max(1, Math.round(opts.rate * (opts.durationSeconds ?? 10))));

  const sims = opts.devices.map((spec, i) => {
    const generator = new MessageGenerator({
      format: opts.format,
      deviceId: spec.deviceId,
      ...(spec.token !== undefined ? { token: spec.token } : {}),
      compress: opts.compress === true,
      pointsPerMessage: opts.pointsPerMessage ?? 1,
      rng: rng.fork(i),
      ...(opts.can ? { can: opts.can } : {}),
      ...(opts.script ? { script: opts.script } : {}),
    });
    const responder =
      opts.respond === false
        ? undefined
        : new CommandResponder(generator.state, {
            rng: rng.fork(1_000_000 + i),
            ...(opts.ackDelayMs !== undefined ? { ackDelayMs: opts.ackDelayMs } : {}),
            ...(opts.resultDelayMs !== undefined ? { resultDelayMs: opts.resultDelayMs } : {}),
            ...(opts.failRate !== undefined ? { failRate: opts.failRate } : {}),
            ...(opts.script ? { script: opts.script } : {}),
          });
    const endpoint: DeviceEndpoint = opts.respond === false ? { ...spec, commands: undefined } : spec;
    return {
      spec,
      generator,
      device: new SimDevice(endpoint, opts, responder, now),
      sent: 0,
      up: false,
      done: false,
    };
  });

  let phase: SimulationProgress['phase'] = 'connecting';
  let aborted = false;
  const connectErrors: string[] = [];
  let lastSent = 0;
  let lastTick = started;
  let sendStart = 0;
  let sendEnd = 0;

  const totals = () => {
    const t = {
      sent: 0,
      acked: 0,
      errors: 0,
      points: 0,
      received: 0,
      acknowledged: 0,
      succeeded: 0,
      failed: 0,
      rejected: 0,
      reconnects: 0,
    };
    for (const s of sims) {
      const c = s.device.counters;
      t.sent += c.sent;
      t.acked += c.acked;
      t.errors += c.errors;
      t.points += c.points;
      t.received += c.commandsReceived;
      t.acknowledged += c.commandsAcked;
      t.succeeded += c.commandsSucceeded;
      t.failed += c.commandsFailed;
      t.rejected += c.commandsRejected;
      t.reconnects += c.reconnects;
    }
    return t;
  };
  const progress = (): SimulationProgress => {
    const t = totals();
    const at = now();
    const rate = at > lastTick ? ((t.sent - lastSent) * 1000) / (at - lastTick) : 0;
    lastSent = t.sent;
    lastTick = at;
    return {
      phase,
      elapsedMs: at - started,
      devices: sims.length,
      connected: sims.filter((s) => s.device.connected).length,
      sent: t.sent,
      acked: t.acked,
      errors: t.errors + connectErrors.length,
      points: t.points,
      currentRate: rate,
      ...(quota > 0 ? { target: quota * sims.length } : {}),
      commands: { received: t.received, succeeded: t.succeeded, failed: t.failed },
    };
  };
  const progressTimer = opts.onProgress
    ? setInterval(() => opts.onProgress?.(progress()), opts.progressIntervalMs ?? 1000)
    : undefined;
  const stopped = () => opts.signal?.aborted === true;

  try {
    // --- connect ---
    await pool(sims, opts.connectConcurrency ?? 16, async (s) => {
      if (stopped()) return;
      try {
        await s.device.connect();
        s.up = true;
      } catch (e) {
        connectErrors.push(`${s.spec.deviceId}: ${(e as Error).message}`);
      }
    });
    const live = sims.filter((s) => s.up);
    if (opts.onReady && live.length > 0 && !stopped()) await opts.onReady(live.map((s) => s.spec.deviceId));

    // --- send ---
    phase = 'running';
    sendStart = now();
    if (live.length > 0 && !stopped()) {
      await new Promise<void>((resolve) => {
        const periodMs = opts.rate > 0 ? 1000 / opts.rate : 0;
        const tickMs = periodMs > 0 ? Math.max(2, Math.min(50, periodMs / 4)) : 100;
        const windowMs = (opts.durationSeconds ?? 0) * 1000;
        const finish = () => {
          clearInterval(timer);
          opts.signal?.removeEventListener('abort', finish);
          resolve();
        };
        const tick = () => {
          if (stopped()) {
            aborted = true;
            finish();
            return;
          }
          const elapsed = now() - sendStart;
          if (quota === 0 || (opts.count !== undefined && windowMs > 0 && elapsed >= windowMs)) {
            // Rate 0 stays connected for the window; with both --count and --duration the first limit wins.
            if (elapsed >= windowMs) {
              finish();
              return;
            }
            if (quota === 0) return;
          }
          let open = 0;
          live.forEach((s, i) => {
            if (s.done) return;
            // Device i starts i/N of a period late, so the devices' messages interleave evenly.
            const phaseMs = (periodMs * i) / live.length;
            const due = Math.min(quota, Math.floor(Math.max(0, elapsed - phaseMs) / periodMs) + 1);
            while (s.sent < due) {
              const msg = nextMessage(s, now());
              if (!msg) {
                s.done = true;
                break;
              }
              s.sent++;
              s.device.publish(
                msg,
                opts.onPublished ? (r) => opts.onPublished?.(s.spec.deviceId, msg, r) : undefined,
              );
            }
            if (s.sent >= quota) s.done = true;
            if (!s.done) open++;
          });
          if (open === 0) finish();
        };
        const timer = setInterval(tick, tickMs);
        opts.signal?.addEventListener('abort', finish, { once: true });
        tick();
      });
    }
    sendEnd = now();
    if (stopped()) aborted = true;

    // --- drain ---
    phase = 'draining';
    const drainMs = opts.drainMs ?? 10_000;
    await Promise.all(live.map((s) => s.device.drain(drainMs)));
    const settle = (opts.ackDelayMs ?? 100) + (opts.resultDelayMs ?? 200) + 1000;
    await Promise.all(live.map((s) => s.device.settleCommands(aborted ? 500 : Math.min(drainMs, settle))));
    await pool(live, 32, (s) => s.device.close());
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    phase = 'done';
  }
  opts.onProgress?.(progress());

  const t = totals();
  const seconds = Math.max(0.001, (sendEnd - sendStart) / 1000);
  const samples = [...connectErrors, ...sims.flatMap((s) => s.device.errorSamples)].slice(0, 10);
  return {
    format: opts.format,
    compress: opts.compress === true,
    qos,
    devices: {
      requested: sims.length,
      connected: sims.filter((s) => s.up).length,
      failed: connectErrors.length,
    },
    sent: t.sent,
    acknowledged: t.acked,
    errors: t.errors + connectErrors.length,
    points: t.points,
    durationSeconds: Math.round(seconds * 1000) / 1000,
    rate: Math.round((t.sent / seconds) * 10) / 10,
    reconnects: t.reconnects,
    commands: {
      received: t.received,
      acknowledged: t.acknowledged,
      succeeded: t.succeeded,
      failed: t.failed,
      rejected: t.rejected,
    },
    errorSamples: samples,
    aborted,
  };
}

function nextMessage(
  s: { generator: MessageGenerator; device: SimDevice; spec: SimDeviceSpec },
  at: number,
): GeneratedMessage | undefined {
  try {
    return s.generator.next(at);
  } catch (e) {
    // A script or DBC value that cannot be encoded: stop this device rather than send garbage.
    s.device.errorSamples.push(`${s.spec.deviceId}: cannot generate a message: ${(e as Error).message}`);
    s.device.counters.errors++;
    return undefined;
  }
}
