import { createLogger } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from './app.ts';
import { adminAuthenticator } from './auth.ts';
import type { ReadinessCheck } from './readiness.ts';

const appWith = (readiness: Record<string, ReadinessCheck>) =>
  createHttpApp({
    logger: createLogger('test', 'silent'),
    authenticate: adminAuthenticator('kt_x_0123456789'),
    readiness,
  });

describe('/readyz', () => {
  it('is 200 only when every check passes, and names each', async () => {
    const ready = await appWith({ kafka: async () => true, migrations: async () => true }).inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { kafka: true, migrations: true } });
    const pending = await appWith({ kafka: async () => true, migrations: async () => false }).inject(
      '/readyz',
    );
    expect(pending.statusCode).toBe(503);
    expect(pending.json()).toEqual({ status: 'not_ready', checks: { kafka: true, migrations: false } });
  });

  it('answers within a second when a dependency hangs or throws', async () => {
    const app = appWith({
      kafka: () => new Promise<boolean>(() => {}),
      clickhouse: async () => Promise.reject(new Error('ECONNREFUSED')),
    });
    const started = Date.now();
    const reply = await app.inject('/readyz');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reply.statusCode).toBe(503);
    expect(reply.json().checks).toEqual({ kafka: false, clickhouse: false });
  });
});
