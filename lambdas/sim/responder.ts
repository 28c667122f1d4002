/**
 * How a simulated device answers commands, like a real one: it receives `{"command_id", "action",
 * "payload", "expires_at"}` on `cmd/<app>/<thing>/req`, acknowledges on `…/ack` with
 * `{"command_id", "status": "ACKNOWLEDGED"}` after `ackDelayMs`, carries the action out, and reports
 * `SUCCEEDED` or `FAILED` (with a detail) on `…/res` after `resultDelayMs` — as scripted, at random with
 * `failRate`, or because the action itself failed (a firmware image whose SHA-256 does not match).
 *
 * Actions change the device's state where the formats report it: `SET_MODE` sets the EMS mode (and target
 * power), `RESET_ERROR` clears EMS error flags, `SET_CHANNELS` (ExoSense `data_out`) writes the requested
 * control channel values into the next `data_in`, `FIRMWARE_UPDATE` downloads the image from its presigned
 * URL, verifies size and SHA-256, then reports the new version. Any other action succeeds without effect.
 * An expired command is answered `REJECTED`.
 */
import { createHash } from 'node:crypto';
import type { ExosenseValue } from '../core/codecs/exosense.js';
import type { DeviceState } from './generators.js';
import type { Rng } from './rng.js';
import { type CommandOutcome, type SimScript, scriptedAnswer } from './script.js';

/** A command as the device receives it. */
export interface CommandRequest {
  commandId: string;
  action: string;
  payload: Record<string, unknown>;
  /** Epoch ms, when the message carried a valid `expires_at`. */
  expiresAt?: number;
}

/** A response the device publishes. */
export interface CommandResponse {
  /** `ack` or `res` topic. */
  kind: 'ack' | 'res';
  body: {
    command_id: string;
    status: 'ACKNOWLEDGED' | 'SUCCEEDED' | 'FAILED' | 'REJECTED';
    detail?: Record<string, unknown>;
  };
}

/** Responder settings. */
export interface ResponderOptions {
  /** Delay before the acknowledgement, ms. @default 100 */
  ackDelayMs?: number;
  /** Delay between acknowledgement and result, ms. @default 200 */
  resultDelayMs?: number;
  /** Probability (0–1) that a command fails. @default 0 */
  failRate?: number;
  /** Scripted answers by action (take precedence over `failRate`). */
  script?: SimScript;
  rng: Rng;
  /** Firmware download (injected for tests). @default global fetch */
  fetch?: typeof fetch;
  /** Largest firmware image the simulator downloads, bytes. @default 64 MiB */
  maxFirmwareBytes?: number;
}

const COMMAND_ID_RE = /^[a-z0-9_]{1,64}$/;

/** Parse a command request; undefined when it is not one (the device ignores it, as a real one would). */
export function parseCommandRequest(bytes: Uint8Array): CommandRequest | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return undefined;
  const { command_id: commandId, action, payload, expires_at: expires } = msg as Record<string, unknown>;
  if (typeof commandId !== 'string' || !COMMAND_ID_RE.test(commandId)) return undefined;
  if (typeof action !== 'string' || action.length === 0 || action.length > 64) return undefined;
  const body =
    typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : {};
  const req: CommandRequest = { commandId, action, payload: body };
  if (typeof expires === 'string') {
    const t = Date.parse(expires);
    if (Number.isFinite(t)) req.expiresAt = t;
  }
  return req;
}

/** Sleep that an abort signal can cut short. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Carries out commands against one device's state and says what to publish. */
export class CommandResponder {
  private readonly seen = new Set<string>();

  constructor(
    private readonly state: DeviceState,
    private readonly opts: ResponderOptions,
  ) {}

