/**
 * What the API router needs: the ports, the topic settings and a few hooks. The Lambda handler wires AWS
 * adapters, the local stack wires its SQLite/disk adapters, tests wire whatever they exercise.
 */
import type { TopicConfig } from '../core/topics.js';
import type { ApiKeyStore, Authenticator } from '../ports/api-keys.js';
import type { CommandStore, DevicePublisher } from '../ports/commands.js';
import type { DeviceRegistry } from '../ports/device-registry.js';
import type { EventLog } from '../ports/event-log.js';
import type { EventSink } from '../ports/event-sink.js';
import type { FileCatalog, LintFinding } from '../ports/file-catalog.js';
import type { FileStore } from '../ports/file-store.js';
import type { IdentityProvider } from '../ports/identity-provider.js';
import type { TelemetryStore } from '../ports/telemetry-store.js';

/** Result of checking a DBC file with the DBC engine. */
export interface DbcCheck {
  /** False when the file cannot be used (parse error). */
  ok: boolean;
  messages: number;
  signals: number;
  findings: LintFinding[];
}

/** Where the API logs what it cannot answer (Powertools logger on AWS, console locally). */
export interface ApiLogger {
  error(message: string, detail: Record<string, unknown>): void;
  warn(message: string, detail: Record<string, unknown>): void;
}

/** Everything {@link createApi} needs. */
export interface ApiDeps {
  authenticator: Authenticator;
  registry: DeviceRegistry;
  identity: IdentityProvider;
  telemetry: TelemetryStore;
  commands: CommandStore;
  publisher: DevicePublisher;
  files: FileStore;
  catalog: FileCatalog;
  events: EventLog;
  eventSink: EventSink;
  apiKeys: ApiKeyStore;
  /** Topic scheme of this deployment. @default DEFAULT_TOPIC_CONFIG */
  topicConfig?: Partial<TopicConfig>;
  /** Checks an uploaded DBC file (the DBC engine). Without it DBC files are accepted on checksum alone. */
  checkDbc?: (bytes: Uint8Array) => DbcCheck;
  /** Epoch ms clock. @default Date.now */
  clock?: () => number;
  /** @default console */
  logger?: ApiLogger;
  /** Validate every response body against its schema (tests, local stack). @default false */
  validateResponses?: boolean;
  /** Public base URL of the API, used in the OpenAPI `servers` list. */
  publicUrl?: string;
}
