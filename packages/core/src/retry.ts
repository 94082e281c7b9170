import { isKeytrailError } from './errors.ts';

export interface RetryOptions {
  /** First delay; doubled each attempt up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long in total (default: never). */
  deadlineMs?: number;
  /** Which errors are worth another try; default: `isTransient`. */
  isRetriable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

const TRANSIENT_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_)/;
const TRANSIENT_MESSAGE = /timed? ?out|socket hang up|ECONNREFUSED|ECONNRESET|fetch failed/i;

/**
 * Whether another try may succeed: connection refused or reset, timeouts, a 5xx or 429, an error
 * its library marks retriable (KeytrailError, kafkajs). Anything else (a syntax error, a type
 * mismatch, a 4xx) fails the same way every time, so it is not retried.
 */
export function isTransient(err: unknown): boolean {
  if (isKeytrailError(err)) return err.retriable;
  if (!err || typeof err !== 'object') return false;
  const e = err as {
    retriable?: unknown;
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
    message?: unknown;
    cause?: unknown;
  };
  if (typeof e.retriable === 'boolean') return e.retriable;
  if (typeof e.code === 'string' && TRANSIENT_CODES.test(e.code)) return true;
  const status = Number(e.status ?? e.statusCode);
  if (status >= 500 || status === 429) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err ? isTransient(e.cause) : false;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `work`, but at most `ms`: resolves when it settles (rejecting as it does) or when the
 * time is up, and clears its timer either way, so a quick `work` leaves nothing holding the process.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  const done = new AbortController();
  await Promise.race([work.finally(() => done.abort()), sleep(ms, done.signal).catch(() => {})]);
}

/** Retries `fn` with capped exponential backoff (kafkajs' retry module, in small). */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const isRetriable = options.isRetriable ?? isTransient;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = Math.min(max, initial * 2 ** (attempt - 1));
      const pastDeadline =
        options.deadlineMs !== undefined && Date.now() - started + delay > options.deadlineMs;
      if (!isRetriable(err) || pastDeadline || options.signal?.aborted) throw err;
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
