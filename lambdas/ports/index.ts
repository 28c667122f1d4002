/** The ports: small interfaces with an AWS and a local implementation each. */

export type * from './alerts.js';
export { SUBSCRIPTION_PROTOCOLS } from './alerts.js';
export type * from './api-keys.js';
export { API_ROLES } from './api-keys.js';
export type * from './commands.js';
export { COMMAND_STATUSES } from './commands.js';
export type * from './dead-letters.js';
export type * from './device-registry.js';
export type * from './event-log.js';
export type * from './event-sink.js';
export type * from './file-catalog.js';
export { FILE_KINDS } from './file-catalog.js';
export type * from './file-store.js';
export type * from './identity-provider.js';
export type * from './telemetry-store.js';
export { AGGREGATIONS } from './telemetry-store.js';
