import { createEmitter } from '@keytrail/emitter';
import { type AuthDecision, createEventCodec } from '@keytrail/events';
import { describe, expect, it } from 'vitest';
import { buildGateway } from '../examples/gateway/gateway.ts';
import { createTestKafka, readTopic, uniquePrefix } from './kit/index.ts';

describe('the fastify gateway plugin', () => {
  it('records one auth decision per request, with what the gateway decided and saw', async () => {
    const prefix = uniquePrefix('gateway');
    const { kafka, topics } = await createTestKafka(prefix);
    const emitter = createEmitter({ kafka, topicPrefix: prefix });
    const app = buildGateway({ emitter });
    try {
      const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string>) =>
        app.inject({
          method,
          url,
          headers: { 'user-agent': 'test-agent', origin: 'https://app.example.com', ...headers },
        });
      const live = { authorization: 'Bearer pf_live_demo0000000000000001' };
      const responses = {
        allowed: await call('GET', '/v1/apps', { ...live, 'x-request-id': 'req_from_client' }),
        generate: await call('POST', '/v1/apps/app_9/generate', live),
        failed: await call('POST', '/v1/apps/app_broken/generate', live),
        missingScope: await call('POST', '/v1/deploys', live),
        invalid: await call('GET', '/v1/apps', { authorization: 'Bearer pf_live_LEAKEDbutWRONG0000000000' }),
        revoked: await call('GET', '/v1/apps', { authorization: 'Bearer pf_live_demo0000000000000004' }),
        superseded: await call('GET', '/v1/apps', { authorization: 'Bearer pf_live_demo0000000000000003' }),
        session: await call('POST', '/v1/apps/app_9/generate', {
          authorization: 'Bearer st_live_demo0000000000000006',
        }),
        missing: await call('GET', '/v1/apps', {}),
        malformed: await call('GET', '/v1/apps', { authorization: 'Token  abc' }),
        dev1: await call('GET', '/v1/apps', { authorization: 'Bearer pf_dev_demo00000000000000005' }),
        dev2: await call('GET', '/v1/apps', { authorization: 'Bearer pf_dev_demo00000000000000005' }),
        limited: await call('GET', '/v1/apps', { authorization: 'Bearer pf_dev_demo00000000000000005' }),
        health: await call('GET', '/healthz', {}),
      };
      expect(Object.fromEntries(Object.entries(responses).map(([k, r]) => [k, r.statusCode]))).toEqual({
        allowed: 200,
        generate: 200,
        failed: 500,
        missingScope: 403,
        invalid: 401,
        revoked: 401,
        superseded: 200,
        session: 200,
        missing: 401,
        malformed: 401,
        dev1: 200,
        dev2: 200,
        limited: 429,
        health: 200,
      });
      expect(responses.allowed.headers['x-request-id']).toBe('req_from_client');
      expect(responses.limited.headers['retry-after']).toMatch(/^\d+$/);
      expect(responses.invalid.json()).toEqual({
        error: {
          code: 'invalid_key',
          message: expect.any(String),
          request_id: responses.invalid.headers['x-request-id'],
        },
      });

      await emitter.flush();
      const codec = createEventCodec();
      const messages = await readTopic(kafka, topics.authDecisions, 13);
      const decisions = messages.map((m) => codec.decode(m.value!).event as AuthDecision);
      expect(decisions).toHaveLength(13); // the health check is not recorded
      const byRequest = new Map(decisions.map((d) => [d.request_id, d]));
      const of = (r: { headers: Record<string, unknown> }) =>
        byRequest.get(String(r.headers['x-request-id']))!;

      // Allowed by the gateway, failed by the handler: the status actually sent.
      expect(of(responses.failed)).toMatchObject({ outcome: 'ALLOWED', http_status: 500 });
      expect(of(responses.allowed)).toMatchObject({
        workspace_id: 'ws_demo',
        outcome: 'ALLOWED',
        http_status: 200,
        key_id: 'key_live',
        key_env: 'LIVE',
        key_type: 'SECRET',
        key_prefix: 'pf_live_demo',
        credential: 'API_KEY',
        method: 'GET',
        route: '/v1/apps',
        required_scope: 'read',
        granted_scopes: ['read', 'build'],
        client_ip: '127.0.0.1',
        origin: 'https://app.example.com',
        user_agent: 'test-agent',
        region: 'local',
        source: { name: 'example-gateway', version: '1.0.0' },
      });
      expect(of(responses.allowed).latency_ms).toBeGreaterThanOrEqual(0);
      expect(of(responses.allowed).rate_limit).toMatchObject({ window: 'MINUTE', limit: 100 });
      expect(of(responses.generate)).toMatchObject({
        route: '/v1/apps/:appId/generate',
        method: 'POST',
        cost: 15_000,
      });
      expect(of(responses.missingScope)).toMatchObject({
        outcome: 'MISSING_SCOPE',
        http_status: 403,
        required_scope: 'deploy',
      });
      expect(of(responses.invalid)).toMatchObject({
        outcome: 'INVALID_KEY',
        http_status: 401,
        key_id: null,
        key_prefix: 'pf_live_LEAK',
      });
      expect(of(responses.invalid).presented_key_hash).toMatch(/^[0-9a-f]{32}$/);
      expect(of(responses.revoked)).toMatchObject({ outcome: 'REVOKED_KEY', key_id: 'key_revoked' });
      expect(of(responses.superseded)).toMatchObject({
        outcome: 'ALLOWED',
        deprecated_key: true,
        key_id: 'key_old',
      });
      expect(of(responses.session)).toMatchObject({
        credential: 'SESSION_TOKEN',
        session_id: 'sess_demo',
        end_user_id: 'user_42',
        key_id: 'key_live',
      });
      expect(of(responses.missing)).toMatchObject({
        outcome: 'MISSING_CREDENTIALS',
        credential: null,
        presented_key_hash: null,
      });
      expect(of(responses.malformed)).toMatchObject({ outcome: 'MALFORMED_CREDENTIALS' });
      expect(of(responses.limited)).toMatchObject({
        outcome: 'RATE_LIMITED',
        http_status: 429,
        rate_limit: { limit: 2, remaining: 0 },
      });
      // No full credential anywhere in what was recorded.
      expect(JSON.stringify(decisions)).not.toMatch(/demo0000000000000|LEAKEDbutWRONG/);
    } finally {
      await app.close();
      await emitter.close();
    }
  });
});
