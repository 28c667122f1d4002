/**
 * Alert notifications in the local stack: every notification goes to the log (console), and, when a
 * webhook URL is configured, is POSTed to it as JSON — the local stand-in for an HTTPS subscription to
 * the tenant's SNS topic. The body is the alert event (docs/alerts.md); with a secret, the request
 * carries `x-fleetwire-signature: sha256=<hex HMAC of the body>` so receivers can verify it.
 */
import { createHmac } from 'node:crypto';
import type { AlertEvent } from '../../core/alerts/records.js';
import type { AlertNotifier } from '../../ports/alerts.js';

/** Options of {@link LocalAlertNotifier}. */
export interface LocalNotifierOptions {
  /** Receives one line per notification. @default none (silent) */
  log?: (line: string, event: AlertEvent) => void;
  /** `http(s)://` URL to POST each event to. @default none */
  webhookUrl?: string;
  /** HMAC-SHA256 key for the signature header. @default none (unsigned) */
  webhookSecret?: string;
  /** Per-request timeout. @default 5000 */
  timeoutMs?: number;
  /** Injected fetch (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Thrown when the webhook refuses or cannot be reached (the service retries through the outbox). */
export class WebhookDeliveryError extends Error {
  /** Stable code. */
  readonly code = 'WEBHOOK_DELIVERY_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookDeliveryError';
  }
}

/** Local notifier: log line, plus an optional webhook POST. */
export class LocalAlertNotifier implements AlertNotifier {
  private readonly url: URL | undefined;

  constructor(private readonly opts: LocalNotifierOptions = {}) {
    if (opts.webhookUrl !== undefined && opts.webhookUrl !== '') {
      const u = new URL(opts.webhookUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        throw new Error(`alert webhook must be an http(s) URL, got ${u.protocol}`);
      }
      this.url = u;
    }
  }

  async notify(_tenant: string, events: readonly AlertEvent[]): Promise<void> {
    for (const e of events) {
      this.opts.log?.(`[alert] ${e.message}`, e);
      if (this.url) await this.post(this.url, e);
    }
  }

  private async post(url: URL, e: AlertEvent): Promise<void> {
    const body = JSON.stringify(e);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-fleetwire-event-id': e.eventId,
    };
    if (this.opts.webhookSecret) {
      headers['x-fleetwire-signature'] =
        `sha256=${createHmac('sha256', this.opts.webhookSecret).update(body).digest('hex')}`;
    }
    const doFetch = this.opts.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new WebhookDeliveryError(`alert webhook unreachable: ${(err as Error).message}`, { cause: err });
    }
    // Drain the body so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status >= 300) {
      throw new WebhookDeliveryError(`alert webhook answered ${res.status}`);
    }
  }
}
