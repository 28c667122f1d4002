/**
 * Alert routes: rules CRUD under `/v1/alert-rules` (plus one-click rules from a device's channel
 * contract), alerts under `/v1/alerts` (active and history, filtered; acknowledge), and the tenant's
 * notification subscriptions under `/v1/alert-subscriptions` when the deployment has a subscription
 * store (SNS on AWS).
 *
 * Mounted with `createApi(deps, alertRoutes({ alerts, subscriptions }))`. Same conventions as every
 * other module: operators write, viewers read; another tenant's rule or alert answers 404; bodies and
 * answers are the zod schemas below, which the OpenAPI document is generated from.
 */
import { z } from 'zod';
import { AlertRecordSchema } from '../../core/alerts/records.js';
import {
  type AlertRule,
  AlertRuleSchema,
  RuleInput,
  RulePatch,
  RuleScope,
  SEVERITIES,
} from '../../core/alerts/rule.js';
import { isFleetwireError } from '../../core/errors.js';
import { type AlertSubscriptions, SUBSCRIPTION_PROTOCOLS } from '../../ports/alerts.js';
import type { AlertService } from '../../services/alert-service.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import { DeviceId } from '../schemas.js';
import { pageLimit, parseTime, type RouteServices } from './context.js';

// ---------------------------------------------------------------- schemas

/** Rule ids: generated (`rul_…`) or built in (`builtin-…`). */
export const RuleId = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'malformed rule id');
/** Alert ids: `al` + episode start (base 36) + hash. */
export const AlertId = z.string().regex(/^al[0-9a-z]{9}[0-9a-f]{12}$/, 'malformed alert id');

/**
 * `schema.describe(text)` for the core's zod/mini schemas (rule.ts, records.ts): a copy registered with the
 * description, exactly what full zod's `.describe` does, so the original stays undescribed.
 */
function described<T extends z.core.$ZodType>(schema: T, description: string): T {
  const copy = z.core.clone(schema);
  z.globalRegistry.add(copy, { description });
  return copy;
}

/** A rule as the API returns it. */
export const AlertRuleView = described(AlertRuleSchema, 'An alert rule');
/** The tenant's rules (built-in rules included). */
export const AlertRuleList = z.object({ items: z.array(AlertRuleView) });
/** `POST`/`PUT /v1/alert-rules…` body. */
export const AlertRuleRequest = described(
  RuleInput,
  'An alert rule: scope, field, condition (with clear threshold or clear condition), for, severity, renotify',
);
/** `PATCH /v1/alert-rules/{ruleId}` body. */
export const AlertRulePatchRequest = RulePatch.check(
  z.refine((p) => Object.keys(p).length > 0, 'nothing to update'),
);

/** `POST /v1/alert-rules/from-contract` body. */
export const ContractRuleRequest = z.strictObject({
  deviceId: DeviceId.describe('Device whose channel contract (config_io) supplies min/max or timeout'),
  channel: z.string().min(1).max(64).describe('Channel id, e.g. "002"'),
  kind: z.enum(['range', 'stale']).describe('range: outside min/max; stale: silent for the channel timeout'),
  scope: z.optional(RuleScope).describe('Devices the rule applies to (default: this device)'),
  severity: z.enum(SEVERITIES).optional(),
  hysteresis: z
    .number()
    .min(0)
    .max(0.49)
    .optional()
    .describe('Range rules: clear band as a fraction of the range width (default 0.02)'),
  name: z.string().min(1).max(200).optional(),
});

/** An alert (episode). */
export const AlertView = described(AlertRecordSchema, 'An alert: one episode of a rule on a device');
/** A page of alerts. */
export const AlertList = z.object({ items: z.array(AlertView), next: z.string().optional() });

/** Query string of `GET /v1/alerts`. */
export const AlertListParams = z.strictObject({
  status: z.enum(['active', 'resolved', 'all']).optional().describe('Default: all'),
  deviceId: DeviceId.optional(),
  ruleId: RuleId.optional(),
  severity: z.enum(SEVERITIES).optional(),
  from: z.string().optional().describe('Episodes started at or after (ISO 8601 or epoch ms)'),
  to: z.string().optional().describe('Episodes started before (ISO 8601 or epoch ms)'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  cursor: z.string().optional(),
});

/** A notification subscription. */
export const AlertSubscriptionView = z.object({
  id: z.string(),
  protocol: z.enum(SUBSCRIPTION_PROTOCOLS),
  endpoint: z.string(),
  severities: z.array(z.enum(SEVERITIES)).optional(),
  confirmed: z.boolean().describe('False until the endpoint confirmed the subscription'),
});
/** The tenant's subscriptions. */
export const AlertSubscriptionList = z.object({ items: z.array(AlertSubscriptionView) });
/** `POST /v1/alert-subscriptions` body. */
export const CreateAlertSubscriptionRequest = z
  .strictObject({
    protocol: z.enum(SUBSCRIPTION_PROTOCOLS),
    endpoint: z.string().min(3).max(2048),
    severities: z.array(z.enum(SEVERITIES)).min(1).max(SEVERITIES.length).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.protocol === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s.endpoint)) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'not an e-mail address' });
    }
    if (s.protocol === 'https' && !/^https:\/\/[^\s]+$/.test(s.endpoint)) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'must be an https:// URL' });
    }
  });

