/**
 * `fleetwire local` (= `npm start`): run the whole product on this machine, offline, in one process — TLS
 * MQTT broker with X.509 devices, the real ingest/command/alert code, an embedded SQLite store and the
 * HTTP API — and print how to use it. Ctrl-C (SIGINT/SIGTERM) stops it cleanly; a restart keeps the data.
 */
import { relative } from 'node:path';
import { consoleLogger } from '../../local/log.js';
import { DEFAULT_PORTS, type LocalStack, startLocalStack } from '../../local/stack.js';
import { parseFlags, UsageError } from '../io.js';

const HELP = `usage: fleetwire local [options]

Start the local stack: an MQTT broker (TLS, client certificates from a local CA), the topic rules and
ingest handlers, an embedded SQLite store and the HTTP API, all in this process and offline.
State (database, CA, files, credentials) lives in the state directory and survives restarts.

options:
  --port-mqtt N   MQTT over TLS port (default ${DEFAULT_PORTS.mqtt}; 0 = any free port)
  --port-http N   HTTP API port (default ${DEFAULT_PORTS.http}; 0 = any free port)
  --dir DIR       state directory (default .fleetwire)
  --host ADDR     bind address (default 127.0.0.1; 0.0.0.0 to let devices on your network connect)
  --command-sweep S  seconds between command timeout sweeps (default 30): open commands past their
                  deadline become TIMED_OUT
  --verbose       log every HTTP request and connection error
  -h, --help      show this help

environment:
  FLEETWIRE_ALERT_WEBHOOK         POST every alert notification to this http(s) URL (docs/alerts.md)
  FLEETWIRE_ALERT_WEBHOOK_SECRET  sign those requests (x-fleetwire-signature: sha256=<HMAC>)
`;

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${flag} must be a port number (0-65535)`);
  return n;
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0.1 || n > 86_400)
    throw new UsageError(`${flag} must be a number of seconds (0.1-86400)`);
  return n;
}

/** The banner printed once the stack is up. */
export function banner(stack: LocalStack, cwd = process.cwd()): string {
  const c = stack.config;
  const rel = (p: string) => {
    const r = relative(cwd, p);
    return r.startsWith('..') || r === '' ? p : r;
  };
  const cfg = rel(`${c.stateDir}/local.json`);
  const ca = rel(c.caPath);
  const lines = [
    '',
    `Fleetwire local stack is running (state in ${rel(c.stateDir)}, tenant "${c.tenant}")`,
    '',
    `  MQTT  ${c.mqttUrl}   TLS; devices present a certificate issued by the local CA`,
    `  API   ${c.apiUrl}    Authorization: Bearer <apiToken from ${cfg}>`,
    `  CA    ${ca}`,
    `  ${cfg} holds these URLs, the CA and the API token: local-only credentials, never commit it.`,
    stack.tokenCreated ? '  (a new API token was created and written there)' : '',
    '',
    'Try it:',
    `  TOKEN=$(node -p "require('./${cfg}').apiToken")`,
    `  curl -s -X POST ${c.apiUrl}/v1/devices -H "Authorization: Bearer $TOKEN" \\`,
    `       -H 'content-type: application/json' -d '{"deviceId":"demo-1"}' > demo-1.json`,
    `  node -e 'const d=require("./demo-1.json"),fs=require("fs");fs.writeFileSync("demo-1.crt",d.certificatePem);fs.writeFileSync("demo-1.key",d.privateKey)'`,
    `  mosquitto_pub --cafile ${ca} --cert demo-1.crt --key demo-1.key -h ${c.mqttHost} -p ${c.mqttPort} -i demo-1 \\`,
    `       -t ${c.app ? `dt/${c.app}` : 'dt/fleetwire'}/demo-1/ems -q 1 -m '{"battery":{"soc":85,"voltage":53.2}}'`,
    `  curl -s ${c.apiUrl}/v1/devices/demo-1/latest -H "Authorization: Bearer $TOKEN"`,
    '',
    'Decode a payload offline:',
    `  echo '{"timestamp":"2026-01-31T12:00:01Z","battery":{"soc":85}}' | npx fleetwire decode --format ems --device demo-1`,
    '',
    `Health: ${c.apiUrl}/healthz    API description: ${c.apiUrl}/v1/openapi.json    Stop: Ctrl-C`,
    '',
  ];
  return lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n');
}

/** CLI entry. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    'port-mqtt': { type: 'string' },
    'port-http': { type: 'string' },
    dir: { type: 'string' },
    host: { type: 'string' },
    'command-sweep': { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = consoleLogger({ verbose: values.verbose ?? false });
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dir: values.dir ?? '.fleetwire',
      host: values.host ?? '127.0.0.1',
      mqttPort: port(values['port-mqtt'], DEFAULT_PORTS.mqtt, '--port-mqtt'),
      httpPort: port(values['port-http'], DEFAULT_PORTS.http, '--port-http'),
      log,
      commandSweepMs: seconds(values['command-sweep'], 30, '--command-sweep') * 1000,
      ...(process.env.FLEETWIRE_ALERT_WEBHOOK
        ? { alertWebhookUrl: process.env.FLEETWIRE_ALERT_WEBHOOK }
        : {}),
      ...(process.env.FLEETWIRE_ALERT_WEBHOOK_SECRET
        ? { alertWebhookSecret: process.env.FLEETWIRE_ALERT_WEBHOOK_SECRET }
        : {}),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { port?: number };
    if (err.code === 'EADDRINUSE') {
      throw new UsageError(
        `port ${err.port ?? ''} is already in use (another "fleetwire local"?); choose others with --port-mqtt / --port-http`,
      );
    }
    throw e;
  }
  process.stdout.write(banner(stack));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stdout.write('\nforced exit\n');
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(`\n${signal}: stopping (Ctrl-C again to force)…\n`);
      stack.close().then(
        () => {
          const r = stack.router.counters;
          process.stdout.write(
            `stopped: ${r.received} message(s) received, ${r.completed} processed, ${r.deadLettered} dead-lettered by the router\n`,
          );
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(0);
        },
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
