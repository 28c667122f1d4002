import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tenantTopicName } from '../../lambdas/adapters/aws/alerts-sns.js';
import { startAlertSweep } from '../../lambdas/adapters/local/alerts-local.js';
import { LocalAlertNotifier, WebhookDeliveryError } from '../../lambdas/adapters/local/alerts-notifier.js';
import type { AlertEvent } from '../../lambdas/core/alerts/records.js';
import type { SweepReport } from '../../lambdas/services/alert-service.js';

const event = { eventId: 'e1', message: 'FIRING warning: x above 1 on d (value 2)' } as AlertEvent;

function fakeFetch(status: number | Error) {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    if (status instanceof Error) throw status;
    return new Response(null, { status });
  }) as typeof fetch;
  return { f, calls };
}

describe('LocalAlertNotifier', () => {
  it('logs every notification and POSTs it signed to the webhook', async () => {
    const lines: string[] = [];
    const { f, calls } = fakeFetch(204);
    const n = new LocalAlertNotifier({
      log: (l) => lines.push(l),
      webhookUrl: 'http://hook.test/a',
      webhookSecret: 'k',
      fetch: f,
    });
    await n.notify('t', [event]);
    expect(lines).toEqual(['[alert] FIRING warning: x above 1 on d (value 2)']);
    expect(calls).toHaveLength(1);
    const body = String(calls[0]?.init.body);
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(JSON.parse(body)).toEqual(event);
    expect(headers['x-fleetwire-event-id']).toBe('e1');
    expect(headers['x-fleetwire-signature']).toBe(
      `sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`,
    );
  });

  it('fails with a typed error on refusals and unreachable hooks (so the outbox keeps the event)', async () => {
    await expect(
      new LocalAlertNotifier({ webhookUrl: 'http://h/', fetch: fakeFetch(500).f }).notify('t', [event]),
    ).rejects.toBeInstanceOf(WebhookDeliveryError);
    await expect(
      new LocalAlertNotifier({
        webhookUrl: 'http://h/',
        fetch: fakeFetch(new Error('ECONNREFUSED')).f,
      }).notify('t', [event]),
    ).rejects.toMatchObject({ code: 'WEBHOOK_DELIVERY_FAILED' });
    const unsigned = fakeFetch(200);
    await new LocalAlertNotifier({ webhookUrl: 'https://h/', fetch: unsigned.f }).notify('t', [event]);
    const headers = (unsigned.calls[0]?.init.headers ?? {}) as Record<string, string>;
    expect(headers['x-fleetwire-signature']).toBeUndefined();
  });

  it('accepts only http(s) webhooks', () => {
    expect(() => new LocalAlertNotifier({ webhookUrl: 'file:///etc/passwd' })).toThrow(/http/);
    expect(() => new LocalAlertNotifier({ webhookUrl: 'not a url' })).toThrow();
    expect(() => new LocalAlertNotifier({ webhookUrl: '' })).not.toThrow();
  });
});

describe('startAlertSweep', () => {
  it('never runs two sweeps at once and stop() waits for the running one', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const report: SweepReport = { staleChecked: 0, staleFired: 0, dueHandled: 0, renotified: 0, errors: 0 };
    const service = {
      sweep: async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 150));
        running--;
        return report;
      },
    };
    const timer = startAlertSweep(service, 100);
    await Promise.all([timer.runNow(), timer.runNow()]);
    await new Promise((r) => setTimeout(r, 400));
    await timer.stop();
    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
    expect(runs).toBeGreaterThanOrEqual(3);
    const after = runs;
    await new Promise((r) => setTimeout(r, 250));
    expect(runs).toBe(after);
  });

  it('reports failures through onError and keeps going', async () => {
    const errors: unknown[] = [];
    const timer = startAlertSweep({ sweep: async () => Promise.reject(new Error('db locked')) }, 100, {
      onError: (e) => errors.push(e),
    });
    const r = await timer.runNow();
    expect(r.errors).toBe(1);
    await timer.stop();
    expect(errors).toHaveLength(1);
    expect(() => startAlertSweep({ sweep: async () => r }, 10)).toThrow(RangeError);
  });
});

describe('tenantTopicName', () => {
  it('keeps safe tenant ids readable and makes others safe and distinct', () => {
    expect(tenantTopicName('fw-alerts', 'acme')).toBe('fw-alerts-acme');
    const a = tenantTopicName('fw-alerts', 'acme.eu');
    const b = tenantTopicName('fw-alerts', 'acme_eu');
    expect(a).toMatch(/^fw-alerts-acme_eu-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(tenantTopicName('p', 'x'.repeat(400)).length).toBeLessThanOrEqual(256);
    expect(tenantTopicName('p', 'x'.repeat(400))).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
