/**
 * `fleetwire simulate`: simulated devices against the local stack or a real deployment. Provisions (or
 * reuses) devices through the API, connects each over MQTT/TLS with its certificate, publishes generated
 * telemetry in any format at a given rate, answers commands like a real device, shows live progress and
 * prints a summary. See docs/local.md "Simulate devices".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCompiledDbc } from '../../core/dbc/index.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../../core/model/point.js';
import { commandTopic, telemetryTopic } from '../../core/topics.js';
import { FleetwireApi } from '../../sim/api-client.js';
import { CanTraffic } from '../../sim/can.js';
import { type CachedDevice, cacheDir, type ProvisionAction, provisionDevice } from '../../sim/credentials.js';
import { DEMO_DBC, DEMO_DBC_NAME } from '../../sim/demo-dbc.js';
import {
  MULTI_POINT_FORMATS,
  RECEIVE_TIME_FORMATS,
  SECOND_RESOLUTION_FORMATS,
  simExosenseConfigIo,
} from '../../sim/generators.js';
import { ProgressPrinter, summaryText } from '../../sim/report.js';
import { runSimulation, type SimDeviceSpec, type SimulationSummary } from '../../sim/runner.js';
import { parseScript, type SimScript } from '../../sim/script.js';
import { SentLog, type VerifyResult, verifyStored } from '../../sim/verify.js';
import { parseFlags, UsageError } from '../io.js';

const HELP = `usage: fleetwire simulate [options]

Simulate devices: provision (or reuse) them through the API, connect each over MQTT/TLS with its own
certificate (client id = device id), publish telemetry at a rate, answer commands, and summarize.
By default it targets the local stack started by \`npm start\` (reads .fleetwire/local.json).

devices and traffic:
  --devices N          number of devices (default 1), named <prefix>-0001, <prefix>-0002, …
  --prefix NAME        device id prefix (default sim)
  --format F           ${PAYLOAD_FORMATS.join(' | ')} (default flexconnect-json)
  --compress           compress payloads as the format does ({"b64"} envelope, 0xFC+gzip, gzip)
  --rate R             messages per second per device (default 1; 0 = only stay online for commands)
  --duration S         seconds to send (default 10); with --count, whichever ends first
  --count N            messages per device
  --points N           points per message (flexconnect-json, flexconnect-binary, protobuf; default 1)
  --qos 0|1            telemetry QoS (default 1: every message is acknowledged by the broker)
  --mqtt 3.1.1|5       MQTT protocol version (default 3.1.1)
  --topic T            topic template with {app} {device} {format} (default dt/{app}/{device}/{format})
  --seed N             seed of all random values (default 1)

CAN (flexconnect-binary):
  --dbc FILE           DBC to generate frames from (default: a built-in demo DBC); uploaded through the
                       API and assigned to the devices so their frames decode
  --messages A,B       only these DBC messages (default: all)
  --script FILE        scripted values instead of random ones (any format; docs/local.md)

commands:
  --ack-delay MS       delay before acknowledging a command (default 100)
  --result-delay MS    delay between acknowledgement and result (default 200)
  --fail-rate P        probability 0–1 that a command fails (default 0)
  --ignore-commands    do not subscribe to commands

target (default: the local stack):
  --state-dir DIR      local stack state directory (default .fleetwire): local.json and the device cache
  --api URL            the Fleetwire API to provision through (with --token)
  --token T            API token (default: FLEETWIRE_API_TOKEN)
  --endpoint HOST[:P]  MQTT endpoint (e.g. the AWS IoT data endpoint; port default 8883)
  --ca FILE            CA bundle to trust for MQTT (default: local CA, else the system store)
  --cert FILE --key FILE --device ID
                       one device with existing credentials, no API needed (with --endpoint)
  --device-token T     that device's payload token (FlexConnect/protobuf payloads carry it)
  --app NAME           topic app segment without an API (default fleetwire)

output:
  --verify             read the telemetry back through the API and check every acknowledged point
  --json               print the summary as JSON on stdout
  --quiet              no progress line
  -h, --help           show this help
`;

const FLAGS = {
  devices: { type: 'string' },
  prefix: { type: 'string' },
  format: { type: 'string' },
  compress: { type: 'boolean' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  points: { type: 'string' },
  qos: { type: 'string' },
  mqtt: { type: 'string' },
  topic: { type: 'string' },
  seed: { type: 'string' },
  dbc: { type: 'string' },
  messages: { type: 'string' },
  script: { type: 'string' },
  'ack-delay': { type: 'string' },
  'result-delay': { type: 'string' },
  'fail-rate': { type: 'string' },
  'ignore-commands': { type: 'boolean' },
  'state-dir': { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
  endpoint: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  device: { type: 'string' },
  'device-token': { type: 'string' },
  app: { type: 'string' },
  verify: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parsed flags. */
