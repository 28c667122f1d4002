/**
 * The Lambda adapters: API Gateway HTTP API events reach the router with method, raw path, query,
 * headers, base64 bodies and the authorizer context; configuration is validated at cold start.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigError, loadApiConfig, loadAuthorizerConfig } from '../../lambdas/handlers/api-config.js';

const env = {
  REGISTRY_TABLE: 'registry',
  FILES_BUCKET: 'files',
  TELEMETRY_DATABASE: 'db',
  TELEMETRY_TABLE: 'telemetry',
  EVENT_BUS_NAME: 'bus',
  API_TABLE: 'api',
  THING_TYPE_NAME: 'fleetwire-device',
  DEVICE_POLICY_NAMES: 'p1, p2,p3',
  AWS_REGION: 'eu-west-1',
};

function event(
  over: Partial<APIGatewayProxyEventV2> & { authorizer?: unknown } = {},
): APIGatewayProxyEventV2 {
  const { authorizer, ...rest } = over;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/v1/openapi.json',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'x',
      domainPrefix: 'x',
      http: {
        method: 'GET',
        path: '/v1/openapi.json',
        protocol: 'HTTP/1.1',
        sourceIp: '1.2.3.4',
        userAgent: 't',
      },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(authorizer ? { authorizer } : {}),
    },
    ...rest,
  } as APIGatewayProxyEventV2;
}

describe('configuration', () => {
  it('reads and validates the API environment', () => {
    const c = loadApiConfig(env);
    expect(c.devicePolicyNames).toEqual(['p1', 'p2', 'p3']);
    expect(c.app).toBe('fleetwire');
    expect(() => loadApiConfig({ ...env, API_TABLE: '' })).toThrow(ApiConfigError);
    expect(() => loadApiConfig({ ...env, FLEETWIRE_APP: 'Bad App' })).toThrow(/FLEETWIRE_APP/);
  });

  it('needs pool id and client ids together for the authorizer', () => {
    expect(loadAuthorizerConfig(env).cognito).toBeUndefined();
    expect(
      loadAuthorizerConfig({ ...env, USER_POOL_ID: 'eu-west-1_Ab12', USER_POOL_CLIENT_IDS: 'c1,c2' }).cognito,
    ).toEqual({ userPoolId: 'eu-west-1_Ab12', clientIds: ['c1', 'c2'] });
    expect(() => loadAuthorizerConfig({ ...env, USER_POOL_ID: 'eu-west-1_Ab12' })).toThrow(ApiConfigError);
  });
});

describe('API Lambda handler', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the module is imported after the environment is set.
  let mod: any;
  beforeAll(async () => {
    Object.assign(process.env, env, { POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    mod = await import('../../lambdas/handlers/api.js');
  });

  it('adapts events: raw path, query, headers, base64 body, authorizer context', () => {
    const req = mod.toApiRequest(
      event({
        rawPath: '/v1/devices',
        queryStringParameters: { limit: '5' },
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"name":"x"}').toString('base64'),
        isBase64Encoded: true,
        requestContext: {
          ...event().requestContext,
          http: { ...event().requestContext.http, method: 'POST' },
          authorizer: { lambda: { tenant: 'acme', role: 'operator', subject: 'key:k' } },
        } as APIGatewayProxyEventV2['requestContext'],
      }),
    );
    expect(req).toMatchObject({
      method: 'POST',
      path: '/v1/devices',
      query: { limit: '5' },
      body: '{"name":"x"}',
      requestId: 'req-1',
    });
    expect(req.authorizer).toEqual({ lambda: { tenant: 'acme', role: 'operator', subject: 'key:k' } });
  });

  it('answers through the router: 401 without authorizer context, 200 with it', async () => {
    const ctx = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 1000 };
    const denied = await mod.handler(event(), ctx);
    expect(denied.statusCode).toBe(401);
    const ok = await mod.handler(
      event({ authorizer: { lambda: { tenant: 'acme', role: 'viewer', subject: 'key:k' } } }),
      ctx,
    );
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body).openapi).toBe('3.1.0');
  });
});
