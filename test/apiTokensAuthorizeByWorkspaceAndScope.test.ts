import { join } from 'node:path';
import { createEmbeddedDriver, createHttpDriver, migrate } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import {
  freePort,
  spawnKeytrail,
  startChdbHttpServer,
  tempDir,
  testBrokers,
  uniquePrefix,
} from './kit/index.ts';

const ADMIN = 'kt_admin_tokens_test_0123456789abcdef';
const USAGE = 'usage?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&granularity=day';

function client(url: string) {
  return async (method: string, path: string, token: string | null, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

const event = (ws: string) => ({
  events: [
    {
      type: 'auth_decision',
      workspace_id: ws,
      occurred_at: '2026-11-22T04:00:00Z',
      request_id: 'r1',
      key_id: 'k1',
      outcome: 'ALLOWED',
    },
  ],
});

describe('Keytrail API tokens', () => {
  it('are scoped to one workspace and their scopes, shown once, stored as a hash, revoked at once, and survive restarts', async () => {
    const dataDir = tempDir('tokens');
    const env = {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_TOPIC_PREFIX: uniquePrefix('tokens'),
      KEYTRAIL_DATA_DIR: dataDir,
      KEYTRAIL_PORT: String(await freePort()),
      KEYTRAIL_ADMIN_TOKEN: ADMIN,
    };
    let up = spawnKeytrail(['up'], env);
    const url = (await up.waitForOutput(/Keytrail is up at (http:\/\/\S+)/))[1]!;
    const call = client(url);
    let secrets: string[] = [];
    try {
      const created = await call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, {
        name: 'gateway',
        scopes: ['ingest', 'read'],
      });
      expect(created.status).toBe(201);
      const t1 = created.body.token as string;
      expect(created.body).toMatchObject({
        name: 'gateway',
        scopes: ['ingest', 'read'],
        prefix: t1.slice(0, 12),
        revoked_at: null,
      });
      const reader = await call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, {
        name: 'dashboard',
        scopes: ['read'],
      });
      const t2 = reader.body.token as string;
      secrets = [t1, t2];

      expect((await call('POST', '/v1/events', t1, event('ws_a'))).status).toBe(202);
      const foreign = await call('POST', '/v1/events', t1, event('ws_b'));
      expect(foreign.status).toBe(403);
      expect(foreign.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect((await call('GET', `/v1/workspaces/ws_a/keys/k1/${USAGE}`, t1)).status).toBe(200);
      expect((await call('GET', `/v1/workspaces/ws_b/keys/k1/${USAGE}`, t1)).status).toBe(403);
      expect((await call('POST', '/v1/events', t2, event('ws_a'))).status).toBe(403); // read-only
      expect(
        (await call('POST', '/v1/workspaces/ws_a/tokens', t1, { name: 'x', scopes: ['read'] })).status,
      ).toBe(403); // not admin
      expect(
        (await call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, { name: 'x', scopes: ['root'] })).status,
      ).toBe(400);

      const listed = await call('GET', '/v1/workspaces/ws_a/tokens', ADMIN);
      const tokens = listed.body.tokens as Record<string, unknown>[];
      expect(tokens.map((t) => t.name)).toEqual(['gateway', 'dashboard']);
      expect(tokens[0]).toMatchObject({
        prefix: t1.slice(0, 12),
        scopes: ['ingest', 'read'],
        revoked_at: null,
      });
      expect(tokens[0]!.last_used_at).toEqual(expect.any(String));
      expect(JSON.stringify(listed.body)).not.toContain(t1);

      expect((await call('DELETE', `/v1/workspaces/ws_a/tokens/${created.body.id}`, ADMIN)).status).toBe(204);
      expect((await call('POST', '/v1/events', t1, event('ws_a'))).status).toBe(401);
      expect((await call('DELETE', '/v1/workspaces/ws_a/tokens/tok_nope', ADMIN)).status).toBe(404);

      expect(await up.terminate()).toBe(0);
      up = spawnKeytrail(['up'], env);
      await up.waitForOutput(/Keytrail is up at/);
      expect((await call('GET', `/v1/workspaces/ws_a/keys/k1/${USAGE}`, t2)).status).toBe(200);
      expect((await call('GET', `/v1/workspaces/ws_a/keys/k1/${USAGE}`, t1)).status).toBe(401);
    } finally {
      await up.terminate();
    }
    // What is stored: hashes and prefixes, never a token.
    const ch = createEmbeddedDriver({ path: join(dataDir, 'clickhouse') });
    try {
      const stored = JSON.stringify(await ch.query('SELECT * FROM api_tokens'));
      for (const secret of secrets) expect(stored).not.toContain(secret);
    } finally {
      await ch.close();
    }
  });

  it('a revocation through one process is refused at once by another (shared ClickHouse)', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    await migrate(ch);
    const start = async () => {
      const api = spawnKeytrail(['api'], {
        KEYTRAIL_CLICKHOUSE_URL: server.url,
        KEYTRAIL_PORT: String(await freePort()),
        KEYTRAIL_ADMIN_TOKEN: ADMIN,
        KEYTRAIL_LOG_LEVEL: 'info',
      });
      return { api, url: (await api.waitForOutput(/keytrail api running at (http:\/\/[^"\s]+)/))[1]! };
    };
    const [a, b] = [await start(), await start()];
    try {
      const created = await client(a.url)('POST', '/v1/workspaces/ws_s/tokens', ADMIN, {
        name: 'shared',
        scopes: ['read'],
      });
      const token = created.body.token as string;
      expect((await client(b.url)('GET', `/v1/workspaces/ws_s/keys/k/${USAGE}`, token)).status).toBe(200);
      expect(
        (await client(a.url)('DELETE', `/v1/workspaces/ws_s/tokens/${created.body.id}`, ADMIN)).status,
      ).toBe(204);
      expect((await client(b.url)('GET', `/v1/workspaces/ws_s/keys/k/${USAGE}`, token)).status).toBe(401);
    } finally {
      await a.api.terminate();
      await b.api.terminate();
      await ch.close();
      await server.close();
    }
  });
});
