/**
 * The API Lambda: API Gateway HTTP API (payload format 2.0) → the framework-free router
 * (lambdas/api/router.ts), the same router the local stack serves on node:http.
 *
 * - Configuration is read and validated once, at cold start.
 * - Callers are authenticated by the HTTP API's Lambda authorizer (lambdas/handlers/api-authorizer.ts);
 *   this function trusts its context and is invokable only by API Gateway (resource policy in the CDK).
 * - Logs carry method, route, status and latency, never bodies (they hold keys, tokens, certificates).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createAwsAlerts, loadAlertConfig } from '../adapters/aws/alerts-wiring.js';
import { createAwsApiDeps } from '../adapters/aws/api-wiring.js';
import type { ApiRequest } from '../api/http.js';
import { createApi } from '../api/router.js';
import { alertRoutes } from '../api/routes/alerts.js';
import { loadApiConfig } from './api-config.js';

const config = loadApiConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-api' });
const metrics = new Metrics({ namespace: 'Fleetwire', serviceName: 'fleetwire-api' });
// The alert routes, when the alert tables are deployed (ALERTS_TABLE and friends set).
const alertConfig = loadAlertConfig(process.env, { optional: true });
const alerts = alertConfig ? createAwsAlerts(alertConfig, { log: logger }) : undefined;
const api = createApi(
  createAwsApiDeps(config, process.env, {
    error: (m, d) => logger.error(m, d),
    warn: (m, d) => logger.warn(m, d),
  }),
  alerts ? alertRoutes({ alerts: alerts.service, subscriptions: alerts.notifier }) : undefined,
);

/** API Gateway HTTP API event → router request. */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const rc = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: Record<string, unknown>;
  };
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return {
    method: rc.http.method,
    path: event.rawPath,
    query: event.queryStringParameters ?? {},
    headers: event.headers ?? {},
    ...(body !== undefined ? { body } : {}),
    ...(rc.authorizer ? { authorizer: rc.authorizer } : {}),
    requestId: rc.requestId,
  };
}

async function handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const started = Date.now();
  const res = await api(toApiRequest(event));
  const m = metrics.singleMetric();
  m.addDimension('status', String(Math.floor(res.statusCode / 100)) + 'xx');
  m.addMetric('Requests', MetricUnit.Count, 1);
  logger.info('request', {
    method: event.requestContext.http.method,
    path: event.rawPath,
    status: res.statusCode,
    ms: Date.now() - started,
  });
  return { statusCode: res.statusCode, headers: res.headers, body: res.body };
}

/** Lambda entry point. */
export const handler = middy(handle)
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(logMetrics(metrics));
