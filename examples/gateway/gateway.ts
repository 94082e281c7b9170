/**
 * An example API gateway (PromptFloe-style keys, see shared/seeds) that records every auth
 * decision into Keytrail with @keytrail/gateway-fastify. Run it against `keytrail up`:
 *
 *   npx keytrail up                      # prints "Kafka: 127.0.0.1:<port>"
 *   KEYTRAIL_KAFKA_BROKERS=127.0.0.1:<port> npx tsx examples/gateway/gateway.ts
 *   curl -H 'authorization: Bearer pf_live_demo0000000000000001' localhost:3000/v1/apps
 */
import { createEmitter, type Emitter } from '@keytrail/emitter';
import { keytrailGatewayPlugin, setCost, type VerifyResult } from '@keytrail/gateway-fastify';
import { createKafka } from '@keytrail/kafka';
import Fastify, { type FastifyInstance } from 'fastify';

interface DemoKey {
  id: string;
  workspaceId: string;
  env: 'LIVE' | 'TEST' | 'DEV';
  type: 'SECRET' | 'CLIENT' | 'READ_ONLY';
  scopes: string[];
  status: 'active' | 'superseded' | 'revoked' | 'expired';
  perMinute: number;
  session?: { id: string; endUserId: string };
}

/** The gateway's own key store (in memory for the example). Keys here are demo values. */
export const DEMO_KEYS: Record<string, DemoKey> = {
  pf_live_demo0000000000000001: {
    id: 'key_live',
    workspaceId: 'ws_demo',
    env: 'LIVE',
    type: 'SECRET',
    scopes: ['read', 'build'],
    status: 'active',
    perMinute: 100,
  },
  pf_test_demo0000000000000002: {
    id: 'key_test',
    workspaceId: 'ws_demo',
    env: 'TEST',
    type: 'SECRET',
    scopes: ['read', 'build', 'deploy'],
    status: 'active',
    perMinute: 100,
  },
  pf_live_demo0000000000000003: {
    id: 'key_old',
    workspaceId: 'ws_demo',
    env: 'LIVE',
    type: 'SECRET',
    scopes: ['read'],
    status: 'superseded',
    perMinute: 100,
  },
  pf_live_demo0000000000000004: {
    id: 'key_revoked',
    workspaceId: 'ws_demo',
    env: 'LIVE',
    type: 'SECRET',
    scopes: ['read'],
    status: 'revoked',
    perMinute: 100,
  },
  pf_dev_demo00000000000000005: {
    id: 'key_dev',
    workspaceId: 'ws_demo',
    env: 'DEV',
    type: 'SECRET',
    scopes: ['read'],
    status: 'active',
    perMinute: 2,
  },
  st_live_demo0000000000000006: {
    id: 'key_live',
    workspaceId: 'ws_demo',
    env: 'LIVE',
    type: 'SECRET',
    scopes: ['read', 'build'],
    status: 'active',
    perMinute: 100,
    session: { id: 'sess_demo', endUserId: 'user_42' },
  },
};

const SCOPE_OF_ROUTE: Record<string, string> = {
  '/v1/apps': 'read',
  '/v1/apps/:appId/generate': 'build',
  '/v1/deploys': 'deploy',
};

export function buildGateway(options: { emitter: Emitter; hashKey?: string }): FastifyInstance {
  const app = Fastify();
  const windows = new Map<string, { minute: number; count: number }>();

  const verify = async (
    token: string,
    request: { routeOptions: { url?: string } },
  ): Promise<VerifyResult> => {
    const key = DEMO_KEYS[token];
    if (!key) return { outcome: 'INVALID_KEY', workspaceId: 'ws_demo' };
    const base = {
      workspaceId: key.workspaceId,
      key: {
        id: key.id,
        env: key.env,
        type: key.type,
        scopes: key.scopes,
        deprecated: key.status === 'superseded',
      },
      ...(key.session ? { session: key.session, credential: 'SESSION_TOKEN' as const } : {}),
    };
    if (key.status === 'revoked') return { ...base, outcome: 'REVOKED_KEY' };
    if (key.status === 'expired') return { ...base, outcome: 'EXPIRED_KEY' };
    const requiredScope = SCOPE_OF_ROUTE[request.routeOptions.url ?? ''];
    if (requiredScope && !key.scopes.includes(requiredScope))
      return { ...base, requiredScope, outcome: 'MISSING_SCOPE' };
    const minute = Math.floor(Date.now() / 60_000);
    const window = windows.get(token)?.minute === minute ? windows.get(token)! : { minute, count: 0 };
    window.count++;
    windows.set(token, window);
    const rateLimit = {
      window: 'MINUTE' as const,
      limit: key.perMinute,
      remaining: Math.max(0, key.perMinute - window.count),
      reset_at: (minute + 1) * 60_000,
      retry_after_s:
        window.count > key.perMinute ? Math.ceil(((minute + 1) * 60_000 - Date.now()) / 1000) : null,
    };
    if (window.count > key.perMinute)
      return { ...base, ...(requiredScope ? { requiredScope } : {}), rateLimit, outcome: 'RATE_LIMITED' };
    return { ...base, ...(requiredScope ? { requiredScope } : {}), rateLimit, outcome: 'ALLOWED' };
  };

  void app.register(keytrailGatewayPlugin, {
    emitter: options.emitter,
    verify,
    defaultWorkspaceId: 'ws_demo',
    hashKey: options.hashKey ?? 'example-gateway-hash-key',
    skipRoutes: ['/healthz'],
    source: { name: 'example-gateway', version: '1.0.0' },
    region: 'local',
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/v1/apps', async () => ({ apps: [{ id: 'app_1' }] }));
  app.post<{ Params: { appId: string } }>('/v1/apps/:appId/generate', async (request) => {
    // An allowed request can still fail in the handler: the decision records the 500 sent.
    if (request.params.appId === 'app_broken') throw new Error('generation backend unavailable');
    setCost(request, 15_000); // 0.015 credits for a generation
    return { run: 'run_1' };
  });
  app.post('/v1/deploys', async () => ({ deploy: 'dep_1' }));
  return app;
}

// Run directly: a gateway on PORT (3000) recording into KEYTRAIL_KAFKA_BROKERS.
if (import.meta.url === `file://${process.argv[1]}`) {
  const brokers = process.env.KEYTRAIL_KAFKA_BROKERS?.split(',');
  if (!brokers) {
    console.error('Set KEYTRAIL_KAFKA_BROKERS to the Kafka that `keytrail up` printed.');
    process.exit(2);
  }
  const emitter = createEmitter({
    kafka: createKafka({ brokers, clientId: 'example-gateway' }),
    topicPrefix: process.env.KEYTRAIL_TOPIC_PREFIX ?? 'keytrail.',
  });
  const app = buildGateway({ emitter });
  const url = await app.listen({ port: Number(process.env.PORT ?? 3000) });
  console.log(
    `example gateway at ${url}; try: curl -H 'authorization: Bearer pf_live_demo0000000000000001' ${url}/v1/apps`,
  );
  const stop = async () => {
    await app.close();
    await emitter.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
