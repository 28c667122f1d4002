/**
 * The ingest Lambda: invoked asynchronously by the IoT topic rules with an `IngestRuleEvent`
 * (lambdas/core/topics.ts), it runs the ingest service on the AWS adapters.
 *
 * - Configuration is read and validated once, at cold start (a bad environment fails the init phase).
 * - Logs never contain the payload or the token: the event is not logged (`logEvent: false`, also
 *   forced by `POWERTOOLS_LOGGER_LOG_EVENT=false` in the CDK), only the outcome.
 * - Metrics: `Messages`, `PointsStored`, `PointsRejected`, `DeadLetters` (dimension `code`), `StoreRetries`.
 * - Returns the outcome (visible when the function is invoked synchronously, e.g. by tests). Throws only
 *   for infrastructure failures and exhausted store retries, so Lambda's async retries and on-failure
 *   destination keep the event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createAwsAlerts, loadAlertConfig } from '../adapters/aws/alerts-wiring.js';
import { createAwsIngestService } from '../adapters/aws/ingest-wiring.js';
import { type IngestOutcome, IngestRetryableError } from '../services/ingest-service.js';
import { loadIngestConfig } from './ingest-config.js';

const config = loadIngestConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-ingest' });
const metrics = new Metrics({ namespace: 'Fleetwire', serviceName: 'fleetwire-ingest' });
// Alert evaluation on stored points, when the alert tables are deployed (ALERTS_TABLE and friends set).
const alertConfig = loadAlertConfig(process.env, { optional: true });
const alerts = alertConfig ? createAwsAlerts(alertConfig, { log: logger }) : undefined;
const service = createAwsIngestService(config, process.env, {
  log: logger,
  ...(alerts ? { onPoints: alerts.service.onPoints } : {}),
});

/** Record the outcome as metrics and one secret-free log line. */
function account(outcome: IngestOutcome): void {
  metrics.addMetric('Messages', MetricUnit.Count, 1);
  metrics.addMetric('PointsStored', MetricUnit.Count, outcome.stored);
  if (outcome.rejected > 0) metrics.addMetric('PointsRejected', MetricUnit.Count, outcome.rejected);
  if (outcome.deadLettered) {
    const m = metrics.singleMetric();
    m.addDimension('code', outcome.code ?? 'UNKNOWN');
    m.addMetric('DeadLetters', MetricUnit.Count, 1);
  }
  const line = {
    status: outcome.status,
    stored: outcome.stored,
    rejected: outcome.rejected,
    warnings: outcome.warnings,
    code: outcome.code,
    tenant: outcome.tenant,
    device: outcome.device,
    format: outcome.format,
  };
  if (outcome.deadLettered) logger.warn('message dead-lettered', line);
  else logger.info('message ingested', line);
}

async function ingest(event: unknown): Promise<IngestOutcome> {
  try {
    const outcome = await service.ingestRaw(event);
    account(outcome);
    return outcome;
  } catch (e) {
    if (e instanceof IngestRetryableError) {
      metrics.addMetric('StoreRetries', MetricUnit.Count, 1);
      logger.warn('store retries exhausted; Lambda will retry the event', { error: e.message });
    } else {
      logger.error('ingest failed; Lambda will retry the event', {
        error: (e as Error).message,
        name: (e as Error).name,
      });
    }
    throw e;
  }
}

/** Lambda entry point. */
export const handler = middy(ingest)
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(logMetrics(metrics));