const RuleParams = z.object({ ruleId: RuleId });
const AlertParams = z.object({ alertId: AlertId });

/** What the alert routes need. */
export interface AlertRouteDeps {
  alerts: AlertService;
  /** Subscription management (SNS on AWS); the routes are left out without it. */
  subscriptions?: AlertSubscriptions;
}

/** A rule the API may show (and its tenant must be the caller's). */
function ruleView(r: AlertRule): AlertRule {
  return r;
}

/** The alert routes, as an `extraRoutes` factory for `createApi`. */
export function alertRoutes(d: AlertRouteDeps): (svc: RouteServices) => Route[] {
  return () => {
    const { alerts } = d;
    const routes: Route[] = [
      route({
        method: 'GET',
        path: '/v1/alert-rules',
        operationId: 'listAlertRules',
        summary: 'The tenant’s alert rules, built-in rules included',
        tag: 'alerts',
        write: false,
        responses: { 200: { description: 'The rules', schema: AlertRuleList } },
        async handle({ principal }) {
          const items = (await alerts.listRules(principal.tenant)).filter(
            (r) => r.tenant === principal.tenant,
          );
          return { status: 200, body: { items: items.map(ruleView) } };
        },
      }),
      route({
        method: 'POST',
        path: '/v1/alert-rules',
        operationId: 'createAlertRule',
        summary: 'Create an alert rule',
        tag: 'alerts',
        write: true,
        body: AlertRuleRequest,
        responses: { 201: { description: 'Created', schema: AlertRuleView } },
        async handle({ principal, body }) {
          return { status: 201, body: ruleView(await alerts.createRule(principal.tenant, body)) };
        },
      }),
      route({
        method: 'POST',
        path: '/v1/alert-rules/from-contract',
        operationId: 'createAlertRuleFromContract',
        summary:
          'One-click rule from a device’s channel contract: outside min/max, or silent for the timeout',
        tag: 'alerts',
        write: true,
        body: ContractRuleRequest,
        responses: {
          201: { description: 'Created', schema: AlertRuleView },
          422: { description: 'The channel has no min/max (range) or no timeout (stale): CONFIG_INVALID' },
        },
        async handle({ principal, body }) {
          let rule: AlertRule | undefined;
          try {
            rule = await alerts.createRuleFromContract(principal.tenant, {
              deviceId: body.deviceId,
              channel: body.channel,
              kind: body.kind,
              ...(body.scope ? { scope: body.scope } : {}),
              ...(body.severity ? { severity: body.severity } : {}),
              ...(body.hysteresis !== undefined ? { hysteresis: body.hysteresis } : {}),
              ...(body.name ? { name: body.name } : {}),
            });
          } catch (e) {
            if (isFleetwireError(e) && e.code === 'ALERT_RULE_INVALID') {
              throw new ApiError('CONFIG_INVALID', e.message, { ...e.details });
            }
            throw e;
          }
          if (!rule) throw notFound('device');
          return { status: 201, body: ruleView(rule) };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/alert-rules/{ruleId}',
        operationId: 'getAlertRule',
        summary: 'One alert rule',
        tag: 'alerts',
        write: false,
        params: RuleParams,
        responses: { 200: { description: 'The rule', schema: AlertRuleView } },
        async handle({ principal, params }) {
          const rule = await alerts.getRule(principal.tenant, params.ruleId);
          if (!rule || rule.tenant !== principal.tenant) throw notFound('alert rule');
          return { status: 200, body: ruleView(rule) };
        },
      }),
      route({
        method: 'PUT',
        path: '/v1/alert-rules/{ruleId}',
        operationId: 'replaceAlertRule',
        summary: 'Replace an alert rule (its open alerts resolve when what it detects changes)',
        tag: 'alerts',
        write: true,
        params: RuleParams,
        body: AlertRuleRequest,
        responses: { 200: { description: 'Replaced', schema: AlertRuleView } },
        async handle({ principal, params, body }) {
          const rule = await alerts.replaceRule(principal.tenant, params.ruleId, body);
          if (!rule) throw notFound('alert rule');
          return { status: 200, body: ruleView(rule) };
        },
      }),
      route({
        method: 'PATCH',
        path: '/v1/alert-rules/{ruleId}',
        operationId: 'updateAlertRule',
        summary: 'Change some fields of an alert rule (e.g. `{"enabled": false}`; built-in rules too)',
        tag: 'alerts',
        write: true,
        params: RuleParams,
        body: AlertRulePatchRequest,
        responses: { 200: { description: 'Updated', schema: AlertRuleView } },
        async handle({ principal, params, body }) {
          const rule = await alerts.patchRule(principal.tenant, params.ruleId, body);
          if (!rule) throw notFound('alert rule');
          return { status: 200, body: ruleView(rule) };
        },
      }),
      route({
        method: 'DELETE',
        path: '/v1/alert-rules/{ruleId}',
        operationId: 'deleteAlertRule',
        summary: 'Delete an alert rule; its open alerts resolve (built-in rules can only be disabled)',
        tag: 'alerts',
        write: true,
        params: RuleParams,
        responses: {
          204: { description: 'Deleted' },
          409: { description: 'Built-in rules cannot be deleted; disable them: CONFLICT' },
        },
        async handle({ principal, params }) {
          const rule = await alerts.getRule(principal.tenant, params.ruleId);
          if (!rule) throw notFound('alert rule');
          if (rule.builtin) {
            throw new ApiError(
              'CONFLICT',
              'built-in rules cannot be deleted; PATCH {"enabled": false} instead',
            );
          }
          if (!(await alerts.deleteRule(principal.tenant, params.ruleId))) throw notFound('alert rule');
          return { status: 204 };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/alerts',
        operationId: 'listAlerts',
        summary: 'Active and past alerts, newest first; filter by status, device, rule, severity, time',
        tag: 'alerts',
        write: false,
        query: AlertListParams,
        responses: { 200: { description: 'A page of alerts', schema: AlertList } },
        async handle({ principal, query }) {
          const from = parseTime(query.from, 'from');
          const to = parseTime(query.to, 'to');
          const scope = `alerts:${query.status ?? 'all'}:${query.deviceId ?? ''}:${query.ruleId ?? ''}:${
            query.severity ?? ''
          }:${from ?? ''}:${to ?? ''}`;
          const cursor = decodeCursor(principal.tenant, scope, query.cursor);
          const page = await alerts.listAlerts(principal.tenant, {
            status: query.status ?? 'all',
            ...(query.deviceId !== undefined ? { deviceId: query.deviceId } : {}),
            ...(query.ruleId !== undefined ? { ruleId: query.ruleId } : {}),
            ...(query.severity !== undefined ? { severity: query.severity } : {}),
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            limit: pageLimit(query.limit),
            ...(cursor !== undefined ? { cursor } : {}),
          });
          const next = encodeCursor(principal.tenant, scope, page.next);
          const items = page.items.filter((a) => a.tenant === principal.tenant);
          return { status: 200, body: { items, ...(next ? { next } : {}) } };
        },
      }),
      route({
        method: 'GET',
        path: '/v1/alerts/{alertId}',
        operationId: 'getAlert',
        summary: 'One alert',
        tag: 'alerts',
        write: false,
        params: AlertParams,
        responses: { 200: { description: 'The alert', schema: AlertView } },
        async handle({ principal, params }) {
          const alert = await alerts.getAlert(principal.tenant, params.alertId);
          if (!alert || alert.tenant !== principal.tenant) throw notFound('alert');
          return { status: 200, body: alert };
        },
      }),
      route({
        method: 'POST',
        path: '/v1/alerts/{alertId}/ack',
        operationId: 'acknowledgeAlert',
        summary: 'Acknowledge an alert: recorded once (first wins) and stops its re-notifications',
        tag: 'alerts',
        write: true,
        params: AlertParams,
        responses: { 200: { description: 'The acknowledged alert', schema: AlertView } },
        async handle({ principal, params }) {
          const alert = await alerts.acknowledge(principal.tenant, params.alertId, principal.subject);
          if (!alert || alert.tenant !== principal.tenant) throw notFound('alert');
          return { status: 200, body: alert };
        },
      }),
    ];
    const subs = d.subscriptions;
    if (subs) {
      routes.push(
        route({
          method: 'GET',
          path: '/v1/alert-subscriptions',
          operationId: 'listAlertSubscriptions',
          summary: 'Who receives this tenant’s alert notifications (e-mail, HTTPS)',
          tag: 'alerts',
          write: false,
          responses: { 200: { description: 'The subscriptions', schema: AlertSubscriptionList } },
          async handle({ principal }) {
            return { status: 200, body: { items: await subs.list(principal.tenant) } };
          },
        }),
        route({
          method: 'POST',
          path: '/v1/alert-subscriptions',
          operationId: 'createAlertSubscription',
          summary:
            'Subscribe an e-mail address or HTTPS endpoint (it must confirm before it receives anything)',
          tag: 'alerts',
          write: true,
          body: CreateAlertSubscriptionRequest,
          responses: {
            201: { description: 'Subscribed (pending confirmation)', schema: AlertSubscriptionView },
          },
          async handle({ principal, body }) {
            return { status: 201, body: await subs.subscribe(principal.tenant, body) };
          },
        }),
        route({
          method: 'DELETE',
          path: '/v1/alert-subscriptions/{subscriptionId}',
          operationId: 'deleteAlertSubscription',
          summary: 'Remove a confirmed subscription',
          tag: 'alerts',
          write: true,
          params: z.object({ subscriptionId: z.string().regex(/^[0-9a-z-]{1,64}$/) }),
          responses: { 204: { description: 'Removed' } },
          async handle({ principal, params }) {
            if (!(await subs.unsubscribe(principal.tenant, params.subscriptionId)))
              throw notFound('subscription');
            return { status: 204 };
          },
        }),
      );
    }
    return routes;
  };
}
