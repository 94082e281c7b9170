import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAlerterMetrics, createDeliveryWorker } from '@keytrail/alerter';
import { registerApiRoutes } from '@keytrail/api';
import {
  type ClickHouseDriver,
  createEmbeddedDriver,
  getWebhookEndpoint,
  getWebhookMessage,
  listWebhookAttempts,
  migrate,
  newWebhookMessage,
  writeWebhookEndpoint,
  writeWebhookMessages,
} from '@keytrail/clickhouse';
import { createLogger } from '@keytrail/core';
import { createHttpApp } from '@keytrail/http';
import { createTokenService } from '@keytrail/tokens';
import { RETRY_DELAYS_MS, sealingKey, sealSecrets } from '@keytrail/webhooks';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './kit/index.ts';

// Webhook endpoints as the API checks them (no private address, before and after DNS) and the
// delivery worker against real HTTP answers, on the real ClickHouse engine (embedded).
const ADMIN = 'kt_admin_webhooks_0123456789abcdef';
const WS = 'ws_hooks';
const KEY = sealingKey('webhook-test-sealing-key');
const logger = createLogger('webhook-test', 'warn');

let ch: ClickHouseDriver;
let app: FastifyInstance;
let receiver: Server;
let base = '';
const hits: string[] = [];

beforeAll(async () => {
  ch = createEmbeddedDriver({ path: join(tempDir('webhooks'), 'clickhouse') });
  await migrate(ch);
  const tokens = createTokenService({ ch, adminToken: ADMIN, logger, mode: 'single-process' });
  await tokens.start();
  app = createHttpApp({ logger, authenticate: tokens.authenticate, readiness: {} });
  // DNS as the test wants it: one public name, one that points inside, one that does not exist.
  const resolve = async (host: string) => {
    if (host === 'hooks.example.com') return ['93.184.216.34'];
    if (host === 'inside.example.com') return ['93.184.216.34', '10.0.0.5'];
    throw new Error(`ENOTFOUND ${host}`);
  };
  await registerApiRoutes(app, {
    ch,
    tokens,
    cursorSecret: ADMIN,
    webhooks: { sealingKey: KEY, allowPrivate: false, resolve },
  });
  await app.ready();
  receiver = createServer((request, response) => {
    hits.push(request.url ?? '');
    request.resume();
    request.on('end', () => response.writeHead(request.url === '/gone' ? 410 : 500).end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await new Promise<void>((r) => receiver?.close(() => r()));
  await ch?.close();
});

const create = (url: unknown) =>
  app.inject({
    method: 'POST',
    url: `/v1/workspaces/${WS}/webhooks`,
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { url },
  });

describe('POST /webhooks refuses a URL that leads inside', () => {
  it.each([
    ['loopback', 'http://127.0.0.1/hook', /loopback/],
    ['localhost', 'http://localhost:8080/hook', /localhost/],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/', /linkLocal/],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['carrier-grade NAT', 'http://100.64.1.1/hook', /carrierGradeNat/],
    ['a private network', 'http://10.1.2.3/hook', /private/],
    ['unique-local IPv6', 'http://[fd00::1]/hook', /uniqueLocal/],
    [
      'a name with a private address among its answers',
      'https://inside.example.com/hook',
      /10\.0\.0\.5, a private address/,
    ],
    ['a name that does not resolve', 'https://nowhere.example.com/hook', /does not resolve/],
    ['another scheme', 'ftp://hooks.example.com/hook', /http or https/],
    ['credentials in the URL', 'https://user:pw@hooks.example.com/hook', /credentials/],
  ])('%s', async (_what, url, reason) => {
    const reply = await create(url);
    expect(reply.statusCode).toBe(400);
    const { error } = reply.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details[0].path).toBe('body.url');
    expect(error.details[0].message).toMatch(reason);
    expect(error.request_id).toEqual(expect.any(String));
  });

  it('takes a public one, shows its secret once and stores it sealed', async () => {
    const reply = await create('https://hooks.example.com/keytrail');
    expect(reply.statusCode).toBe(201);
    const { secret, id } = reply.json();
    expect(secret).toMatch(/^whsec_/);
    const stored = JSON.stringify(await ch.query('SELECT * FROM webhook_endpoints'));
    expect(stored).toContain(id);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice(6, 30));
  });
});

describe('the delivery worker', () => {
  const endpoint = async (id: string, path: string, createdAt: number) => {
    await writeWebhookEndpoint(ch, {
      workspace_id: WS,
      endpoint_id: id,
      url: `${base}${path}`,
      events: ['alert.fired'],
      sealed_secrets: sealSecrets(KEY, [
        { secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`, expires_at: null },
      ]),
      created_at: createdAt,
      disabled_at: null,
      disabled_reason: '',
      deleted: false,
      version: Date.now(),
    });
  };
  const message = (endpointId: string, messageId: string) =>
    newWebhookMessage(
      {
        workspace_id: WS,
        endpoint_id: endpointId,
        message_id: messageId,
        event_type: 'alert.fired',
        alert_id: 'alt_x',
        body: '{}',
      },
      Date.now(),
    );

  it('retries on the whole schedule, then disables an endpoint that has taken nothing for days; disables one that answers 410 at once', async () => {
    await endpoint('ep_failing', '/failing', Date.now() - 6 * 86_400_000);
    await endpoint('ep_gone', '/gone', Date.now());
    await writeWebhookMessages(ch, [
      message('ep_failing', 'msg_1'),
      message('ep_gone', 'msg_2'),
      message('ep_gone', 'msg_3'),
    ]);
    const worker = createDeliveryWorker({
      ch,
      logger,
      metrics: createAlerterMetrics(new Registry()),
      sealingKey: KEY,
      allowPrivate: true,
      retryScale: 100_000, // 5 s … 10 h become 1 ms … 360 ms
      pollMs: 50,
    });
    worker.start();
    try {
      const failing = await waitFor(
        'the failing endpoint disabled',
        async () => {
          const e = await getWebhookEndpoint(ch, WS, 'ep_failing');
          return e?.disabled_at ? e : undefined;
        },
        60_000,
        100,
      );
      expect(failing.disabled_reason).toMatch(
        /no delivery has succeeded since .* and a message ran out of retries/,
      );
      const attempts = await listWebhookAttempts(ch, {
        workspaceId: WS,
        endpointId: 'ep_failing',
        messageIds: ['msg_1'],
      });
      // The first send and one retry per delay of the schedule, the last one FAILED for good.
      expect(attempts.map((a) => a.outcome)).toEqual([...RETRY_DELAYS_MS.map(() => 'RETRY'), 'FAILED']);
      expect(attempts.every((a) => a.status_code === 500)).toBe(true);
      expect(
        (await getWebhookMessage(ch, { workspaceId: WS, endpointId: 'ep_failing', messageId: 'msg_1' }))
          ?.status,
      ).toBe('FAILED');

      const gone = await getWebhookEndpoint(ch, WS, 'ep_gone');
      expect(gone?.disabled_reason).toBe('the endpoint answered 410 Gone');
      // Its other message is not sent to a disabled endpoint: one request reached /gone.
      await waitFor('the second message failed', async () => {
        const m = await getWebhookMessage(ch, { workspaceId: WS, endpointId: 'ep_gone', messageId: 'msg_3' });
        return m?.status === 'FAILED' ? m : undefined;
      });
      expect(hits.filter((h) => h === '/gone')).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });
});
