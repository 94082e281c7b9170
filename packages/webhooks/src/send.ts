import type { Dispatcher } from 'undici';
import { fetch } from 'undici';
import { checkWebhookUrl } from './addresses.ts';
import { DELIVERY_TIMEOUT_MS, judgeResponse } from './schedule.ts';
import { signWebhook } from './signing.ts';

export interface SendResult {
  outcome: 'DELIVERED' | 'RETRY' | 'ENDPOINT_GONE';
  /** 0 when no HTTP answer came (timeout, refused address, connection error). */
  statusCode: number;
  durationMs: number;
  /** Why it failed, for the delivery log (never the secret). */
  error: string;
}

/**
 * One delivery attempt: signs the body with every secret in force, POSTs it through the
 * SSRF-guarded dispatcher, never follows a redirect, and gives up after the timeout. Every
 * failure is an outcome, never a throw, so the caller always has something to log.
 */
export async function sendWebhook(options: {
  url: string;
  messageId: string;
  body: string;
  secrets: readonly string[];
  /** From createGuardedDispatcher: checks every address DNS gives, at connect time. */
  dispatcher: Dispatcher;
  /** KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: a literal address in the URL is checked here (no DNS happens for it). */
  allowPrivate: boolean;
  now?: Date;
  timeoutMs?: number;
}): Promise<SendResult> {
  const started = performance.now();
  const problem = checkWebhookUrl(options.url, options.allowPrivate);
  if (problem) return { outcome: 'RETRY', statusCode: 0, durationMs: 0, error: `url ${problem.message}` };
  const headers = signWebhook(options.secrets, options.messageId, options.now ?? new Date(), options.body);
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Keytrail-Webhooks/1', ...headers },
      body: options.body,
      redirect: 'manual',
      dispatcher: options.dispatcher,
      signal: AbortSignal.timeout(options.timeoutMs ?? DELIVERY_TIMEOUT_MS),
    });
    // The answer's body is not needed; drain it so the connection is reused.
    await response.arrayBuffer().catch(() => undefined);
    const outcome = judgeResponse(response.status);
    return {
      outcome,
      statusCode: response.status,
      durationMs: Math.round(performance.now() - started),
      error:
        outcome === 'DELIVERED'
          ? ''
          : response.status >= 300 && response.status < 400
            ? `redirect to ${response.headers.get('location') ?? '?'} not followed`
            : `HTTP ${response.status}`,
    };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    const message =
      (err as Error).name === 'TimeoutError'
        ? `no answer in ${options.timeoutMs ?? DELIVERY_TIMEOUT_MS} ms`
        : cause instanceof Error
          ? cause.message
          : String(cause);
    return {
      outcome: 'RETRY',
      statusCode: 0,
      durationMs: Math.round(performance.now() - started),
      error: message,
    };
  }
}
