/**
 * DevicePublisher on the AWS IoT data plane (`Publish`): commands reach devices on their `cmd/…/req`
 * topic through the broker, with the device policy deciding who may receive them. The client honours
 * `AWS_ENDPOINT_URL(_IOT_DATA_PLANE)`; on AWS it needs the account's `iot:Data-ATS` endpoint.
 */
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { DevicePublisher } from '../../ports/commands.js';
import { configuredEndpoint, type EndpointEnv } from './endpoints.js';

/** Create the data-plane client for `endpoint` (`https://<prefix>-ats.iot.<region>.amazonaws.com`). */
export function createIotDataClient(env: EndpointEnv, endpoint?: string): IoTDataPlaneClient {
  const override = configuredEndpoint('IOT_DATA_PLANE', env) ?? endpoint;
  return new IoTDataPlaneClient(override ? { endpoint: override } : {});
}

/** Publishes through the IoT data plane. */
export class IotDataPublisher implements DevicePublisher {
  constructor(private readonly client: Pick<IoTDataPlaneClient, 'send'>) {}

  async publish(topic: string, payload: Uint8Array | string, qos: 0 | 1 = 1): Promise<void> {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    await this.client.send(
      new PublishCommand({ topic, qos, payload: bytes, contentType: 'application/json' }),
    );
  }
}
