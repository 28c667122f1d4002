/**
 * {@link DevicePublisher} of the local stack: publishes through the embedded aedes broker (what the IoT
 * data-plane `Publish` call does on AWS). Messages go only to subscribers the broker authorized, i.e. the
 * device itself on its command request topic.
 */
import type { DevicePublisher } from '../../ports/commands.js';

/** What the publisher needs from the broker. */
export interface BrokerPublish {
  publish(topic: string, payload: Uint8Array | string, qos?: 0 | 1): Promise<void>;
}

/** Publishes through the local broker (resolved lazily: the broker starts after the adapters). */
export class LocalDevicePublisher implements DevicePublisher {
  constructor(private readonly broker: () => BrokerPublish | undefined) {}

  /** Publish one message; fails when the broker is not running. */
  async publish(topic: string, payload: Uint8Array | string, qos: 0 | 1 = 1): Promise<void> {
    const broker = this.broker();
    if (!broker) throw new Error('the local MQTT broker is not running');
    await broker.publish(topic, payload, qos);
  }
}
