import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KeytrailProcess,
  spawnKeytrail,
  startKeytrailUp,
  tempDir,
  testBrokers,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

// The alerter inside `keytrail up`, end to end: decisions posted to ingest → Kafka → detection
// → keytrail.alerts → ClickHouse (GET /alerts) and signed webhooks to a real HTTP receiver on
// loopback (KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1). Then SIGKILL and a restart on the same data: the
// open alert is neither fired again nor forgotten.
const ADMIN = 'kt_admin_alerts_0123456789abcdef';
const WS = 'ws_alerts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Verifies a Standard Webhooks signature from the spec (HMAC-SHA256 of "id.timestamp.body"), not with the library that signed it. */
function signedBy(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`)
    .digest('base64');
  return String(r.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

describe('alerts reach GET /alerts and signed webhooks, and survive a SIGKILL', () => {
  let receiver: Server;
  let receiverUrl = '';
  const received: Received[] = [];
  let flakyCalls = 0;
  /** /down answers 503 until the SIGKILL test restarts Keytrail: its delivery is pending across the kill. */
  let downUntilRestart = true;
  let app: KeytrailProcess;
  let url = '';
  const dataDir = tempDir('alerts');
  const prefix = uniquePrefix('alerts');
  const port = { value: 0 };

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  const post = (events: object[]) => call('POST', '/v1/events', { events });
  const at = (path: string) => received.filter((r) => r.path === path);
  const alertsFired = (path: string) =>
    at(path)
      .map((r) => JSON.parse(r.body))
      .filter((b) => b.type === 'alert.fired');

  const endpoints: Record<string, { id: string; secret: string }> = {};

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ path: request.url ?? '', headers: request.headers, body });
        if (request.url === '/gone') response.writeHead(410).end();
        else if (request.url === '/flaky') response.writeHead(++flakyCalls <= 2 ? 503 : 200).end();
        else if (request.url === '/down') response.writeHead(downUntilRestart ? 503 : 200).end();
        else response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const started = await startKeytrailUp('alerts', {
      KEYTRAIL_ADMIN_TOKEN: ADMIN,
      KEYTRAIL_DATA_DIR: dataDir,
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: '1',
      KEYTRAIL_WEBHOOK_RETRY_SCALE: '1000',
      KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      // Every alert fired and the alerter's rebuilds, for the report of a failed test (HTTP
      // requests stay at KEYTRAIL_HTTP_LOG_LEVEL's warn).
      KEYTRAIL_LOG_LEVEL: 'info',
    });
    ({ app, url } = started);
    port.value = Number(new URL(url).port);
    for (const path of ['/ok', '/flaky', '/gone', '/down']) {
      const created = await call('POST', `/v1/workspaces/${WS}/webhooks`, { url: `${receiverUrl}${path}` });
      expect(created.status).toBe(201);
      expect(created.json.secret).toMatch(/^whsec_/);
      endpoints[path] = { id: created.json.id, secret: created.json.secret };
    }
  });

  afterAll(async () => {
    await app?.terminate();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('shows a secret once, then only masked', async () => {
    const { json } = await call('GET', `/v1/workspaces/${WS}/webhooks`);
    expect(json.webhooks).toHaveLength(4);
    for (const hook of json.webhooks) {
      expect(hook).not.toHaveProperty('secret');
      expect(hook.secret_hint).toContain('…');
      expect(JSON.stringify(hook)).not.toContain(endpoints['/ok']!.secret.slice(10, 30));
    }
  });

  it('refuses a rule change out of bounds with details, and takes a valid one', async () => {
    const bad = await call('PUT', `/v1/workspaces/${WS}/alert-rules/ERROR_RATE`, {
      threshold_percent: 500,
      colour: 'red',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
    expect(bad.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body.colour',
      'body.threshold_percent',
    ]);
    const good = await call('PUT', `/v1/workspaces/${WS}/alert-rules/ERROR_RATE`, { threshold_percent: 10 });
    expect(good.status).toBe(200);
    const { json } = await call('GET', `/v1/workspaces/${WS}/alert-rules`);
    const rate = json.rules.find((r: { kind: string }) => r.kind === 'ERROR_RATE');
    expect(rate.settings.threshold_percent).toBe(10);
    expect(rate.changed_at).not.toBeNull();
    expect(
      json.rules.find((r: { kind: string }) => r.kind === 'QUOTA_THRESHOLD').settings.threshold_percent,
    ).toBe(80);
  });

  it('fires one INVALID_KEY_SPIKE for a key enumeration, served by GET /alerts and signed to every endpoint', async () => {
    const now = Date.now();
    const attack = Array.from({ length: 40 }, (_, i) => ({
      type: 'auth_decision',
      workspace_id: WS,
      occurred_at: now - 20_000 + i * 250,
      request_id: `req_probe_${i}`,
      outcome: 'INVALID_KEY',
      http_status: 401,
      key_prefix: 'pf_live_zz',
      presented_key_hash: `hash_${i}`,
      client_ip: '203.0.113.66',
    }));
    expect((await post(attack)).json).toEqual({ accepted: 40, rejected: [] });

    const alert = await waitFor(
      'the alert in GET /alerts',
      async () => {
        const { json } = await call('GET', `/v1/workspaces/${WS}/alerts?status=firing`);
        return json.alerts.find((a: { kind: string }) => a.kind === 'INVALID_KEY_SPIKE');
      },
      60_000,
      250,
    );
    expect(alert).toMatchObject({
      status: 'FIRING',
      severity: 'HIGH',
      scope: { client_ip: '203.0.113.66' },
      evidence: { window_seconds: 60, threshold: 20, distinct_ips: 1 },
    });
    expect(alert.evidence.count).toBeGreaterThanOrEqual(20);
    expect(alert.evidence.distinct_key_hashes).toBeGreaterThanOrEqual(20);
    expect(alert.evidence.sample_request_ids[0]).toMatch(/^req_probe_/);
    expect(Date.parse(alert.detected_at)).toBeGreaterThanOrEqual(Date.parse(alert.started_at));

    // The webhook: Standard Webhooks headers, verified with an HMAC computed here.
    const [ok] = await waitFor('the webhook', () => (at('/ok').length > 0 ? at('/ok') : undefined), 30_000);
    expect(signedBy(endpoints['/ok']!.secret, ok!)).toBe(true);
    expect(signedBy(endpoints['/flaky']!.secret, ok!)).toBe(false);
    expect(ok!.headers['webhook-id']).toMatch(/^msg_/);
    const body = JSON.parse(ok!.body);
    expect(body).toMatchObject({ type: 'alert.fired', data: { id: alert.id, kind: 'INVALID_KEY_SPIKE' } });
    expect(body.data).toEqual(alert);
  });

  it('retries a failing endpoint with the same webhook-id until it answers, and logs every attempt', async () => {
    await waitFor('the flaky endpoint to take it', () => at('/flaky').length >= 3, 60_000);
    const ids = new Set(at('/flaky').map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    // The worker records an attempt once the answer is in: the log catches up a moment later.
    const delivery = await waitFor('the third attempt logged', async () => {
      const { json } = await call(
        'GET',
        `/v1/workspaces/${WS}/webhooks/${endpoints['/flaky']!.id}/deliveries`,
      );
      return json.deliveries[0]?.attempts === 3 ? json.deliveries[0] : undefined;
    });
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 3, event_type: 'alert.fired' });
    expect(
      delivery.attempt_log.map((a: { outcome: string; status_code: number }) => [a.outcome, a.status_code]),
    ).toEqual([
      ['RETRY', 503],
      ['RETRY', 503],
      ['DELIVERED', 200],
    ]);
  });

  it('disables an endpoint that answers 410, and the alert list says so', async () => {
    const { json } = await waitFor('the 410 endpoint disabled', async () => {
      const answer = await call('GET', `/v1/workspaces/${WS}/alerts`);
      return answer.json.disabled_webhooks.length > 0 ? answer : undefined;
    });
    expect(json.disabled_webhooks).toEqual([
      expect.objectContaining({ id: endpoints['/gone']!.id, reason: 'the endpoint answered 410 Gone' }),
    ]);
    expect(at('/gone')).toHaveLength(1);
  });

  it('sends a test message, redelivers on demand with the same id, and signs with both secrets after a rotation', async () => {
    const ok = endpoints['/ok']!;
    const test = await call('POST', `/v1/workspaces/${WS}/webhooks/${ok.id}/test`);
    expect(test.status).toBe(202);
    const tested = await waitFor('the test message', () =>
      at('/ok').find((r) => r.headers['webhook-id'] === test.json.delivery_id),
    );
    expect(JSON.parse(tested.body).type).toBe('webhook.test');
    // Logged as delivered before it is sent again (a redelivery asks for one more attempt).
    await waitFor('the test message logged', async () => {
      const { json } = await call('GET', `/v1/workspaces/${WS}/webhooks/${ok.id}/deliveries`);
      return json.deliveries.some(
        (d: { id: string; status: string }) => d.id === test.json.delivery_id && d.status === 'DELIVERED',
      );
    });

    const rotated = await call('POST', `/v1/workspaces/${WS}/webhooks/${ok.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const again = await call(
      'POST',
      `/v1/workspaces/${WS}/webhooks/${ok.id}/deliveries/${test.json.delivery_id}/redeliver`,
    );
    expect(again.status).toBe(202);
    const resent = await waitFor('the redelivery', () => {
      const copies = at('/ok').filter((r) => r.headers['webhook-id'] === test.json.delivery_id);
      return copies.length >= 2 ? copies[1] : undefined;
    });
    expect(signedBy(rotated.json.secret, resent)).toBe(true);
    expect(signedBy(ok.secret, resent)).toBe(true);
    const unknown = await call(
      'POST',
      `/v1/workspaces/${WS}/webhooks/${ok.id}/deliveries/msg_nope/redeliver`,
    );
    expect(unknown.status).toBe(404);
  });

  it('after a SIGKILL and a restart, neither fires the open alert again nor forgets it', async () => {
    const before = alertsFired('/ok').filter((b) => b.data.scope.client_ip === '203.0.113.66').length;
    expect(before).toBe(1);
    const { json: firing } = await call('GET', `/v1/workspaces/${WS}/alerts?status=firing`);
    // A delivery still pending (its endpoint failing) when the process dies.
    await waitFor('a pending delivery to /down', () => at('/down').length >= 2);
    const pendingId = at('/down')[0]!.headers['webhook-id'];
    await app.terminate('SIGKILL');
    downUntilRestart = false;
    app = spawnKeytrail(['up'], {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_DATA_DIR: dataDir,
      KEYTRAIL_PORT: String(port.value),
      KEYTRAIL_ADMIN_TOKEN: ADMIN,
      KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: '1',
      KEYTRAIL_WEBHOOK_RETRY_SCALE: '1000',
      KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      KEYTRAIL_LOG_LEVEL: 'info',
    });
    await app.waitForOutput(/Keytrail is up at/);
    // More of the same attack after the restart, and a new one from another address: the open
    // episode goes on without a new alert, the new attack fires one (the alerter is live).
    const now = Date.now();
    const probe = (ip: string, tag: string) =>
      Array.from({ length: 30 }, (_, i) => ({
        type: 'auth_decision',
        workspace_id: WS,
        occurred_at: now - 5_000 + i * 100,
        request_id: `req_${tag}_${i}`,
        outcome: 'INVALID_KEY',
        http_status: 401,
        key_prefix: 'pf_live_zz',
        presented_key_hash: `hash_${tag}_${i}`,
        client_ip: ip,
      }));
    await post([...probe('203.0.113.66', 'same'), ...probe('198.51.100.9', 'new')]);
    const fresh = await waitFor(
      'the new attack alerted',
      () => alertsFired('/ok').find((b) => b.data.scope.client_ip === '198.51.100.9'),
      90_000,
      250,
    );
    expect(fresh.data.id).not.toBe(firing.alerts[0].id);
    expect(alertsFired('/ok').filter((b) => b.data.scope.client_ip === '203.0.113.66')).toHaveLength(before);
    const { json: after } = await call('GET', `/v1/workspaces/${WS}/alerts?status=firing`);
    // The pending delivery went out after the restart as the same message (one webhook-id),
    // and the delivery log says DELIVERED.
    const log = await waitFor(
      'the pending delivery delivered',
      async () => {
        const { json } = await call(
          'GET',
          `/v1/workspaces/${WS}/webhooks/${endpoints['/down']!.id}/deliveries`,
        );
        const entry = json.deliveries.find((d: { id: string }) => d.id === pendingId);
        return entry?.status === 'DELIVERED' ? entry : undefined;
      },
      90_000,
      500,
    );
    expect(log.attempt_log.at(-1)).toMatchObject({ outcome: 'DELIVERED', status_code: 200 });
    expect(log.attempt_log.length).toBeGreaterThan(2);
    const copies = at('/down').filter((r) => JSON.parse(r.body).data.id === firing.alerts[0].id);
    expect(new Set(copies.map((r) => r.headers['webhook-id']))).toEqual(new Set([pendingId]));
    // Newest first: the new alert, then the one that was open before the SIGKILL, still open.
    expect(after.alerts.map((a: { id: string }) => a.id)).toEqual([fresh.data.id, firing.alerts[0].id]);
  });
});
