/**
 * The alert sweep Lambda, invoked every minute by an EventBridge schedule: raises stale-data alerts whose
 * deadline passed, redelivers undelivered alert events and sends due re-notifications
 * (AlertService.sweep). Configuration is read and validated once, at cold start.
 *
 * Metrics: `StaleChecked`, `StaleFired`, `DueHandled`, `Renotified`, `SweepErrors`. The handler never
 * throws for per-item failures (the next sweep retries them); it throws only when the sweep itself
 * cannot run, so the failure shows in the function's error metric.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createAwsAlerts, loadAlertConfig } from '../adapters/aws/alerts-wiring.js';
import type { SweepReport } from '../services/alert-service.js';

const config = loadAlertConfig(process.env);
if (!config) throw new Error('alert configuration missing');
const logger = new Logger({ serviceName: 'fleetwire-alert-sweep' });
const metrics = new Metrics({ namespace: 'Fleetwire', serviceName: 'fleetwire-alert-sweep' });
const { service } = createAwsAlerts(config, { log: logger });

async function sweep(): Promise<SweepReport> {
  const report = await service.sweep();
  metrics.addMetric('StaleChecked', MetricUnit.Count, report.staleChecked);
  metrics.addMetric('StaleFired', MetricUnit.Count, report.staleFired);
  metrics.addMetric('DueHandled', MetricUnit.Count, report.dueHandled);
  metrics.addMetric('Renotified', MetricUnit.Count, report.renotified);
  metrics.addMetric('SweepErrors', MetricUnit.Count, report.errors);
  if (report.errors > 0) logger.warn('alert sweep finished with errors', { ...report });
  else logger.info('alert sweep finished', { ...report });
  return report;
}

/** Lambda entry point (scheduled event; its content is not used). */
export const handler = middy(sweep)
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(logMetrics(metrics));
