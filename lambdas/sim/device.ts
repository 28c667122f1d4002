/**
 * One simulated device on the wire: an MQTT.js client over TLS with the device's X.509 certificate and
 * client id = device id (= thing name), publishing generated messages and answering commands on its
 * command topics. It counts what it sent, what the broker acknowledged (PUBACK, QoS 1), and what went
 * wrong, and reconnects after a dropped connection (never after a refused one).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { GeneratedMessage } from './generators.js';
import type { CommandResponder } from './responder.js';
import { parseCommandRequest } from './responder.js';

/** Where and how a device connects. */
export interface DeviceEndpoint {
  deviceId: string;
  host: string;
  port: number;
  /** PEM client certificate and private key. */
  certificatePem: string;
  privateKey: string;
  /** PEM CA bundle to trust; undefined = the system trust store (AWS IoT's Amazon Root CA). */
  caPem?: string;
  /** Telemetry topic. */
  topic: string;
  /** Command topics; undefined = the device does not listen for commands. */
  commands?: { req: string; ack: string; res: string };
}

/** Counters of one device (the runner sums them). */
export interface DeviceCounters {
  /** Messages handed to the client. */
  sent: number;
  /** Points those messages carry. */
  points: number;
  /** PUBACKs received (QoS 1), or messages written to the socket (QoS 0). */
  acked: number;
  /** Publishes that failed. */
  errors: number;
  reconnects: number;
  commandsReceived: number;
  commandsAcked: number;
  commandsSucceeded: number;
  commandsFailed: number;
  commandsRejected: number;
}

/** Connection settings common to all devices. */
export interface ConnectOptions {
  /** MQTT protocol version: 4 = 3.1.1, 5 = MQTT 5. @default 4 */
  protocolVersion?: 4 | 5;
  /** QoS of telemetry. @default 1 */
  qos?: 0 | 1;
  /** Connection timeout, ms. @default 10000 */
  connectTimeoutMs?: number;
  keepaliveSeconds?: number;
}

/** Result of a publish (for latency and verification hooks). */
export interface PublishResult {
  ok: boolean;
  error?: string;
  /** When the message was handed to the client and when it was acknowledged, epoch ms. */
  sentAt: number;
  ackedAt: number;
}

/** Why a connection could not be made. */
export class ConnectError extends Error {
  constructor(
    readonly deviceId: string,
    message: string,
    /** CONNACK return/reason code when the broker refused. */
    readonly returnCode?: number,
  ) {
    super(message);
  }
}

/** A connected (or connecting) simulated device. */
export class SimDevice {
  readonly counters: DeviceCounters = {
    sent: 0,
    points: 0,
    acked: 0,
    errors: 0,
    reconnects: 0,
    commandsReceived: 0,
    commandsAcked: 0,
    commandsSucceeded: 0,
    commandsFailed: 0,
    commandsRejected: 0,
  };
  /** Error texts (the first few, for the summary). */
  readonly errorSamples: string[] = [];
  private client: MqttClient | undefined;
  private inflight = 0;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly commandTasks = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();

  constructor(
    readonly endpoint: DeviceEndpoint,
    private readonly opts: ConnectOptions,
    private readonly responder: CommandResponder | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.inflight;
  }