type Values = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

function num(
  v: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return x;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** `host[:port]` → host and port (default 8883). */
function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text.replace(/^mqtts?:\/\//, '').replace(/\/+$/, ''));
  if (!m?.[1]) throw new UsageError('--endpoint must be HOST or HOST:PORT');
  const port = m[2] !== undefined ? Number(m[2]) : 8883;
  if (port < 1 || port > 65535) throw new UsageError('--endpoint port must be 1–65535');
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** The local stack's `local.json`, when present. */
interface LocalJson {
  apiUrl?: string;
  apiToken?: string;
  mqttHost?: string;
  mqttPort?: number;
  caPem?: string;
  app?: string;
}

function readLocalJson(stateDir: string): LocalJson | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')) as LocalJson;
  } catch {
    return undefined;
  }
}

/** Everything the run needs, resolved from flags, local.json and the API. */
interface Plan {
  devices: SimDeviceSpec[];
  api?: FleetwireApi;
  actions: Record<ProvisionAction, number>;
  onReady?: (connected: readonly string[]) => Promise<void>;
}

function topicFor(template: string | undefined, app: string, device: string, format: PayloadFormat): string {
  if (template === undefined) return telemetryTopic(app, device, format);
  return template.replaceAll('{app}', app).replaceAll('{device}', device).replaceAll('{format}', format);
}

function appOf(cached: CachedDevice): string | undefined {
  // cmd/<app>/<thing>/req: the API tells the device its topics, so the app segment is known.
  const parts = cached.topics.commands.split('/');
  return parts.length === 4 ? parts[1] : undefined;
}

