import { describe, expect, it } from 'vitest';
import { ConfigError, loadIngestConfig } from '../../lambdas/handlers/ingest-config.js';

const ENV = {
  TELEMETRY_DATABASE: 'db',
  TELEMETRY_TABLE: 'telemetry',
  REGISTRY_TABLE: 'registry',
  FILES_BUCKET: 'files',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
  EVENT_BUS_NAME: 'bus',
};

describe('loadIngestConfig', () => {
  it('reads the contract variables and fills documented defaults', () => {
    expect(loadIngestConfig(ENV)).toEqual({
      storage: 'timestream',
      telemetryDatabase: 'db',
      telemetryTable: 'telemetry',
      magneticWritesEnabled: true,
      registryTable: 'registry',
      registryDeviceIndex: 'byDevice',
      filesBucket: 'files',
      dbcPrefix: 'dbc/',
      deadLetterQueueUrl: ENV.DEAD_LETTER_QUEUE_URL,
      eventBusName: 'bus',
    });
    expect(loadIngestConfig({ ...ENV, TELEMETRY_MAGNETIC_WRITES: 'false' }).magneticWritesEnabled).toBe(
      false,
    );
  });

  it('names every missing or malformed variable in one ConfigError', () => {
    const { TELEMETRY_TABLE: _t, ...missing } = ENV;
    const bad = {
      ...missing,
      FILES_BUCKET: '  ',
      DEAD_LETTER_QUEUE_URL: 'not a url',
      FLEETWIRE_STORAGE: 'influx',
    };
    let err: unknown;
    try {
      loadIngestConfig(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['TELEMETRY_TABLE', 'FILES_BUCKET', 'DEAD_LETTER_QUEUE_URL', 'FLEETWIRE_STORAGE']) {
      expect(msg).toContain(name);
    }
  });

  it('refuses a DBC prefix that is not a folder', () => {
    expect(() => loadIngestConfig({ ...ENV, DBC_PREFIX: 'dbc' })).toThrow(/DBC_PREFIX/);
  });
});
