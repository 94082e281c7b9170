import { describe, expect, it } from 'vitest';
import { judgeResponse, nextAttemptAt, RETRY_DELAYS_MS } from './schedule.ts';

describe('retry schedule', () => {
  it('retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then gives up', () => {
    const at = (attempt: number) => nextAttemptAt(attempt, 0);
    expect([2, 3, 4, 5, 6, 7, 8].map(at)).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(at(9)).toBeUndefined();
    expect(RETRY_DELAYS_MS).toHaveLength(7);
  });

  it('divides every delay by the scale, for tests', () => {
    expect(nextAttemptAt(2, 1_000, 1000)).toBe(1_005);
    expect(nextAttemptAt(8, 0, 3600)).toBe(10_000);
    expect(() => nextAttemptAt(1, 0)).toThrow();
    expect(() => nextAttemptAt(2, 0, 0)).toThrow();
  });

  it('judges an answer: 2xx delivered, 410 gone, anything else (or none) retried', () => {
    expect([200, 204, 299].map(judgeResponse)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
    expect(judgeResponse(410)).toBe('ENDPOINT_GONE');
    expect([undefined, 301, 400, 404, 429, 500, 503].map(judgeResponse)).toEqual(Array(7).fill('RETRY'));
  });
});
