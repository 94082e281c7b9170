import { createHash } from 'node:crypto';

/** Event types an endpoint subscribes to (DESIGN.md names fired and resolved; updated is opt-in). */
export const WEBHOOK_EVENT_TYPES = ['alert.fired', 'alert.resolved', 'alert.updated'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const DEFAULT_WEBHOOK_EVENTS: WebhookEventType[] = ['alert.fired', 'alert.resolved'];

export function webhookEventType(change: 'FIRED' | 'UPDATED' | 'RESOLVED'): WebhookEventType {
  return change === 'FIRED' ? 'alert.fired' : change === 'RESOLVED' ? 'alert.resolved' : 'alert.updated';
}

/**
 * The `webhook-id` of one event for one endpoint: derived, so the message made again after a
 * crash is the same message (a receiver deduplicates on it), and two endpoints get two messages.
 */
export function webhookMessageId(endpointId: string, eventId: string): string {
  return `msg_${createHash('sha256').update(`${endpointId}\u0000${eventId}`).digest('hex').slice(0, 24)}`;
}

/** The Standard Webhooks body: `{type, timestamp, data}`, fixed when the message is made. */
export function webhookBody(type: string, at: number, data: unknown): string {
  return JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
}
