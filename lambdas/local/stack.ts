/**
 * The whole product in one process: the composition root of the local stack.
 *
 * embedded SQLite + local CA → local adapters behind the ports → ingest service (the code the Lambda runs)
 * → rule router (the rules the CDK deploys) → aedes broker over mutual TLS → API router + signed file URLs
 * on node:http. {@link startLocalStack} starts it all on the given ports (0 = free ports, for tests) and
 * returns handles to every part; `close()` stops it cleanly, in the reverse order, draining queued
 * messages (what cannot be processed in time is dead-lettered, never dropped).
 */
import { hostname } from 'node:os';
import { createLocalAlertService, type SweepTimer, startAlertSweep } from '../adapters/local/alerts-local.js';
import { SqliteApiKeyStore } from '../adapters/local/api-key-store.js';
import { SqliteCommandStore } from '../adapters/local/command-store.js';
import { SqliteDeadLetterStore, type StoredDeadLetter } from '../adapters/local/dead-letters.js';
import { LocalDevicePublisher } from '../adapters/local/device-publisher.js';
import { SqliteDeviceRegistry } from '../adapters/local/device-registry.js';
import { SqliteEventLog } from '../adapters/local/event-log.js';
import { SqliteFileCatalog } from '../adapters/local/file-catalog.js';
import { LocalFileStore } from '../adapters/local/file-store.js';
import { LocalIdentityProvider } from '../adapters/local/identity-provider.js';
import { type Db, openDatabase } from '../adapters/local/sqlite.js';
import { BatchingTelemetryStore, type TelemetryBatchOptions } from '../adapters/local/telemetry-batcher.js';
import { SqliteTelemetryStore } from '../adapters/local/telemetry-store.js';
import { apiKeyAuthenticator } from '../api/auth.js';
import type { ApiLogger, DbcCheck } from '../api/deps.js';
import { timeOrderedId } from '../api/ids.js';
import { type Api, createApi, MAX_BODY_BYTES } from '../api/router.js';
import { alertRoutes } from '../api/routes/alerts.js';
import { framesToPoints, loadCompiledDbc, parseDbc } from '../core/dbc/index.js';
import type { CompiledDbc } from '../core/dbc/types.js';
import { FILE_PREFIXES } from '../core/deployment-contract.js';
import { isFleetwireError } from '../core/errors.js';
import { type IngestRuleEvent, ingestRules, resolveTopicConfig, type TopicConfig } from '../core/topics.js';
import type { AlertService } from '../services/alert-service.js';
import { type CommandService, createCommandService } from '../services/command-service.js';
import { type DbcEngine, DbcResolver } from '../services/dbc-resolver.js';
import { type IngestOutcome, IngestService } from '../services/ingest-service.js';
import { type CommandSweepTimer, startCommandSweep } from './command-sweep.js';
import { handleAdmin } from './http/admin.js';
import { type LocalHttpServer, startHttpServer } from './http/server.js';
import { type LocalLogger, silentLogger } from './log.js';
import { type LocalBroker, startBroker } from './mqtt/broker.js';
import { LocalCa } from './pki/local-ca.js';
import { RuleRouter, type RuleRouterOptions } from './router/rule-router.js';
import {
  ensureStateDir,
  fileUrlSecret,
  LOCAL_TENANT,
  type LocalConfig,
  localApiToken,
  readLocalConfig,
  statePaths,
  writeLocalConfig,
} from './state.js';

