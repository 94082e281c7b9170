import {
  type ClickHouseDriver,
  lastWebhookSuccess,
  listPendingWebhookMessages,
  listWebhookEndpoints,
  recordWebhookAttempt,
  type WebhookEndpointRow,
  type WebhookMessage,
  writeWebhookEndpointVersion,
  writeWebhookMessages,
} from '@keytrail/clickhouse';
import { errorMessage, type Logger } from '@keytrail/core';
import {
  createGuardedDispatcher,
  nextAttemptAt,
  openSecrets,
  type SendResult,
  sendWebhook,
  signingSecrets,
} from '@keytrail/webhooks';
import type { AlerterMetrics } from './metrics.ts';

/** An endpoint that has taken nothing for this long when a message runs out of retries is disabled (Svix: 5 days). */
export const DISABLE_AFTER_FAILING_MS = 5 * 86_400_000;

export interface DeliveryWorkerOptions {
  ch: ClickHouseDriver;
  logger: Logger;
  metrics: AlerterMetrics;
  /** Opens endpoint secrets (KEYTRAIL_SECRET_KEY). */
  sealingKey: Buffer;
  /** KEYTRAIL_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** KEYTRAIL_WEBHOOK_RETRY_SCALE: divides every retry delay and the disabling period (tests). */
  retryScale?: number;
  /** Messages sent at once (default 8). */
  concurrency?: number;
  /** How often ClickHouse is asked for due messages when nothing says there are any (default 1 s). */
  pollMs?: number;
  /** Deliver only while this holds (the active alerter; a standby sends nothing). */
  isActive?: () => boolean;
}

/**
 * Sends pending webhook messages and records every attempt. ClickHouse holds the queue, so a
 * pending message survives any crash; a crash after a send and before its record sends it again
 * with the same `webhook-id` (Standard Webhooks receivers deduplicate on it), never as a new
 * message. Retries follow the schedule (5 s … 10 h), a 410 disables the endpoint, and an endpoint
 * that has taken nothing for 5 days when a message runs out of retries is disabled too.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions) {
  const { ch, logger, metrics } = options;
  const scale = options.retryScale ?? 1;
  const dispatcher = createGuardedDispatcher({ allowPrivate: options.allowPrivate });
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function disable(endpoint: WebhookEndpointRow, reason: string, at: number): Promise<void> {
    await writeWebhookEndpointVersion(ch, endpoint, { disabled_at: at, disabled_reason: reason }, at);
    endpoint.disabled_at = new Date(at).toISOString();
    logger.warn(
      { endpoint_id: endpoint.endpoint_id, workspace_id: endpoint.workspace_id },
      `webhook endpoint disabled: ${reason}`,
    );
  }

  async function deliver(message: WebhookMessage, endpoint: WebhookEndpointRow | undefined): Promise<void> {
    const now = Date.now();
    const version = Math.max(now, message.version + 1);
    if (!endpoint || endpoint.disabled_at !== null) {
      await writeWebhookMessages(ch, [
        {
          ...message,
          status: 'FAILED',
          last_error: endpoint ? 'endpoint disabled' : 'endpoint deleted',
          version,
        },
      ]);
      return;
    }
    let result: SendResult;
    try {
      const secrets = signingSecrets(openSecrets(options.sealingKey, endpoint.sealed_secrets), now);
      result = await sendWebhook({
        url: endpoint.url,
        messageId: message.message_id,
        body: message.body,
        secrets,
        dispatcher,
        allowPrivate: options.allowPrivate,
      });
    } catch (err) {
      // The secret does not open (another KEYTRAIL_SECRET_KEY): no attempt is possible; retried.
      result = { outcome: 'RETRY', statusCode: 0, durationMs: 0, error: `not sent: ${errorMessage(err)}` };
    }
    const attempt = message.attempts + 1;
    const doneAt = Date.now();
    const next = result.outcome === 'RETRY' ? nextAttemptAt(attempt + 1, doneAt, scale) : undefined;
    const outcome = result.outcome === 'RETRY' && next === undefined ? 'FAILED' : result.outcome;
    await recordWebhookAttempt(ch, {
      workspace_id: message.workspace_id,
      endpoint_id: message.endpoint_id,
      message_id: message.message_id,
      attempt,
      attempted_at: now,
      outcome,
      status_code: result.statusCode,
      duration_ms: result.durationMs,
      error: result.error,
    });
    metrics.deliveries.inc({ outcome });
    if (outcome === 'DELIVERED') metrics.deliverySeconds.observe((doneAt - message.created_at) / 1000);
    await writeWebhookMessages(ch, [
      {
        ...message,
        status: outcome === 'DELIVERED' ? 'DELIVERED' : outcome === 'RETRY' ? 'PENDING' : 'FAILED',
        attempts: attempt,
        next_attempt_at: next ?? message.next_attempt_at,
        last_status_code: result.statusCode,
        last_error: result.error,
        version: Math.max(version, doneAt),
      },
    ]);
    if (outcome === 'ENDPOINT_GONE') await disable(endpoint, 'the endpoint answered 410 Gone', doneAt);
    if (outcome === 'FAILED') {
      const since =
        (await lastWebhookSuccess(ch, {
          workspaceId: endpoint.workspace_id,
          endpointId: endpoint.endpoint_id,
        })) ?? Date.parse(endpoint.created_at);
      if (doneAt - since >= DISABLE_AFTER_FAILING_MS / scale)
        await disable(
          endpoint,
          `no delivery has succeeded since ${new Date(since).toISOString()} and a message ran out of retries`,
          doneAt,
        );
    }
  }

  /** One pass: every due message, `concurrency` at a time, one endpoint's messages in order. */
  async function pass(): Promise<number> {
    if (options.isActive && !options.isActive()) return 0;
    const due = await listPendingWebhookMessages(ch, { dueBefore: new Date(), limit: 500 });
    metrics.pending.set(due.length);
    if (due.length === 0) return 0;
    const endpoints = new Map(
      (await listWebhookEndpoints(ch)).map((e) => [`${e.workspace_id}\u0000${e.endpoint_id}`, e]),
    );
    const byEndpoint = new Map<string, WebhookMessage[]>();
    for (const m of due) {
      const key = `${m.workspace_id}\u0000${m.endpoint_id}`;
      byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), m]);
    }
    const queues = [...byEndpoint];
    const workers = Array.from({ length: Math.min(options.concurrency ?? 8, queues.length) }, async () => {
      for (let next = queues.shift(); next; next = queues.shift()) {
        const [key, messages] = next;
        for (const message of messages) {
          if (!running) return;
          await deliver(message, endpoints.get(key));
        }
      }
    });
    await Promise.all(workers);
    return due.length;
  }

  return {
    start() {
      running = true;
      loop = (async () => {
        while (running) {
          try {
            const sent = await pass();
            if (sent === 0) await nap(options.pollMs ?? 1_000);
          } catch (err) {
            logger.warn({ err }, 'webhook delivery pass failed; retrying');
            await nap(options.pollMs ?? 1_000);
          }
        }
      })();
    },
    /** New messages were written: look now instead of at the next poll. */
    notify() {
      wake?.();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await dispatcher.close().catch(() => {});
    },
  };
}
