import { createLogger } from '@keytrail/core';
import { adminAuthenticator, createHttpApp } from '@keytrail/http';
import { describe, expect, it } from 'vitest';
import { limitInFlight } from './inflight.ts';

describe('limitInFlight', () => {
  it('answers 503 with Retry-After past the bound, and frees a slot when a response ends', async () => {
    const app = createHttpApp({
      logger: createLogger('test', 'silent'),
      authenticate: adminAuthenticator('kt_admin_inflight_0123456789'),
      readiness: {},
    });
    let finish: () => void = () => {};
    const gate = new Promise<void>((resolve) => (finish = resolve));
    await app.register(async (scope) => {
      limitInFlight(scope, 2);
      scope.get('/slow', async () => {
        await gate;
        return { ok: true };
      });
    });
    app.get('/outside', async () => ({ ok: true }));
    const slow = [app.inject('/slow'), app.inject('/slow')];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await app.inject('/slow');
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({
      error: { code: 'UNAVAILABLE', message: expect.stringContaining('2 requests in flight') },
    });
    // Routes outside the guarded scope are not counted.
    expect((await app.inject('/outside')).statusCode).toBe(200);
    finish();
    for (const response of await Promise.all(slow)) expect(response.statusCode).toBe(200);
    expect((await app.inject('/slow')).statusCode).toBe(200);
    await app.close();
  });
});
