/**
 * Endpoint overrides for the AWS SDK clients (moto_server, LocalStack, VPC endpoints).
 *
 * The SDK v3 already honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` on its own, but it
 * resolves them lazily and does not mark the client as using a custom endpoint. Two clients need to
 * know up front: Timestream Write, whose endpoint-discovery middleware would otherwise call
 * `DescribeEndpoints` and then send writes to the *discovered* public host, and S3, which must switch to
 * path-style addressing for emulators. So the factories resolve the override themselves, with the same
 * precedence as the SDK: the service-specific variable, then the global one, unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
 */

/** Environment variables the resolver reads (a subset of `process.env`). */
export type EndpointEnv = Readonly<Record<string, string | undefined>>;

/**
 * The configured endpoint override for a service, or `undefined` for the public AWS endpoint.
 * @param serviceEnvKey the SDK's environment suffix, e.g. `TIMESTREAM_WRITE`, `S3`, `DYNAMODB`.
 */
export function configuredEndpoint(serviceEnvKey: string, env: EndpointEnv): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  const specific = env[`AWS_ENDPOINT_URL_${serviceEnvKey}`];
  if (specific) return specific;
  const global = env.AWS_ENDPOINT_URL;
  return global ? global : undefined;
}

/** S3 client settings: with an endpoint override, that endpoint and path-style addressing. */
export function s3ClientConfig(env: EndpointEnv): { endpoint?: string; forcePathStyle?: boolean } {
  const endpoint = configuredEndpoint('S3', env);
  return endpoint ? { endpoint, forcePathStyle: true } : {};
}
