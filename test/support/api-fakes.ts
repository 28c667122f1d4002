/**
 * The one test double the API tests still need: a device publisher that records what devices would
 * receive (the other ports run on the local stack's real SQLite/disk adapters, see api-harness.ts).
 */
import type { DevicePublisher } from '../../lambdas/ports/commands.js';

/** Records publishes; `fail` makes the next publishes throw like an unreachable broker. */
export class FakePublisher implements DevicePublisher {
  readonly sent: { topic: string; payload: string; qos: number | undefined }[] = [];
  fail = false;
  async publish(topic: string, payload: Uint8Array | string, qos?: 0 | 1) {
    if (this.fail) throw new Error('broker down');
    this.sent.push({
      topic,
      payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'),
      qos,
    });
  }
}