/** Default ports (what `npm start` uses). */
export const DEFAULT_PORTS = Object.freeze({ mqtt: 8883, http: 8080 });

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** State directory. @default '.fleetwire' */
  dir?: string;
  /** Bind address of both servers. @default '127.0.0.1' */
  host?: string;
  /** MQTT (TLS) port; 0 = a free port. @default 8883 */
  mqttPort?: number;
  /** HTTP port; 0 = a free port. @default 8080 */
  httpPort?: number;
  log?: LocalLogger;
  topicConfig?: Partial<TopicConfig>;
  /** Rule router tuning (queue capacity, concurrency, retries). */
  router?: RuleRouterOptions;
  /** Alert sweep period, ms (stale-channel timeouts, re-notification). @default 60000 */
  alertSweepMs?: number;
  /**
   * Command timeout sweep period, ms: open commands past their deadline become TIMED_OUT (the scheduled
   * command-sweep Lambda on AWS). @default 30000
   */
  commandSweepMs?: number;
  /** Group commit of telemetry writes (one transaction per event-loop turn, up to `maxPoints`). */
  telemetryBatch?: TelemetryBatchOptions;
  /** POST every alert notification here as JSON (`FLEETWIRE_ALERT_WEBHOOK`). @default none */
  alertWebhookUrl?: string;
  /** HMAC key for the webhook's `x-fleetwire-signature` header. @default none (unsigned) */
  alertWebhookSecret?: string;
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** The adapters of a running stack (tests and tools reach the store through the ports). */
export interface LocalAdapters {
  db: Db;
  telemetry: SqliteTelemetryStore;
  /** The telemetry store the ingest path writes through: group-commits concurrent writes. */
  telemetryWriter: BatchingTelemetryStore;
  registry: SqliteDeviceRegistry;
  commands: SqliteCommandStore;
  catalog: SqliteFileCatalog;
  files: LocalFileStore;
  apiKeys: SqliteApiKeyStore;
  events: SqliteEventLog;
  deadLetters: SqliteDeadLetterStore;
  identity: LocalIdentityProvider;
  publisher: LocalDevicePublisher;
}

/** A running local stack. */
export interface LocalStack {
  /** What was written to `local.json`. */
  readonly config: LocalConfig;
  /** True when this start created the API token (first run, or `local.json` was lost). */
  readonly tokenCreated: boolean;
  readonly ca: LocalCa;
  readonly adapters: LocalAdapters;
  readonly ingest: IngestService;
  readonly commandService: CommandService;
  /** The command timeout sweep (runs every `commandSweepMs`; `runNow()` for tests and tools). */
  readonly commandSweep: CommandSweepTimer;
  readonly alerts: AlertService;
  readonly api: Api;
  readonly broker: LocalBroker;
  readonly router: RuleRouter;
  readonly http: LocalHttpServer;
  /** Counters of every part (also served on /healthz). */
  stats(): Record<string, unknown>;
  /** Re-run a dead letter through the ingest service; marks it replayed when it is no longer rejected. */
  replayDeadLetter(id: number): Promise<{ letter: StoredDeadLetter; outcome: IngestOutcome } | undefined>;
  /** Stop everything; idempotent. */
  close(): Promise<void>;
}

/** The core DBC engine in the shape the resolver wants (as the Lambda wires it). */
const DBC_ENGINE: DbcEngine<CompiledDbc> = {
  load: (bytes) => loadCompiledDbc(bytes),
  framesToPoints: (frames, compiled, device) => framesToPoints(frames, compiled, device),
};

/** DBC upload check for the API: parse it; parse warnings become findings. */
function checkDbc(bytes: Uint8Array): DbcCheck {
  try {
    const db = parseDbc(bytes);
    return {
      ok: true,
      messages: db.messages.length,
      signals: db.messages.reduce((n, m) => n + m.signals.length, 0),
      findings: db.warnings
        .slice(0, 200)
        .map((w) => ({ severity: 'warning' as const, code: w.code, message: w.message, line: w.line })),
    };
  } catch (e) {
    const f = isFleetwireError(e)
      ? {
          severity: 'error' as const,
          code: e.code,
          message: e.message,
          ...(typeof e.details.line === 'number' ? { line: e.details.line } : {}),
        }
      : { severity: 'error' as const, code: 'DBC_PARSE_ERROR', message: String(e) };
    return { ok: false, messages: 0, signals: 0, findings: [f] };
  }
}

