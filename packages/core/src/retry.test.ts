import { describe, expect, it } from 'vitest';
import { KeytrailError } from './errors.ts';
import { isTransient, retry } from './retry.ts';

describe('isTransient', () => {
  it.each([
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' }),
    ],
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [
      'an undici timeout',
      Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    ],
    ['a 503', Object.assign(new Error('Service Unavailable'), { status: 503 })],
    ['a 429', Object.assign(new Error('Too Many Requests'), { statusCode: 429 })],
    ['a retriable KeytrailError', new KeytrailError('UNAVAILABLE', 'down', { retriable: true })],
    ['a kafkajs retriable error', Object.assign(new Error('leader not available'), { retriable: true })],
    ['a timeout in the message', new Error('Request timed out after 30000ms')],
    [
      'a transient cause',
      new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }),
    ],
  ])('retries %s', (_what, err) => {
    expect(isTransient(err)).toBe(true);
  });

  it.each([
    ['a syntax error', new SyntaxError('Unexpected token')],
    ['a type error', new TypeError('cannot read properties of undefined')],
    ['a non-retriable KeytrailError', new KeytrailError('INTERNAL', 'Code: 62. Syntax error')],
    ['a 400', Object.assign(new Error('Bad Request'), { status: 400 })],
    [
      'a kafkajs non-retriable error',
      Object.assign(new Error('not aware of this member'), { retriable: false }),
    ],
    ['a string', 'boom'],
  ])('fails fast on %s', (_what, err) => {
    expect(isTransient(err)).toBe(false);
  });
});

describe('retry', () => {
  it('retries a transient failure until it succeeds, reporting each retry', async () => {
    let calls = 0;
    const retried: number[] = [];
    const result = await retry(
      async () => {
        if (++calls < 3) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
        return 'ok';
      },
      { initialDelayMs: 1, onRetry: (_err, attempt) => retried.push(attempt) },
    );
    expect(result).toBe('ok');
    expect(retried).toEqual([1, 2]);
  });

  it('throws a permanent failure at once', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new KeytrailError('INTERNAL', 'Code: 62. Syntax error');
      }),
    ).rejects.toThrow('Syntax error');
    expect(calls).toBe(1);
  });

  it('gives up past its deadline', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
        },
        { initialDelayMs: 20, deadlineMs: 50 },
      ),
    ).rejects.toThrow('refused');
    expect(calls).toBeGreaterThan(1);
  });
});