async function plan(
  v: Values,
  format: PayloadFormat,
  dbcBytes: Uint8Array | undefined,
  log: (s: string) => void,
): Promise<Plan> {
  const respond = v['ignore-commands'] !== true;
  const endpoint = v.endpoint !== undefined ? parseEndpoint(v.endpoint) : undefined;
  const caFile = v.ca !== undefined ? readText(v.ca, 'CA file') : undefined;

  // Direct mode: one device with existing credentials, no API (a device registered in AWS IoT).
  if (v.cert !== undefined || v.key !== undefined || v.device !== undefined) {
    if (v.cert === undefined || v.key === undefined || v.device === undefined || !endpoint) {
      throw new UsageError('direct mode needs --endpoint, --cert, --key and --device together');
    }
    if (v.devices !== undefined && v.devices !== '1')
      throw new UsageError('direct mode simulates the one --device');
    const app = v.app ?? 'fleetwire';
    const id = v.device;
    return {
      devices: [
        {
          deviceId: id,
          host: endpoint.host,
          port: endpoint.port,
          certificatePem: readText(v.cert, 'certificate'),
          privateKey: readText(v.key, 'private key'),
          ...(caFile !== undefined ? { caPem: caFile } : {}),
          topic: topicFor(v.topic, app, id, format),
          ...(respond
            ? {
                commands: {
                  req: commandTopic(app, id, 'req'),
                  ack: commandTopic(app, id, 'ack'),
                  res: commandTopic(app, id, 'res'),
                },
              }
            : {}),
          ...(v['device-token'] !== undefined ? { token: v['device-token'] } : {}),
        },
      ],
      actions: { reused: 0, created: 0, rotated: 0 },
    };
  }

  const stateDir = v['state-dir'] ?? '.fleetwire';
  const local = v.api === undefined ? readLocalJson(stateDir) : undefined;
  const apiUrl = v.api ?? local?.apiUrl;
  const token = v.token ?? process.env.FLEETWIRE_API_TOKEN ?? local?.apiToken;
  if (!apiUrl) {
    throw new UsageError(
      `no API to provision through: start the local stack (npm start) so ${join(stateDir, 'local.json')} exists, or pass --api URL --token T, or use --endpoint/--cert/--key/--device`,
    );
  }
  if (!token) throw new UsageError('no API token: pass --token or set FLEETWIRE_API_TOKEN');
  const api = new FleetwireApi(apiUrl, token);
  const count = num(v.devices, '--devices', 1, 1, 10_000, true);
  const prefix = v.prefix ?? 'sim';
  if (!/^[a-zA-Z0-9:_-]{1,100}$/.test(prefix))
    throw new UsageError('--prefix must be 1–100 of [a-zA-Z0-9:_-]');
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);
  const dir = cacheDir(stateDir, apiUrl);

  const actions: Record<ProvisionAction, number> = { reused: 0, created: 0, rotated: 0 };
  const cached: CachedDevice[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      const r = await provisionDevice(api, dir, ids[i] as string);
      cached[i] = r.device;
      actions[r.action]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
  log(
    `devices: ${actions.created} created, ${actions.reused} reused, ${actions.rotated} with new credentials (cache ${dir})`,
  );

  if (format === 'flexconnect-binary' && dbcBytes) {
    const file = await api.ensureDbc(
      v.dbc !== undefined ? (v.dbc.split(/[\\/]/).pop() ?? 'sim.dbc') : DEMO_DBC_NAME,
      dbcBytes,
    );
    for (const id of ids) {
      const d = await api.getDevice(id);
      if (d?.dbcFileId !== file.fileId) await api.assignDbc(id, file.fileId);
    }
    log(`DBC ${file.fileId} assigned to the devices`);
  }

  const devices = cached.map((c): SimDeviceSpec => {
    const app = v.app ?? appOf(c) ?? local?.app ?? 'fleetwire';
    const host = endpoint?.host ?? local?.mqttHost ?? c.mqtt.host;
    const port = endpoint?.port ?? local?.mqttPort ?? c.mqtt.port;
    const ca = caFile ?? local?.caPem ?? c.caPem;
    return {
      deviceId: c.deviceId,
      host,
      port,
      certificatePem: c.certificatePem,
      privateKey: c.privateKey,
      ...(ca !== undefined ? { caPem: ca } : {}),
      topic:
        v.topic !== undefined
          ? topicFor(v.topic, app, c.deviceId, format)
          : (c.topics.telemetry[format] ?? telemetryTopic(app, c.deviceId, format)),
      ...(respond
        ? {
            commands: {
              req: c.topics.commands,
              ack: commandTopic(app, c.deviceId, 'ack'),
              res: c.topics.responses,
            },
          }
        : {}),
      ...(c.token !== undefined ? { token: c.token } : {}),
    };
  });
  // A real ExoSense device owns its channel contract; here the API sends it as SET_CONFIG once the
  // devices listen, so the command is answered (and SET_CHANNELS can be checked against it).
  const onReady =
    format === 'exosense' && respond
      ? async (connected: readonly string[]) => {
          for (const id of connected) await api.putConfigIo(id, simExosenseConfigIo(Date.now()));
        }
      : undefined;
  return { devices, api, actions, ...(onReady ? { onReady } : {}) };
}

