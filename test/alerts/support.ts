/**
 * Test support for alerting: the alert service on the real local adapters (SQLite in memory), a
 * controllable clock, a recording notifier and event sink, and helpers to make devices and points.
 */

import {
  SqliteAlertHistory,
  SqliteAlertRuleStore,
  SqliteAlertStateStore,
} from '../../lambdas/adapters/local/alerts-sqlite.js';
import { SqliteDeviceRegistry } from '../../lambdas/adapters/local/device-registry.js';
import { type Db, openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import { type AlertEvent, AlertEventSchema } from '../../lambdas/core/alerts/records.js';
import type { FieldValue, Point } from '../../lambdas/core/model/point.js';
import type { AlertNotifier, AlertStateStore } from '../../lambdas/ports/alerts.js';
import type { DeviceRecord } from '../../lambdas/ports/device-registry.js';
import type { EventSink, SystemEvent } from '../../lambdas/ports/event-sink.js';
import { AlertService, type AlertServiceOptions } from '../../lambdas/services/alert-service.js';

/** A clock tests move by hand. */
export class TestClock {
  constructor(public t: number) {}
  readonly now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** Records published system events; can be told to fail. */
export class RecordingSink implements EventSink {
  readonly events: SystemEvent[] = [];
  fail = false;
  async publish(events: readonly SystemEvent[]): Promise<void> {
    if (this.fail) throw new Error('event bus down');
    this.events.push(...events);
  }
  /** Alert events (the `detail` of alert.* system events), validated against the published schema. */
  alertEvents(): AlertEvent[] {
    return this.events
      .filter((e) => e.type.startsWith('alert.'))
      .map((e) => AlertEventSchema.parse(e.detail));
  }
  codes(): string[] {
    return this.alertEvents().map((e) => e.code);
  }
}

/** Records notifications; can be told to fail. */
export class RecordingNotifier implements AlertNotifier {
  readonly sent: { tenant: string; event: AlertEvent }[] = [];
  fail = false;
  async notify(tenant: string, events: readonly AlertEvent[]): Promise<void> {
    if (this.fail) throw new Error('notifier down');
    for (const event of events) this.sent.push({ tenant, event });
  }
  codes(): string[] {
    return this.sent.map((s) => s.event.code);
  }
}

/** Everything a service test needs. */
export interface Harness {
  db: Db;
  clock: TestClock;
  sink: RecordingSink;
  notifier: RecordingNotifier;
  registry: SqliteDeviceRegistry;
  states: SqliteAlertStateStore;
  history: SqliteAlertHistory;
  rules: SqliteAlertRuleStore;
  service: AlertService;
  /** Another service instance on the same database (a second Lambda container). */
  second(states?: AlertStateStore): AlertService;
  addDevice(tenant: string, deviceId: string, extra?: Partial<DeviceRecord>): Promise<DeviceRecord>;
}

/** A fresh harness on an in-memory database. */
export function harness(start = Date.UTC(2026, 0, 31, 12), options: AlertServiceOptions = {}): Harness {
  const db = openDatabase(':memory:');
  const clock = new TestClock(start);
  const sink = new RecordingSink();
  const notifier = new RecordingNotifier();
  const registry = new SqliteDeviceRegistry(db);
  const states = new SqliteAlertStateStore(db);
  const history = new SqliteAlertHistory(db);
  const rules = new SqliteAlertRuleStore(db);
  const make = (st: AlertStateStore = states) =>
    new AlertService({
      rules,
      states: st,
      history,
      events: sink,
      notifier,
      registry,
      clock: clock.now,
      options,
    });
  return {
    db,
    clock,
    sink,
    notifier,
    registry,
    states,
    history,
    rules,
    service: make(),
    second: make,
    async addDevice(tenant, deviceId, extra = {}) {
      const rec: DeviceRecord = {
        tenant,
        deviceId,
        tags: {},
        tokenHash: 'x',
        status: 'active',
        createdAt: start - 86_400_000,
        ...extra,
      };
      await registry.create(rec);
      return rec;
    },
  };
}

/** A point. */
export function pt(device: string, time: number, fields: Record<string, FieldValue>): Point {
  return { device, time, tags: {}, fields };
}
