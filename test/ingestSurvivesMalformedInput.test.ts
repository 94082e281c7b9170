import { gzipSync } from 'node:zlib';
import { createRandom } from '@keytrail/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeytrailProcess, startKeytrailUp, waitFor } from './kit/index.ts';

const TOKEN = 'kt_admin_fuzz_0123456789abcdefghij';

/** keytrail up with the fuzz tests' admin token (and any extra variables). */
const startUp = (env: Record<string, string>) =>
  startKeytrailUp('fuzz', { KEYTRAIL_ADMIN_TOKEN: TOKEN, ...env });

/**
 * Seeded garbage of many shapes: bytes, broken JSON, wrong types, odd nesting, odd content types,
 * compressed or falsely claiming to be.
 */
function malformedRequest(
  random: ReturnType<typeof createRandom>,
  i: number,
): { body: string | Uint8Array; contentType: string; contentEncoding?: string } {
  const types = [
    'application/json',
    'application/x-ndjson',
    'application/json; charset=utf-8',
    'text/plain',
    'application/octet-stream',
    '',
  ];
  const randomValue = (depth: number): unknown => {
    const pick = random.int(0, 9);
    if (depth > 3 || pick < 3)
      return random.pick([
        null,
        true,
        -1,
        1e308,
        -0,
        '',
        'x'.repeat(random.int(0, 300)),
        '\u0000\ud83d',
        'NaN',
        12.5,
      ]);
    if (pick < 6) return Array.from({ length: random.int(0, 4) }, () => randomValue(depth + 1));
    return Object.fromEntries(
      Array.from({ length: random.int(0, 5) }, () => [
        random.pick([
          'type',
          'workspace_id',
          'occurred_at',
          'outcome',
          'events',
          '__proto__',
          'constructor',
          'rate_limit',
          'lifecycle_type',
          random.hex(4),
        ]),
        randomValue(depth + 1),
      ]),
    );
  };
  const shapes = [
    () => Buffer.from(Array.from({ length: random.int(0, 200) }, () => random.int(0, 255))),
    () => JSON.stringify({ events: randomValue(0) }).slice(0, random.int(0, 200)),
    () => JSON.stringify({ events: Array.from({ length: random.int(0, 20) }, () => randomValue(1)) }),
    () => JSON.stringify(randomValue(0)),
    () =>
      Array.from({ length: random.int(0, 10) }, () =>
        random.chance(0.5) ? JSON.stringify(randomValue(1)) : random.hex(10),
      ).join('\n'),
    () =>
      JSON.stringify({
        events: [
          {
            type: 'auth_decision',
            workspace_id: 'ws_fuzz',
            occurred_at: randomValue(2),
            request_id: randomValue(2),
            outcome: randomValue(2),
            key_id: 'key_fuzz',
          },
        ],
      }),
    () => `{"events": [${'['.repeat(random.int(1, 5000))}`,
  ];
  const body = shapes[i % shapes.length]!();
  // One in five claims a compression: real (whole or cut short), false, or one not taken.
  if (i % 5 !== 1) return { body, contentType: random.pick(types) };
  const gzipped = gzipSync(body);
  const compressed = random.pick([
    { body: gzipped, contentEncoding: 'gzip' },
    { body: gzipped.subarray(0, random.int(0, gzipped.length)), contentEncoding: 'gzip' },
    { body, contentEncoding: 'deflate' },
    { body, contentEncoding: random.pick(['br', 'zstd', 'gzip, gzip', 'x-gzip']) },
  ]);
  return { ...compressed, contentType: random.pick(types) };
}

describe('ingest under malformed input', () => {
  let up: { app: KeytrailProcess; url: string };
  beforeAll(async () => {
    up = await startUp({ KEYTRAIL_INGEST_RATE_LIMIT: '1000000' });
  });
  afterAll(async () => {
    await up?.app.terminate();
  });

  it('answers 10,000 malformed or random bodies without a 5xx or a crash, and every valid event between them lands', async () => {
    const random = createRandom(7);
    const statuses = new Map<number, number>();
    let validSent = 0;
    const started = Date.UTC(2026, 10, 22, 3, 0, 0);
    const send = async (i: number) => {
      let body: string | Uint8Array;
      let contentType: string;
      let contentEncoding: string | undefined;
      if (i % 100 === 0) {
        // Valid events, with ids, between the garbage.
        const events = Array.from({ length: 5 }, (_, j) => ({
          type: 'auth_decision',
          event_id: `0193cccc-0000-7000-8000-${(i * 10 + j).toString(16).padStart(12, '0')}`,
          workspace_id: 'ws_fuzz',
          occurred_at: started + i * 100 + j,
          request_id: `req_${i}_${j}`,
          key_id: 'key_fuzz',
          outcome: 'ALLOWED',
        }));
        validSent += events.length;
        body = JSON.stringify({ events });
        contentType = 'application/json';
      } else {
        ({ body, contentType, contentEncoding } = malformedRequest(random, i));
      }
      const response = await fetch(`${up.url}/v1/events`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(contentType ? { 'content-type': contentType } : {}),
          ...(contentEncoding ? { 'content-encoding': contentEncoding } : {}),
        },
        body,
      });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    };
    for (let i = 0; i < 10_000; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => send(i + j)));

    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    expect(serverErrors, JSON.stringify([...statuses])).toEqual([]);
    expect(up.app.child.exitCode).toBeNull();
    expect((await fetch(`${up.url}/healthz`)).status).toBe(200);
    const query = 'from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&granularity=day';
    await waitFor(
      'every valid event counted',
      async () => {
        const usage = (await (
          await fetch(`${up.url}/v1/workspaces/ws_fuzz/keys/key_fuzz/usage?${query}`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          })
        ).json()) as { buckets: { total: number }[] };
        return usage.buckets.reduce((n, b) => n + b.total, 0) === validSent;
      },
      60_000,
      250,
    );
    console.log(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}; valid events: ${validSent}`);
  });
});

describe('ingest rate limit', () => {
  it('answers 429 with Retry-After and the JSON error shape past the per-token limit', async () => {
    const { app, url } = await startUp({ KEYTRAIL_INGEST_RATE_LIMIT: '5' });
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: '{"events": []}',
          }),
        ),
      );
      const limited = responses.filter((r) => r.status === 429);
      const accepted = responses.filter((r) => r.status === 202).length;
      // Five per one-second window; the twenty requests may straddle two windows, never three.
      expect(accepted).toBeGreaterThanOrEqual(5);
      expect(accepted).toBeLessThanOrEqual(10);
      expect(limited.length).toBe(20 - accepted);
      expect(limited[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await limited[0]!.json()).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: expect.any(String),
          request_id: limited[0]!.headers.get('x-request-id'),
        },
      });
    } finally {
      await app.terminate();
    }
  });
});
