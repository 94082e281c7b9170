import { createLogger } from '@keytrail/core';
import { createEventCodec, type KeytrailEvent } from '@keytrail/events';
import { adminAuthenticator, createHttpApp } from '@keytrail/http';
import { describe, expect, it } from 'vitest';
import { eventsRoute } from './events.ts';

const TOKEN = 'kt_admin_inject_0123456789abcdef';

/**
 * The route's HTTP contract through fastify's inject(): no process, no socket. The publisher here
 * records what it is handed; that events reach Kafka is proven by the integration suite.
 */
async function appWithRoute() {
  const published: KeytrailEvent[] = [];
  const app = createHttpApp({
    logger: createLogger('test', 'silent'),
    authenticate: adminAuthenticator(TOKEN),
    readiness: {},
  });
  await app.register(eventsRoute, {
    publisher: { publish: async (events) => void published.push(...events) },
    codec: createEventCodec(),
  });
  return { app, published };
}

const event = {
  type: 'auth_decision',
  workspace_id: 'ws_1',
  occurred_at: '2026-11-22T04:00:00Z',
  request_id: 'req_1',
  outcome: 'ALLOWED',
};

describe('POST /v1/events content types', () => {
  it('takes JSON and NDJSON', async () => {
    const { app, published } = await appWithRoute();
    const headers = { authorization: `Bearer ${TOKEN}` };
    const json = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ events: [event] }),
    });
    expect(json.statusCode).toBe(202);
    const ndjson = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify(event)}\n${JSON.stringify(event)}\n`,
    });
    expect(ndjson.statusCode).toBe(202);
    expect(published).toHaveLength(3);
  });

  it.each(['text/plain', 'text/csv', 'application/xml', 'application/x-www-form-urlencoded'])(
    'answers %s with 415 and the error shape, accepting nothing',
    async (type) => {
      const { app, published } = await appWithRoute();
      const reply = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type, 'x-request-id': 'req-415' },
        payload: JSON.stringify({ events: [event] }),
      });
      expect(reply.statusCode).toBe(415);
      expect(reply.json()).toEqual({
        error: {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: expect.stringContaining(`Content-Type "${type}" is not accepted here`),
          request_id: 'req-415',
        },
      });
      expect(published).toHaveLength(0);
    },
  );
});

describe('POST /v1/events secrets', () => {
  it('cuts a secret-shaped value to its display prefix before it is published, and counts it', async () => {
    const { app, published } = await appWithRoute();
    const secret = 'pf_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    const reply = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ events: [{ ...event, user_agent: `curl/8 (key ${secret})` }] }),
    });
    expect(reply.statusCode).toBe(202);
    const stored = JSON.stringify(published[0]);
    expect(stored).not.toContain(secret);
    expect(stored).toContain('pf_live_9f8e');
    const metrics = await app.metrics.metrics();
    expect(metrics).toMatch(/^keytrail_ingest_secrets_redacted_total 1$/m);
  });
});
