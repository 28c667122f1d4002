/** Alert evaluation core: rule model, conditions, the event-time state machine, records and events. */
export * from './builtin.js';
export * from './conditions.js';
export * from './contract.js';
export * from './device-errors.js';
export * from './episode.js';
export * from './evaluator.js';
export * from './records.js';
export * from './rule.js';
export * from './rule-set.js';