  /** True while the MQTT session is up. */
  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Connect and subscribe to the command topic. Rejects with {@link ConnectError}; never retries a refusal. */
  connect(): Promise<void> {
    const e = this.endpoint;
    const options: IClientOptions = {
      host: e.host,
      port: e.port,
      protocol: 'mqtts',
      servername: e.host,
      clientId: e.deviceId,
      cert: e.certificatePem,
      key: e.privateKey,
      ...(e.caPem !== undefined ? { ca: e.caPem } : {}),
      rejectUnauthorized: true,
      protocolVersion: this.opts.protocolVersion ?? 4,
      clean: true,
      keepalive: this.opts.keepaliveSeconds ?? 60,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      // No retry until the first CONNACK: a refused certificate must fail loudly, not loop.
      reconnectPeriod: 0,
    };
    return new Promise<void>((resolve, reject) => {
      const client = mqtt.connect(options);
      this.client = client;
      let settled = false;
      const fail = (message: string, code?: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.end(true);
        reject(new ConnectError(e.deviceId, message, code));
      };
      const timer = setTimeout(
        () => fail('no CONNACK in time'),
        (this.opts.connectTimeoutMs ?? 10_000) + 1000,
      );
      client.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.options.reconnectPeriod = 1000;
        noDelay(client);
        this.attach(client);
        if (!e.commands) {
          resolve();
          return;
        }
        client.subscribe(e.commands.req, { qos: 1 }, (err, granted) => {
          const refused = granted?.some((g) => g.qos === 128 || (g.qos as number) >= 0x80);
          if (err || refused) {
            this.noteError(`subscribe to ${e.commands?.req} refused`);
          }
          resolve();
        });
      });
      client.once('error', (err: Error & { code?: number | string }) => {
        if (typeof err.code === 'number') fail(`connection refused: ${err.message}`, err.code);
        else fail(err.message);
      });
      client.once('close', () => fail('connection closed before CONNACK'));
    });
  }

  private attach(client: MqttClient): void {
    client.on('reconnect', () => {
      this.counters.reconnects++;
    });
    client.on('connect', () => noDelay(client));
    client.on('error', (err) => this.noteError(`mqtt: ${err.message}`));
    client.on('message', (topic, payload) => {
      const c = this.endpoint.commands;
      if (!c || topic !== c.req || !this.responder) return;
      const req = parseCommandRequest(payload);
      if (!req) return;
      this.counters.commandsReceived++;
      const task = this.responder
        .handle(
          req,
          this.now,
          async (r) => {
            const topicOut = r.kind === 'ack' ? c.ack : c.res;
            await client.publishAsync(topicOut, JSON.stringify(r.body), { qos: 1 });
            if (r.kind === 'ack' && r.body.status === 'ACKNOWLEDGED' && r.body.detail === undefined)
              this.counters.commandsAcked++;
          },
          this.abort.signal,
        )
        .then(
          (outcome) => {
            if (outcome === 'SUCCEEDED') this.counters.commandsSucceeded++;
            else if (outcome === 'FAILED') this.counters.commandsFailed++;
            else if (outcome === 'REJECTED') this.counters.commandsRejected++;
          },
          (err: unknown) => this.noteError(`command ${req.commandId}: ${(err as Error).message}`),
        )
        .finally(() => this.commandTasks.delete(task));
      this.commandTasks.add(task);
    });
  }

  /** Publish one message; `onResult` learns how it ended. Never throws. */
  publish(msg: GeneratedMessage, onResult?: (r: PublishResult) => void): void {
    const client = this.client;
    const sentAt = this.now();
    this.counters.sent++;
    this.counters.points += msg.points;
    if (!client) {
      this.failPublish('not connected', sentAt, onResult);
      return;
    }
    this.inflight++;
    client.publish(this.endpoint.topic, msg.payload, { qos: this.opts.qos ?? 1 }, (err) => {
      this.inflight--;
      if (err) this.failPublish(err.message, sentAt, onResult);
      else {
        this.counters.acked++;
        onResult?.({ ok: true, sentAt, ackedAt: this.now() });
      }
      if (this.inflight === 0) for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  private failPublish(message: string, sentAt: number, onResult?: (r: PublishResult) => void): void {
    this.counters.errors++;
    this.noteError(`publish: ${message}`);
    onResult?.({ ok: false, error: message, sentAt, ackedAt: this.now() });
  }

  private noteError(text: string): void {
    if (this.errorSamples.length < 5) this.errorSamples.push(`${this.endpoint.deviceId}: ${text}`);
  }

  /** Resolve once every publish is acknowledged (or after `timeoutMs`; false then). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Wait for command answers under way (bounded by `timeoutMs`). */
  async settleCommands(timeoutMs: number): Promise<void> {
    if (this.commandTasks.size === 0) return;
    await Promise.race([
      Promise.allSettled([...this.commandTasks]),
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]);
  }

  /**
   * Disconnect: a DISCONNECT packet when everything was acknowledged; otherwise close at once, and the
   * publishes still waiting for a PUBACK fail (they count as errors, so sent = acknowledged + errors).
   */
  async close(): Promise<void> {
    this.abort.abort();
    const client = this.client;
    if (!client) return;
    // No reconnect from here on; with reconnectPeriod 0 a forced close fails the pending callbacks.
    client.options.reconnectPeriod = 0;
    const force = this.inflight > 0;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3000);
      client.end(force, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/**
 * Turn Nagle's algorithm off on the client's socket: MQTT packets are small and latency-sensitive, and
 * Nagle holding a PUBLISH back until the previous segment is acknowledged (with delayed ACKs on the other
 * side) adds ~40 ms to every publish under light load.
 */
function noDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}