/** The host name to advertise for a bind address. */
function advertisedHost(bind: string): string {
  return ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'].includes(bind) ? 'localhost' : bind;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Start the local stack. */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? silentLogger;
  const bind = opts.host ?? '127.0.0.1';
  const publicHost = advertisedHost(bind);
  const topicConfig = resolveTopicConfig(opts.topicConfig);
  const paths = statePaths(opts.dir ?? '.fleetwire');
  ensureStateDir(paths);

  const cleanups: (() => Promise<void> | void)[] = [];
  const unwind = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn('stack', `shutdown step failed: ${String(e)}`);
      }
    }
  };

  try {
    // --- storage and identity ---
    const db = openDatabase(paths.database);
    cleanups.push(() => {
      db.close();
    });
    const ca = LocalCa.open(paths.ca, { now });
    let broker: LocalBroker | undefined;
    let httpPort = opts.httpPort ?? DEFAULT_PORTS.http;
    const events = new SqliteEventLog(db, (e) => {
      const where = [e.tenant, e.device].filter(Boolean).join('/');
      log.info('event', `${e.type} ${e.code}${where ? ` ${where}` : ''}`);
    });
    const deadLetters = new SqliteDeadLetterStore(db, (d) =>
      log.warn(
        'dlq',
        `#${d.id} ${d.code}: ${d.reason.slice(0, 200)} (topic ${d.topic ?? '-'}, client ${d.clientId ?? '-'})`,
      ),
    );
    const registry = new SqliteDeviceRegistry(db);
    const files = new LocalFileStore({
      root: paths.files,
      secret: fileUrlSecret(db),
      baseUrl: () => `http://${urlHost(publicHost)}:${httpPort}`,
      now,
    });
    const telemetry = new SqliteTelemetryStore(db);
    const telemetryWriter = new BatchingTelemetryStore(telemetry, opts.telemetryBatch);
    // Runs after the router has drained (cleanups run in reverse), just before the database closes.
    cleanups.push(() => telemetryWriter.flush());
    const adapters: LocalAdapters = {
      db,
      telemetry,
      telemetryWriter,
      registry,
      commands: new SqliteCommandStore(db),
      catalog: new SqliteFileCatalog(db),
      files,
      apiKeys: new SqliteApiKeyStore(db),
      events,
      deadLetters,
      identity: new LocalIdentityProvider(db, ca, {
        endpoint: () => ({ host: publicHost, port: broker?.port ?? opts.mqttPort ?? DEFAULT_PORTS.mqtt }),
        onRevoke: (deviceId, fingerprint) => {
          const n = broker?.disconnect(deviceId, fingerprint) ?? 0;
          if (n > 0) log.info('mqtt', `closed ${n} connection(s) of ${deviceId}: certificate revoked`);
        },
        now,
      }),
      publisher: new LocalDevicePublisher(() => broker),
    };

    // --- services: the same code the Lambdas run ---
    const alerts = createLocalAlertService({
      db,
      registry,
      events,
      print: (line) => log.info('alert', line),
      log: { warn: (m) => log.warn('alert', m) },
      clock: now,
      ...(opts.alertWebhookUrl ? { webhookUrl: opts.alertWebhookUrl } : {}),
      ...(opts.alertWebhookSecret ? { webhookSecret: opts.alertWebhookSecret } : {}),
    });
    const ingest = new IngestService({
      registry,
      store: telemetryWriter,
      deadLetters,
      events,
      dbc: new DbcResolver(files, DBC_ENGINE, { now }),
      dbcPrefix: FILE_PREFIXES.dbc,
      onPoints: alerts.onPoints,
      log: { warn: (m, extra) => log.warn('ingest', `${m}${extra ? ` ${JSON.stringify(extra)}` : ''}`) },
    });
    const commandService = createCommandService({
      commands: adapters.commands,
      publisher: adapters.publisher,
      registry,
      events,
      topicConfig,
      clock: now,
      newId: (t) => timeOrderedId('cmd', t),
      onPublishError: (err, cmd) =>
        log.warn('cmd', `command ${cmd.commandId} not delivered yet: ${String(err)}`),
    });
    const sweep: SweepTimer = startAlertSweep(alerts, opts.alertSweepMs ?? 60_000, {
      onError: (e) => log.warn('alert', `sweep failed: ${String(e)}`),
    });
    cleanups.push(() => sweep.stop());
    const commandSweep = startCommandSweep(commandService, opts.commandSweepMs ?? 30_000, {
      onSwept: (n) => log.info('cmd', `${n} command(s) timed out`),
      onError: (e) => log.warn('cmd', `command sweep failed: ${String(e)}`),
    });
    cleanups.push(() => commandSweep.stop());

    // --- rules and broker ---
    const router = new RuleRouter(
      {
        rules: ingestRules(topicConfig),
        ingest: (event: IngestRuleEvent) => ingest.ingestRaw(event),
        commandResponse: async (deviceId, payload) => {
          const outcome = await commandService.handleResponse(deviceId, payload);
          if (!outcome.applied) log.debug('cmd', `response of ${deviceId} not applied: ${outcome.code}`);
        },
        deadLetters,
        log,
        topicConfig,
      },
      opts.router,
    );
    cleanups.push(() => router.close());

    const hosts = bind === '0.0.0.0' || bind === '::' ? [hostname()] : [bind];
    broker = await startBroker(
      {
        certificates: adapters.identity,
        registry,
        events,
        onPublish: (msg) => router.accept(msg),
        onCommandsSubscribed: (tenant, deviceId) => {
          commandService.onDeviceConnected(tenant, deviceId).then(
            (r) => {
              if (r.sent + r.timedOut > 0)
                log.info('cmd', `${deviceId}: sent ${r.sent} held command(s), ${r.timedOut} timed out`);
            },
            (e: unknown) => log.warn('cmd', `held commands of ${deviceId} not sent: ${String(e)}`),
          );
        },
        log,
        topicConfig,
        now,
      },
      {
        host: bind,
        port: opts.mqttPort ?? DEFAULT_PORTS.mqtt,
        tls: { ...ca.serverCredentials(hosts), caPem: ca.caPem },
      },
    );
    const runningBroker = broker;
    cleanups.push(() => runningBroker.close());

    // --- credentials and API ---
    const previous = readLocalConfig(paths.config);
    const { token, created } = await localApiToken(adapters.apiKeys, previous?.apiToken, now());
    const apiLogger: ApiLogger = {
      error: (m, d) => log.warn('api', `${m} ${JSON.stringify(d)}`),
      warn: (m, d) => log.warn('api', `${m} ${JSON.stringify(d)}`),
    };
    /** Re-run a dead letter through the ingest service (what `fleetwire replay` does with SQS on AWS). */
    const replayDeadLetter = async (id: number) => {
      const letter = deadLetters.get(id);
      if (!letter) return undefined;
      const event: IngestRuleEvent = {
        payload: letter.payloadBase64,
        topic: letter.topic ?? '',
        clientId: letter.clientId ?? 'n/a',
        principal: '',
        receivedAt: letter.receivedAt,
      };
      const outcome = await ingest.ingestRaw(event);
      deadLetters.markReplayed(id, now(), !outcome.deadLettered);
      return { letter, outcome };
    };

    // The HTTP server starts first (port 0 is only known after listen); the API it serves is built next.
    let stats: () => Record<string, unknown> = () => ({});
    let api: Api | undefined;
    const http = await startHttpServer(
      {
        api: (req) => (api as Api)(req),
        files,
        health: () => ({ status: 'ok', ...stats() }),
        admin: (req) =>
          handleAdmin(
            {
              authenticator: apiKeyAuthenticator(adapters.apiKeys, now),
              tenant: LOCAL_TENANT,
              deadLetters,
              replay: (id) => replayDeadLetter(id),
              stats: () => stats(),
            },
            req,
          ),
        log,
        maxBodyBytes: MAX_BODY_BYTES,
      },
      { host: bind, port: httpPort },
    );
    cleanups.push(() => http.close());
    httpPort = http.port;
    const apiUrl = `http://${urlHost(publicHost)}:${httpPort}`;
    api = createApi(
      {
        authenticator: apiKeyAuthenticator(adapters.apiKeys, now),
        registry,
        identity: adapters.identity,
        telemetry: adapters.telemetry,
        commands: adapters.commands,
        publisher: adapters.publisher,
        files,
        catalog: adapters.catalog,
        events,
        eventSink: events,
        apiKeys: adapters.apiKeys,
        topicConfig,
        checkDbc,
        clock: now,
        logger: apiLogger,
        validateResponses: true,
        publicUrl: apiUrl,
      },
      alertRoutes({ alerts }),
    );

    const config: LocalConfig = {
      apiUrl,
      mqttUrl: `mqtts://${urlHost(publicHost)}:${runningBroker.port}`,
      mqttHost: publicHost,
      mqttPort: runningBroker.port,
      tenant: LOCAL_TENANT,
      apiToken: token,
      caPath: ca.caPath,
      caPem: ca.caPem,
      app: topicConfig.app,
      stateDir: paths.dir,
      database: paths.database,
      pid: process.pid,
      startedAt: new Date(now()).toISOString(),
    };
    writeLocalConfig(paths.config, config);

    stats = () => ({
      mqtt: {
        url: config.mqttUrl,
        connectedDevices: runningBroker.connectedDevices().length,
        ...runningBroker.counters,
      },
      router: router.counters,
      telemetryBatches: telemetryWriter.counters,
      deadLetters: deadLetters.counts(),
    });

    let closing: Promise<void> | undefined;
    return {
      config,
      tokenCreated: created,
      ca,
      adapters,
      ingest,
      commandService,
      commandSweep,
      alerts,
      api: api as Api,
      broker: runningBroker,
      router,
      http,
      stats: () => stats(),
      replayDeadLetter,
      close() {
        closing ??= unwind();
        return closing;
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}
