/**
 * Alerting in the local stack: the alert service on the embedded database, and the sweep on a timer
 * (the local stand-in for the every-minute EventBridge schedule).
 *
 * The local stack wires it like this:
 * ```ts
 * const alerts = createLocalAlertService({ db, registry, events: eventLog, webhookUrl, log });
 * const ingest = new IngestService({ …, onPoints: alerts.onPoints });
 * const sweep = startAlertSweep(alerts, 60_000);
 * // on shutdown:
 * await sweep.stop();
 * ```
 */
import type { DeviceRegistry } from '../../ports/device-registry.js';
import type { EventSink } from '../../ports/event-sink.js';
import {
  type AlertLogger,
  AlertService,
  type AlertServiceOptions,
  type SweepReport,
} from '../../services/alert-service.js';
import { LocalAlertNotifier } from './alerts-notifier.js';
import { SqliteAlertHistory, SqliteAlertRuleStore, SqliteAlertStateStore } from './alerts-sqlite.js';
import type { Db } from './sqlite.js';

/** Dependencies of {@link createLocalAlertService}. */
export interface LocalAlertDeps {
  db: Db;
  registry: Pick<DeviceRegistry, 'get' | 'list'>;
  /** The local event log (alert events appear in `GET /v1/events` next to the system events). */
  events: EventSink;
  /** POST every notification here (e.g. `FLEETWIRE_ALERT_WEBHOOK`). @default none */
  webhookUrl?: string;
  /** HMAC key for the webhook signature header. @default none */
  webhookSecret?: string;
  /** Notification lines (console). @default none */
  print?: (line: string) => void;
  log?: AlertLogger;
  clock?: () => number;
  options?: AlertServiceOptions;
}

/** The alert service on the local adapters. */
export function createLocalAlertService(deps: LocalAlertDeps): AlertService {
  const notifier = new LocalAlertNotifier({
    ...(deps.print ? { log: (line: string) => deps.print?.(line) } : {}),
    ...(deps.webhookUrl ? { webhookUrl: deps.webhookUrl } : {}),
    ...(deps.webhookSecret ? { webhookSecret: deps.webhookSecret } : {}),
  });
  return new AlertService({
    rules: new SqliteAlertRuleStore(deps.db),
    states: new SqliteAlertStateStore(deps.db),
    history: new SqliteAlertHistory(deps.db),
    events: deps.events,
    notifier,
    registry: deps.registry,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.options ? { options: deps.options } : {}),
  });
}

/** A running sweep timer. */
export interface SweepTimer {
  /** Run one sweep now (waits for a running one first); resolves with its report. */
  runNow(): Promise<SweepReport>;
  /** Stop the timer and wait for a running sweep to finish. */
  stop(): Promise<void>;
}

/**
 * Run `service.sweep()` every `intervalMs` (default one minute), never two at once. The timer does not
 * keep the process alive. `onReport` sees each report (and `onError` an unexpected failure).
 */
export function startAlertSweep(
  service: Pick<AlertService, 'sweep'>,
  intervalMs = 60_000,
  hooks: { onReport?: (r: SweepReport) => void; onError?: (e: unknown) => void } = {},
): SweepTimer {
  if (!Number.isFinite(intervalMs) || intervalMs < 100)
    throw new RangeError('intervalMs must be at least 100');
  let running: Promise<SweepReport> | undefined;
  let stopped = false;
  const run = (): Promise<SweepReport> => {
    if (running) return running.then(() => run());
    const p = service.sweep().then(
      (r) => {
        hooks.onReport?.(r);
        return r;
      },
      (e: unknown) => {
        hooks.onError?.(e);
        return { staleChecked: 0, staleFired: 0, dueHandled: 0, renotified: 0, errors: 1 };
      },
    );
    running = p.finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped && !running) void run();
  }, intervalMs);
  timer.unref();
  return {
    runNow: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
