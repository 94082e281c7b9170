/**
 * When a delivery is tried again after a failure (a non-2xx or a timeout): after 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h and 10 h (the Svix schedule DESIGN.md fixes), then it has failed for
 * good. `scale` divides every delay (KEYTRAIL_WEBHOOK_RETRY_SCALE), so a test can go through the
 * whole schedule in seconds.
 */
export const RETRY_DELAYS_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
] as const;

/** A delivery attempt waits at most this long for the endpoint's answer. */
export const DELIVERY_TIMEOUT_MS = 15_000;

/**
 * When attempt `attempt` (1 = the first send) is due after the previous one failed at
 * `failedAt`; undefined when the schedule is used up.
 */
export function nextAttemptAt(attempt: number, failedAt: number, scale = 1): number | undefined {
  if (!Number.isInteger(attempt) || attempt < 2) throw new Error('retries start at attempt 2');
  if (!(scale >= 1)) throw new Error('the retry scale divides delays: it must be 1 or more');
  const delay = RETRY_DELAYS_MS[attempt - 2];
  return delay === undefined ? undefined : failedAt + Math.ceil(delay / scale);
}

export type DeliveryOutcome = 'DELIVERED' | 'RETRY' | 'FAILED' | 'ENDPOINT_GONE';

/** What an endpoint's answer means for the delivery: 2xx done, 410 disables, else retry. */
export function judgeResponse(status: number | undefined): Exclude<DeliveryOutcome, 'FAILED'> {
  if (status !== undefined && status >= 200 && status < 300) return 'DELIVERED';
  if (status === 410) return 'ENDPOINT_GONE';
  return 'RETRY';
}
