import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signing through the `standardwebhooks` package: `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
 * While a secret is being rotated both the old and the new one sign (space-separated
 * signatures), so a receiver that still has the old secret keeps verifying for 24 h.
 */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A new endpoint secret: `whsec_` + 32 random bytes, base64 (shown once, at creation). */
export function createWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function signWebhook(
  secrets: readonly string[],
  messageId: string,
  at: Date,
  body: string,
): SignedHeaders {
  if (secrets.length === 0) throw new Error('an endpoint needs at least one secret to sign with');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' '),
  };
}

/** The secret with its middle hidden, for logs and listings: never the whole of it. */
export function maskWebhookSecret(secret: string): string {
  return secret.length <= 12 ? 'whsec_…' : `${secret.slice(0, 10)}…${secret.slice(-4)}`;
}