  /**
   * Handle one request: `send` is called with each response in order (acknowledgement first). Resolves
   * with the final outcome (`IGNORE` when nothing was sent; `ACK_ONLY` when only acknowledged).
   * A repeated command id (QoS 1 redelivery) is ignored.
   */
  async handle(
    req: CommandRequest,
    now: () => number,
    send: (r: CommandResponse) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<CommandOutcome> {
    if (this.seen.has(req.commandId)) return 'IGNORE';
    this.seen.add(req.commandId);
    if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value as string);

    const scripted = scriptedAnswer(this.opts.script, req.action);
    if (scripted?.status === 'IGNORE') return 'IGNORE';
    if (req.expiresAt !== undefined && req.expiresAt <= now()) {
      await send({
        kind: 'res',
        body: { command_id: req.commandId, status: 'REJECTED', detail: { message: 'expired' } },
      });
      return 'REJECTED';
    }
    await delay(this.opts.ackDelayMs ?? 100, signal);
    await send({ kind: 'ack', body: { command_id: req.commandId, status: 'ACKNOWLEDGED' } });
    if (scripted?.status === 'ACK_ONLY') return 'ACK_ONLY';
    await delay(this.opts.resultDelayMs ?? 200, signal);

    let status: 'SUCCEEDED' | 'FAILED' | 'REJECTED';
    let detail: Record<string, unknown> | undefined;
    if (scripted) {
      status = scripted.status as 'SUCCEEDED' | 'FAILED' | 'REJECTED';
      if (scripted.detail !== undefined) detail = { message: scripted.detail };
    } else if ((this.opts.failRate ?? 0) > 0 && this.opts.rng.next() < (this.opts.failRate ?? 0)) {
      status = 'FAILED';
      detail = { message: 'simulated failure (--fail-rate)' };
    } else {
      status = 'SUCCEEDED';
    }
    if (status === 'SUCCEEDED') {
      const effect = await this.apply(req, send, signal);
      if (effect.ok) detail = effect.detail;
      else {
        status = 'FAILED';
        detail = effect.detail;
      }
    }
    await send({
      kind: 'res',
      body: { command_id: req.commandId, status, ...(detail !== undefined ? { detail } : {}) },
    });
    return status;
  }

  /** Carry the action out on the device state. */
  private async apply(
    req: CommandRequest,
    send: (r: CommandResponse) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; detail?: Record<string, unknown> }> {
    const p = req.payload;
    switch (req.action) {
      case 'SET_MODE': {
        if (typeof p.target_mode !== 'string')
          return { ok: false, detail: { message: 'target_mode missing' } };
        this.state.mode = p.target_mode;
        if (typeof p.target_power === 'number') this.state.targetPower = p.target_power;
        else delete this.state.targetPower;
        return { ok: true, detail: { mode: this.state.mode } };
      }
      case 'RESET_ERROR':
        this.state.errorFlags = [];
        return { ok: true };
      case 'SET_CHANNELS':
        for (const [id, v] of Object.entries(p)) {
          Object.defineProperty(this.state.channels, id, {
            value: v as ExosenseValue,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return { ok: true, detail: { channels: Object.keys(p).length } };
      case 'FIRMWARE_UPDATE':
        return this.firmware(req, send, signal);
      default:
        return { ok: true };
    }
  }

  private async firmware(
    req: CommandRequest,
    send: (r: CommandResponse) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; detail?: Record<string, unknown> }> {
    const { url, sha256, size, version } = req.payload;
    if (typeof url !== 'string' || typeof sha256 !== 'string' || typeof size !== 'number') {
      return { ok: false, detail: { message: 'firmware command lacks url, sha256 or size' } };
    }
    const max = this.opts.maxFirmwareBytes ?? 64 * 1024 * 1024;
    if (size > max)
      return { ok: false, detail: { message: `image of ${size} bytes is over the simulator's ${max}` } };
    try {
      const res = await (this.opts.fetch ?? fetch)(url, signal ? { signal } : {});
      if (!res.ok || !res.body)
        return { ok: false, detail: { message: `download failed: HTTP ${res.status}` } };
      const hash = createHash('sha256');
      let got = 0;
      let reported = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        got += chunk.byteLength;
        if (got > size) return { ok: false, detail: { message: 'image is larger than announced' } };
        hash.update(chunk);
        const pct = Math.floor((got * 100) / Math.max(1, size));
        if (pct >= reported + 50 && pct < 100) {
          reported = pct;
          await send({
            kind: 'ack',
            body: { command_id: req.commandId, status: 'ACKNOWLEDGED', detail: { progress: pct } },
          });
        }
      }
      if (got !== size) return { ok: false, detail: { message: `downloaded ${got} of ${size} bytes` } };
      // Downloaded: report it (a progress report), then verify and "install".
      await send({
        kind: 'ack',
        body: { command_id: req.commandId, status: 'ACKNOWLEDGED', detail: { progress: 100 } },
      });
      if (hash.digest('hex') !== sha256.toLowerCase())
        return { ok: false, detail: { message: 'CHECKSUM_MISMATCH' } };
    } catch (e) {
      return { ok: false, detail: { message: `download failed: ${(e as Error).message}` } };
    }
    if (typeof version === 'string') this.state.firmware = version;
    return { ok: true, detail: { version: this.state.firmware } };
  }
}
