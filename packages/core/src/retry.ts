import { isKeytrailError } from './errors.ts';

export interface RetryOptions {
  /** First delay; doubled each attempt up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long in total (default: never). */
  deadlineMs?: number;
  /** Which errors are worth another try; default: KeytrailErrors marked retriable and any non-Keytrail error. */
  isRetriable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export function defaultIsRetriable(err: unknown): boolean {
  return isKeytrailError(err) ? err.retriable : true;
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

/** Retries `fn` with capped exponential backoff (kafkajs' retry module, in small). */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const isRetriable = options.isRetriable ?? defaultIsRetriable;
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