/** CLI entry. */
export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseFlags(argv, FLAGS);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const format = (v.format ?? 'flexconnect-json') as PayloadFormat;
  if (!PAYLOAD_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${PAYLOAD_FORMATS.join(', ')}`);
  const rate = num(v.rate, '--rate', 1, 0, 1000);
  const count = v.count !== undefined ? num(v.count, '--count', 0, 1, 100_000_000, true) : undefined;
  const duration = num(v.duration, '--duration', count !== undefined ? 0 : 10, 0, 7 * 86_400);
  const points = num(v.points, '--points', 1, 1, 1000, true);
  const qos = num(v.qos, '--qos', 1, 0, 1, true) as 0 | 1;
  const mqttVersion =
    v.mqtt === undefined || v.mqtt === '3.1.1' || v.mqtt === '4' ? 4 : v.mqtt === '5' ? 5 : undefined;
  if (mqttVersion === undefined) throw new UsageError('--mqtt must be 3.1.1 or 5');
  if (points > 1 && !MULTI_POINT_FORMATS.includes(format))
    throw new UsageError(`--points: ${format} messages carry one point each`);
  if (rate > 1 && SECOND_RESOLUTION_FORMATS.includes(format))
    throw new UsageError(
      `--rate: ${format} timestamps are whole seconds, so at most 1 message per second per device`,
    );
  if (count === undefined && duration === 0 && rate > 0)
    throw new UsageError('--duration must be > 0 (or give --count)');
  const failRate = num(v['fail-rate'], '--fail-rate', 0, 0, 1);
  const ackDelayMs = num(v['ack-delay'], '--ack-delay', 100, 0, 600_000, true);
  const resultDelayMs = num(v['result-delay'], '--result-delay', 200, 0, 600_000, true);
  const seed = num(v.seed, '--seed', 1, 0, 2 ** 32 - 1, true);
  if ((v.dbc !== undefined || v.messages !== undefined) && format !== 'flexconnect-binary')
    throw new UsageError('--dbc and --messages apply to --format flexconnect-binary');

  const script: SimScript | undefined =
    v.script !== undefined ? parseScript(readText(v.script, 'script')) : undefined;
  let dbcBytes: Uint8Array | undefined;
  let can: CanTraffic | undefined;
  if (format === 'flexconnect-binary') {
    dbcBytes = v.dbc !== undefined ? readFileSync(v.dbc) : Buffer.from(DEMO_DBC, 'utf8');
    const messages = v.messages
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    can = new CanTraffic(loadCompiledDbc(dbcBytes), messages);
  }

  const json = v.json === true;
  const info = (s: string) => {
    if (!json) process.stderr.write(`${s}\n`);
  };
  const p = await plan(v, format, dbcBytes, info);
  if (p.devices.length === 0) throw new UsageError('no devices to simulate');
  info(
    `simulating ${p.devices.length} device(s) → ${p.devices[0]?.host}:${p.devices[0]?.port}, ${format}${v.compress ? ' compressed' : ''}, ${rate} msg/s each, ${count !== undefined ? `${count} message(s)` : `${duration} s`}`,
  );

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const sent = new SentLog();
  const printer = v.quiet || json ? undefined : new ProgressPrinter(process.stderr);
  const windowFrom = Date.now() - 1000;
  let summary: SimulationSummary;
  try {
    summary = await runSimulation({
      devices: p.devices,
      format,
      compress: v.compress === true,
      rate,
      ...(count !== undefined ? { count } : {}),
      durationSeconds: duration,
      pointsPerMessage: points,
      qos,
      protocolVersion: mqttVersion,
      ...(can ? { can } : {}),
      ...(script ? { script } : {}),
      seed,
      respond: v['ignore-commands'] !== true,
      ackDelayMs,
      resultDelayMs,
      failRate,
      signal: abort.signal,
      ...(p.onReady ? { onReady: p.onReady } : {}),
      ...(printer ? { onProgress: (pr) => printer.update(pr) } : {}),
      ...(v.verify
        ? {
            onPublished: (id, msg, r) => {
              if (r.ok) sent.add(id, msg.times, msg.points);
            },
          }
        : {}),
    });
  } finally {
    printer?.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  let verified: VerifyResult | undefined;
  if (v.verify) {
    if (!p.api)
      throw new UsageError('--verify reads telemetry through the API; it needs --api (or the local stack)');
    if (qos === 0) info('note: with QoS 0 nothing is acknowledged, so --verify checks nothing');
    verified = await verifyStored(p.api, sent, { from: windowFrom, to: Date.now() + 1000 });
    if (RECEIVE_TIME_FORMATS.includes(format))
      info(`note: ${format} points are stamped on receipt; --verify compares counts`);
  }

  const ok =
    summary.errors === 0 &&
    summary.devices.connected > 0 &&
    (!verified || verified.found === verified.expected);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ...summary, ...(verified ? { verify: verified } : {}), ok })}\n`,
    );
  } else {
    const extra = verified
      ? [
          `verified      ${verified.found}/${verified.expected} acknowledged point(s) queryable through the API${
            verified.missing.length > 0
              ? `; missing on ${verified.missing
                  .slice(0, 5)
                  .map((m) => `${m.deviceId} (${m.missing})`)
                  .join(', ')}`
              : ''
          }`,
        ]
      : [];
    process.stdout.write(summaryText(summary, extra));
  }
  return ok ? 0 : 1;
}
