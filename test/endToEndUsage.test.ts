import { gzipSync } from 'node:zlib';
import { isPortFree } from '@keytrail/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type KeytrailProcess,
  spawnKeytrail,
  tempDir,
  testBrokers,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

const TOKEN = 'kt_admin_e2e_test_token_0123456789';
const WS = 'ws_e2e';
const BASE = Date.UTC(2026, 10, 22, 4, 0, 0);

interface IngestReply {
  accepted: number;
  rejected: { index: number; errors: { path: string; message: string }[] }[];
}
interface UsageReply {
  buckets: { start: string; total: number; by_outcome: Record<string, number> }[];
}

/** The one end-to-end slice: POST /v1/events → Kafka → projector → ClickHouse → GET …/usage. */
describe('keytrail up: ingest to usage, end to end', () => {
  let app: KeytrailProcess;
  let url: string;
  let port: number;
  const headers = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    port = await freePort();
    app = spawnKeytrail(['up'], {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_TOPIC_PREFIX: uniquePrefix('e2e'),
      KEYTRAIL_DATA_DIR: tempDir('e2e'),
      KEYTRAIL_PORT: String(port),
      KEYTRAIL_ADMIN_TOKEN: TOKEN,
    });
    url = (await app.waitForOutput(/Keytrail is up at (http:\/\/\S+)/))[1]!;
  });

  // Stopping is asserted here, after every test, so no test depends on running before it.
  afterAll(async () => {
    if (!app) return;
    expect(await app.terminate('SIGTERM'), 'exit code on SIGTERM').toBe(0);
    expect(await isPortFree(port), 'port released').toBe(true);
  });

  it('is alive and becomes ready once Kafka, ClickHouse, migrations and the projector are', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await waitFor('ready', async () => {
      const response = await fetch(`${url}/readyz`);
      return response.status === 200 ? response.json() : undefined;
    });
    expect(ready).toEqual({
      status: 'ready',
      checks: { kafka: true, clickhouse: true, migrations: true, projector: true },
    });
  });

  it('counts exactly what was sent, by minute and outcome, for JSON and gzipped NDJSON bodies', async () => {
    // 300 decisions over 3 minutes for key_a (+ noise on another key and workspace).
    const outcomes = [
      'ALLOWED',
      'ALLOWED',
      'ALLOWED',
      'INVALID_KEY',
      'RATE_LIMITED',
      'MISSING_SCOPE',
    ] as const;
    const events = Array.from({ length: 300 }, (_, i) => ({
      type: 'auth_decision',
      workspace_id: i % 10 === 0 ? 'ws_other' : WS,
      occurred_at: new Date(BASE + (i % 3) * 60_000 + i).toISOString(),
      request_id: `req_${i}`,
      key_id: i % 7 === 0 ? 'key_b' : 'key_a',
      outcome: outcomes[i % outcomes.length],
      latency_ms: i % 50,
    }));
    const invalid = [{ type: 'auth_decision', workspace_id: WS }, { type: 'nope' }];
    const first = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [...events.slice(0, 200), ...invalid] }),
    });
    expect(first.status).toBe(202);
    const firstBody = (await first.json()) as IngestReply;
    expect(firstBody.accepted).toBe(200);
    expect(firstBody.rejected.map((r) => r.index)).toEqual([200, 201]);
    expect(firstBody.rejected[0]!.errors.map((e) => e.path)).toEqual([
      'occurred_at',
      'request_id',
      'outcome',
    ]);

    const ndjson = `${events
      .slice(200)
      .map((e) => JSON.stringify(e))
      .join('\n')}\n{not json}\n`;
    // Sent gzipped, as a gateway saving bandwidth would.
    const second = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync(ndjson),
    });
    expect(second.status).toBe(202);
    const secondBody = await second.json();
    expect(secondBody).toMatchObject({ accepted: 100, rejected: [{ index: 100 }] });

    const expected = new Map<
      string,
      { start: string; total: number; by_outcome: Record<string, number>; errors: number; cost: number }
    >();
    for (const e of events.filter((e) => e.workspace_id === WS && e.key_id === 'key_a')) {
      const start = new Date(Math.floor(Date.parse(e.occurred_at) / 60_000) * 60_000).toISOString();
      const bucket = expected.get(start) ?? { start, total: 0, by_outcome: {}, errors: 0, cost: 0 };
      bucket.total++;
      if (e.outcome !== 'ALLOWED') bucket.errors++;
      bucket.by_outcome[e.outcome!] = (bucket.by_outcome[e.outcome!] ?? 0) + 1;
      expected.set(start, bucket);
    }
    const total = [...expected.values()].reduce((n, b) => n + b.total, 0);
    const query = `from=${new Date(BASE - 3_600_000).toISOString()}&to=${new Date(BASE + 3_600_000).toISOString()}&granularity=minute`;
    const usage = await waitFor('all decisions projected', async () => {
      const response = await fetch(`${url}/v1/workspaces/${WS}/keys/key_a/usage?${query}`, { headers });
      const body = (await response.json()) as UsageReply;
      const seen = body.buckets?.reduce((n, b) => n + b.total, 0);
      return seen === total ? body : undefined;
    });
    expect(usage).toEqual({
      workspace_id: WS,
      key_id: 'key_a',
      granularity: 'minute',
      // Latency quantiles are t-digest estimates: their presence and order are checked below.
      buckets: [...expected.values()]
        .sort((a, b) => a.start.localeCompare(b.start))
        .map((b) => ({ ...b, latency_ms: expect.any(Object) })),
    });
    for (const b of usage.buckets as unknown as { latency_ms: { p50: number; p90: number; p99: number } }[]) {
      expect(b.latency_ms.p50).toBeLessThanOrEqual(b.latency_ms.p90);
      expect(b.latency_ms.p90).toBeLessThanOrEqual(b.latency_ms.p99);
      expect(b.latency_ms.p99).toBeLessThan(50);
    }

    // One insert writes the minute rollup and then the hour rollup fed from it, each its own part:
    // a read between the two commits sees the last insert in minutes and not yet in hours.
    const hourly = await waitFor('the hour rollup complete', async () => {
      const body = (await (
        await fetch(`${url}/v1/workspaces/${WS}/keys/key_a/usage?${query.replace('minute', 'hour')}`, {
          headers,
        })
      ).json()) as UsageReply;
      return body.buckets?.[0]?.total === total ? body : undefined;
    });
    expect(hourly.buckets).toHaveLength(1);
    expect(hourly.buckets[0]!.total).toBe(total);
  });

  it('echoes a client X-Request-Id and makes one up otherwise', async () => {
    const given = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'req_from_client-1' } });
    expect(given.headers.get('x-request-id')).toBe('req_from_client-1');
    const made = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it.each([
    [
      'no token',
      '/v1/workspaces/ws/keys/k/usage?from=2026-11-22T00:00:00Z&to=2026-11-22T01:00:00Z',
      {},
      undefined,
      401,
      'UNAUTHENTICATED',
    ],
    [
      'a wrong token',
      '/v1/workspaces/ws/keys/k/usage?from=2026-11-22T00:00:00Z&to=2026-11-22T01:00:00Z',
      { authorization: 'Bearer nope' },
      undefined,
      401,
      'UNAUTHENTICATED',
    ],
    ['an unknown route', '/v1/nothing', { authorization: `Bearer ${TOKEN}` }, undefined, 404, 'NOT_FOUND'],
    [
      'an unknown granularity',
      '/v1/workspaces/ws/keys/k/usage?from=2026-11-22T00:00:00Z&to=2026-11-22T01:00:00Z&granularity=week',
      { authorization: `Bearer ${TOKEN}` },
      undefined,
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a missing from',
      '/v1/workspaces/ws/keys/k/usage?to=2026-11-22T01:00:00Z',
      { authorization: `Bearer ${TOKEN}` },
      undefined,
      400,
      'VALIDATION_FAILED',
    ],
    [
      'from after to',
      '/v1/workspaces/ws/keys/k/usage?from=2026-11-22T02:00:00Z&to=2026-11-22T01:00:00Z',
      { authorization: `Bearer ${TOKEN}` },
      undefined,
      400,
      'VALIDATION_FAILED',
    ],
    [
      'too many buckets',
      '/v1/workspaces/ws/keys/k/usage?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=minute',
      { authorization: `Bearer ${TOKEN}` },
      undefined,
      400,
      'VALIDATION_FAILED',
    ],
    [
      'unparseable JSON',
      '/v1/events',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      '{"events": [',
      400,
      'INVALID_BODY',
    ],
    [
      'a body without events',
      '/v1/events',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      '{"items": []}',
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a wrong content type',
      '/v1/events',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
      'a,b',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'more than 5,000 events',
      '/v1/events',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      JSON.stringify({ events: Array.from({ length: 5001 }, () => ({})) }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'more than 5 MiB',
      '/v1/events',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      JSON.stringify({ events: [{ pad: 'x'.repeat(5 * 1024 * 1024) }] }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('answers %s with its status and the JSON error shape', async (_name, path, hdrs, body, status, code) => {
    const response = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: hdrs as Record<string, string>,
      body,
    });
    expect(response.status).toBe(status);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    const json = await response.json();
    expect(json).toEqual({
      error: expect.objectContaining({ code, message: expect.any(String), request_id: requestId }),
    });
  });

  it('serves Prometheus metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/keytrail_ingest_events_accepted_total \d+/);
    expect(text).toMatch(/keytrail_projector_events_total\{topic="[^"]+auth-decisions"\} \d+/);
  });

  it('keytrail simulate sends seeded traffic to it and reports what was accepted', async () => {
    const run = spawnKeytrail(
      ['simulate', '--url', url, '--token', TOKEN, '--events', '300', '--seed', '5', '--no-attack'],
      {},
    );
    expect(await run.exited, run.output()).toBe(0);
    const result = JSON.parse(run.output().trim().split('\n').at(-1)!) as {
      accepted: number;
      rejected: number;
    };
    expect(result.rejected).toBe(0);
    expect(result.accepted).toBeGreaterThanOrEqual(300);
  });
});
