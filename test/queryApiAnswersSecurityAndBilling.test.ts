import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeytrailProcess, startKeytrailUp, waitFor } from './kit/index.ts';

const ADMIN = 'kt_admin_query_api_0123456789abcdef';
const WS = 'ws_q';
const HOUR = 3_600_000;
// A whole hour three hours ago: every decision is inside the last 24 h and the last 30 days.
const H = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
const at = (minutes: number) => new Date(H + minutes * 60_000).toISOString();
const FROM = new Date(H - HOUR).toISOString();
const TO = new Date(H + 3 * HOUR).toISOString();

let n = 0;
const id = () => `0193ffff-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}`;
const lifecycle = (fields: Record<string, unknown>) => ({
  type: 'key_lifecycle',
  event_id: id(),
  workspace_id: WS,
  ...fields,
});
const decision = (fields: Record<string, unknown>) => ({
  type: 'auth_decision',
  event_id: id(),
  workspace_id: WS,
  request_id: `req_${n}`,
  ...fields,
});

function traffic() {
  const events: Record<string, unknown>[] = [
    lifecycle({
      lifecycle_type: 'CREATED',
      key_id: 'key_live',
      occurred_at: at(-50),
      key_prefix: 'pf_live_aaaa',
      key_env: 'LIVE',
      key_type: 'SECRET',
      name: 'Production',
      scopes: ['read'],
      rate_limits: { per_minute: 100, per_hour: null, per_day: null },
    }),
    lifecycle({
      lifecycle_type: 'SCOPES_CHANGED',
      key_id: 'key_live',
      occurred_at: at(-40),
      scopes: ['read', 'build'],
    }),
    lifecycle({
      lifecycle_type: 'CREATED',
      key_id: 'key_old',
      occurred_at: at(-55),
      key_prefix: 'pf_live_oooo',
      key_env: 'LIVE',
      name: 'Old',
    }),
    lifecycle({
      lifecycle_type: 'SUPERSEDED',
      key_id: 'key_old',
      occurred_at: at(-30),
      grace_ends_at: Date.now() + 24 * HOUR,
      replaced_by: 'key_live',
    }),
    lifecycle({
      lifecycle_type: 'CREATED',
      key_id: 'key_rev',
      occurred_at: at(-58),
      key_prefix: 'pf_live_rrrr',
      key_env: 'LIVE',
      name: 'Leaked',
    }),
    lifecycle({
      lifecycle_type: 'REVOKED',
      key_id: 'key_rev',
      occurred_at: at(-20),
      reason: 'leaked in a repo',
    }),
    lifecycle({
      lifecycle_type: 'CREATED',
      key_id: 'key_test',
      occurred_at: at(-57),
      key_prefix: 'pf_test_tttt',
      key_env: 'TEST',
      name: 'CI',
    }),
    lifecycle({
      lifecycle_type: 'SESSION_ISSUED',
      key_id: 'sess_1',
      session_id: 'sess_1',
      end_user_id: 'eu_1',
      parent_key_id: 'key_live',
      occurred_at: at(-10),
    }),
  ];
  // key_live: 30 allowed from one IP over 12:50–13:19 (relative), cost 1,000 each.
  for (let i = 0; i < 30; i++)
    events.push(
      decision({
        occurred_at: at(50 + i),
        key_id: 'key_live',
        key_prefix: 'pf_live_aaaa',
        key_env: 'LIVE',
        outcome: 'ALLOWED',
        route: '/v1/apps',
        client_ip: '10.0.0.1',
        region: 'eu-west-1',
        latency_ms: 10 + i,
        cost: 1_000,
      }),
    );
  // Session traffic of eu_1 through key_live, and of an end user whose id is a spreadsheet formula.
  for (let i = 0; i < 5; i++)
    events.push(
      decision({
        occurred_at: at(90 + i),
        key_id: 'key_live',
        key_env: 'LIVE',
        credential: 'SESSION_TOKEN',
        session_id: 'sess_1',
        end_user_id: 'eu_1',
        outcome: 'ALLOWED',
        route: '/v1/apps/:appId/generate',
        client_ip: '10.0.0.1',
        latency_ms: 100 * (i + 1),
        cost: 15_000,
      }),
    );
  // eu_1 also tried a test key once: its usage lists both keys (a test key is never billed).
  events.push(
    decision({
      occurred_at: at(92),
      key_id: 'key_test',
      key_env: 'TEST',
      end_user_id: 'eu_1',
      outcome: 'ALLOWED',
      client_ip: '10.0.0.1',
      cost: 500,
    }),
  );
  events.push(
    decision({
      occurred_at: at(95),
      key_id: 'key_live',
      key_env: 'LIVE',
      credential: 'SESSION_TOKEN',
      session_id: 'sess_x',
      end_user_id: '=HYPERLINK("http://x")',
      outcome: 'ALLOWED',
      client_ip: '10.0.0.2',
      cost: 7,
    }),
  );
  // A refusal from a new IP (the compromise view marks it new), and test-key traffic (never billed).
  // Its request id is as long as the id rule allows, and not ASCII: 2,304 characters in a URL.
  events.push(
    decision({
      request_id: `req_${'é'.repeat(252)}`,
      occurred_at: at(100),
      key_id: 'key_live',
      key_env: 'LIVE',
      outcome: 'MISSING_SCOPE',
      http_status: 403,
      client_ip: '203.0.113.9',
      origin: 'https://evil.example',
      user_agent: 'curl/8',
    }),
  );
  for (let i = 0; i < 4; i++)
    events.push(
      decision({
        occurred_at: at(60 + i),
        key_id: 'key_test',
        key_env: 'TEST',
        outcome: 'ALLOWED',
        client_ip: '10.0.0.3',
        cost: 500,
      }),
    );
  // A probe: 20 wrong keys from one IP.
  for (let i = 0; i < 20; i++)
    events.push(
      decision({
        occurred_at: at(110 + i / 10),
        key_id: null,
        key_prefix: 'pf_live_zzzz',
        presented_key_hash: `h${i % 5}`,
        outcome: 'INVALID_KEY',
        http_status: 401,
        client_ip: '198.51.100.7',
      }),
    );
  events.push({
    ...decision({ occurred_at: at(60), key_id: 'key_other', key_env: 'LIVE', outcome: 'ALLOWED' }),
    workspace_id: 'ws_other',
  });
  // A key of its own for the paging test (test env, its own end user: no other answer counts it).
  for (let i = 0; i < 25; i++)
    events.push(
      decision({
        occurred_at: at(40 + (i % 5)),
        key_id: 'key_pager',
        key_env: 'TEST',
        end_user_id: 'eu_pager',
        outcome: i % 4 ? 'ALLOWED' : 'RATE_LIMITED',
        http_status: i % 4 ? 200 : 429,
        client_ip: `10.1.0.${i % 3}`,
      }),
    );
  return events;
}

describe('the query API answers what security and billing ask', () => {
  let app: KeytrailProcess;
  let url: string;
  const sent = traffic();
  const get = async (path: string, token = ADMIN) => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: each test reads the JSON shape of its own route
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body, headers: response.headers };
  };

  beforeAll(async () => {
    ({ app, url } = await startKeytrailUp('query', { KEYTRAIL_ADMIN_TOKEN: ADMIN }));
    const posted = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: sent }),
    });
    expect(await posted.json()).toEqual({ accepted: sent.length, rejected: [] });
    const decisions = sent.filter((e) => e.type === 'auth_decision' && e.workspace_id === WS).length;
    await waitFor(
      'everything projected',
      async () => {
        const top = await get(`/v1/workspaces/${WS}/usage?from=${FROM}&to=${TO}&group_by=outcome`);
        const total = (top.body.rows ?? []).reduce((s: number, r: { total: number }) => s + r.total, 0);
        const keys = await get(`/v1/workspaces/${WS}/keys`);
        if (total !== decisions || keys.body.keys?.length !== 5)
          throw new Error(
            `${total} of ${decisions} decisions, keys: ${JSON.stringify(keys.body).slice(0, 300)}; top: ${JSON.stringify(top.body).slice(0, 300)}`,
          );
        return true;
      },
      60_000,
    );
  });

  afterAll(async () => {
    await app?.terminate();
  });

  it('lists keys with their state now, recent use and filters, paged by an opaque cursor', async () => {
    const all = await get(`/v1/workspaces/${WS}/keys`);
    const byId = Object.fromEntries(all.body.keys.map((k: { key_id: string }) => [k.key_id, k]));
    expect(byId.key_live).toMatchObject({
      status: 'ACTIVE',
      env: 'LIVE',
      name: 'Production',
      scopes: ['read', 'build'],
      requests_24h: 37,
      requests_30d: 37,
      errors_24h: 1,
      last_client_ip: '203.0.113.9',
      rate_limits: { per_minute: 100 },
    });
    expect(byId.key_old).toMatchObject({
      status: 'SUPERSEDED',
      replaced_by: 'key_live',
      requests_24h: 0,
      last_used_at: null,
    });
    expect(byId.key_rev).toMatchObject({ status: 'REVOKED' });
    // A session's decisions carry its parent key (counted there too, in key_live's 37): the session's
    // own row counts them and shows its last use, as the key page does.
    expect(byId.sess_1).toMatchObject({
      status: 'ACTIVE',
      end_user_id: 'eu_1',
      parent_key_id: 'key_live',
      requests_24h: 5,
      requests_30d: 5,
      errors_24h: 0,
      last_used_at: at(94),
      last_client_ip: '10.0.0.1',
    });
    expect(byId.sess_1.hourly_24h.reduce((a: number, b: number) => a + b, 0)).toBe(5);
    expect((await get(`/v1/workspaces/${WS}/keys/sess_1`)).body.key).toMatchObject({
      requests_24h: 5,
      last_used_at: at(94),
    });
    expect(
      (await get(`/v1/workspaces/${WS}/keys?status=REVOKED`)).body.keys.map(
        (k: { key_id: string }) => k.key_id,
      ),
    ).toEqual(['key_rev']);
    expect(
      (await get(`/v1/workspaces/${WS}/keys?env=TEST`)).body.keys.map((k: { key_id: string }) => k.key_id),
    ).toEqual(['key_test']);
    expect(
      (await get(`/v1/workspaces/${WS}/keys?q=leak`)).body.keys.map((k: { key_id: string }) => k.key_id),
    ).toEqual(['key_rev']);
    expect(
      (await get(`/v1/workspaces/${WS}/keys?kind=session`)).body.keys.map(
        (k: { key_id: string }) => k.key_id,
      ),
    ).toEqual(['sess_1']);
    expect(
      (await get(`/v1/workspaces/${WS}/keys?kind=key`)).body.keys
        .map((k: { key_id: string }) => k.key_id)
        .sort(),
    ).toEqual(['key_live', 'key_old', 'key_rev', 'key_test']);
    // Two at a time: every key once, newest first, then no cursor.
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 5; page++) {
      const reply = await get(`/v1/workspaces/${WS}/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...reply.body.keys.map((k: { key_id: string }) => k.key_id));
      if (!reply.body.next_cursor) break;
      cursor = reply.body.next_cursor;
    }
    expect(seen).toEqual(all.body.keys.map((k: { key_id: string }) => k.key_id));
    expect(new Set(seen).size).toBe(5);
  });

  it("shows a key's lifecycle, oldest first, with what each event changed; 404 for an unknown key", async () => {
    const page = await get(`/v1/workspaces/${WS}/keys/key_live`);
    expect(page.body.key.key_id).toBe('key_live');
    expect(page.body.timeline.map((t: { lifecycle_type: string }) => t.lifecycle_type)).toEqual([
      'CREATED',
      'SCOPES_CHANGED',
    ]);
    expect(page.body.timeline[1].changes).toEqual({ scopes: { from: ['read'], to: ['read', 'build'] } });
    const old = await get(`/v1/workspaces/${WS}/keys/key_old`);
    expect(old.body.timeline[1].changes).toMatchObject({ replaced_by: { from: null, to: 'key_live' } });
    const missing = await get(`/v1/workspaces/${WS}/keys/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('includes the bucket a range cuts into, with errors, cost, latency and a group_by split', async () => {
    // 12:44 → 13:16 relative to H: cuts into the hours H and H+1.
    const usage = await get(
      `/v1/workspaces/${WS}/keys/key_live/usage?from=${at(44)}&to=${at(76)}&granularity=hour&group_by=client_ip`,
    );
    expect(usage.status).toBe(200);
    expect(usage.body.buckets.map((b: { start: string }) => b.start)).toEqual([at(0), at(60)]);
    const first = usage.body.buckets[0];
    expect(first).toMatchObject({ total: 10, errors: 0, cost: 10_000, by_outcome: { ALLOWED: 10 } });
    expect(first.latency_ms.p50).toBeGreaterThan(10);
    expect(first.groups).toEqual([{ value: '10.0.0.1', total: 10, by_outcome: { ALLOWED: 10 } }]);
  });

  it('pages raw decisions newest first, each exactly once, while new ones arrive', async () => {
    const q = `from=${FROM}&to=${TO}`;
    const ids: string[] = [];
    let cursor = '';
    for (let page = 0; page < 20; page++) {
      const reply = await get(
        `/v1/workspaces/${WS}/keys/key_pager/decisions?${q}&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      ids.push(...reply.body.decisions.map((d: { event_id: string }) => d.event_id));
      if (page === 1) {
        // Newer decisions arrive mid-paging; the pages already handed out are not disturbed.
        await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            events: [
              decision({
                occurred_at: at(119),
                key_id: 'key_pager',
                key_env: 'TEST',
                end_user_id: 'eu_pager',
                outcome: 'ALLOWED',
              }),
            ],
          }),
        });
      }
      if (!reply.body.next_cursor) break;
      cursor = reply.body.next_cursor;
    }
    const expected = sent.filter((e) => e.key_id === 'key_pager');
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(expected.map((e) => e.event_id as string).sort());
    // Same-time decisions (five per minute here) keep their order across pages by event id.
    expect(ids).toHaveLength(25);
    const filtered = await get(`/v1/workspaces/${WS}/keys/key_live/decisions?${q}&outcome=MISSING_SCOPE`);
    expect(filtered.body.decisions).toHaveLength(1);
    expect(filtered.body.decisions[0]).toMatchObject({ client_ip: '203.0.113.9', http_status: 403 });
    // A session's decisions, under its parent key.
    const session = await get(`/v1/workspaces/${WS}/keys/key_live/decisions?${q}&session_id=sess_1`);
    expect(session.body.decisions.map((d: { occurred_at: string }) => d.occurred_at)).toEqual(
      [94, 93, 92, 91, 90].map(at),
    );
    expect(session.body.decisions.every((d: { session_id: string }) => d.session_id === 'sess_1')).toBe(true);
  });

  it("answers a session's usage and sources by its own id, from its parent key's decisions made with it", async () => {
    const usage = await get(
      `/v1/workspaces/${WS}/keys/sess_1/usage?from=${FROM}&to=${TO}&granularity=hour&group_by=route`,
    );
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({ key_id: 'sess_1', parent_key_id: 'key_live', granularity: 'hour' });
    // Its five decisions (90–94), not the parent key's 31 others in the same hour.
    expect(usage.body.buckets).toEqual([
      {
        start: at(60),
        total: 5,
        by_outcome: { ALLOWED: 5 },
        errors: 0,
        cost: 75_000,
        latency_ms: { p50: 300, p90: 500, p99: 500 },
        groups: [{ value: '/v1/apps/:appId/generate', total: 5, by_outcome: { ALLOWED: 5 } }],
      },
    ]);
    const activity = await get(`/v1/workspaces/${WS}/keys/sess_1/activity?from=${at(90)}&to=${TO}`);
    expect(activity.body).toEqual({
      parent_key_id: 'key_live',
      // Not new: the parent key was used from this address before (50–79).
      sources: [expect.objectContaining({ client_ip: '10.0.0.1', requests: 5, new: false })],
    });
    // Its decisions by its own id, paged as a key's are.
    const first = await get(`/v1/workspaces/${WS}/keys/sess_1/decisions?from=${FROM}&to=${TO}&limit=3`);
    expect(first.body.parent_key_id).toBe('key_live');
    const rest = await get(
      `/v1/workspaces/${WS}/keys/sess_1/decisions?from=${FROM}&to=${TO}&limit=3&cursor=${first.body.next_cursor}`,
    );
    expect(
      [...first.body.decisions, ...rest.body.decisions].map((d: { occurred_at: string }) => d.occurred_at),
    ).toEqual([94, 93, 92, 91, 90].map(at));
    expect(rest.body.next_cursor).toBeUndefined();
    // A key answers as before, without parent_key_id; an id that is neither has no usage.
    const key = await get(`/v1/workspaces/${WS}/keys/key_live/usage?from=${FROM}&to=${TO}&granularity=day`);
    expect(key.body).not.toHaveProperty('parent_key_id');
    const none = await get(
      `/v1/workspaces/${WS}/keys/key_nobody/usage?from=${FROM}&to=${TO}&granularity=day`,
    );
    expect(none.body.buckets).toEqual([]);
  });

  it('shows where a key was used from, marking sources not seen in the baseline as new', async () => {
    const activity = await get(
      `/v1/workspaces/${WS}/keys/key_live/activity?from=${at(96)}&to=${TO}&baseline_days=7`,
    );
    expect(activity.body.sources).toEqual([
      expect.objectContaining({
        client_ip: '203.0.113.9',
        origin: 'https://evil.example',
        requests: 1,
        by_outcome: { MISSING_SCOPE: 1 },
        new: true,
      }),
    ]);
    const wider = await get(`/v1/workspaces/${WS}/keys/key_live/activity?from=${at(90)}&to=${TO}`);
    const known = wider.body.sources.find((s: { client_ip: string }) => s.client_ip === '10.0.0.1');
    expect(known.new).toBe(false); // used from it before 90
  });

  it('finds a request by its id, 404 when none', async () => {
    const target = sent.find((e) => e.outcome === 'MISSING_SCOPE')!;
    const found = await get(
      `/v1/workspaces/${WS}/requests/${encodeURIComponent(target.request_id as string)}`,
    );
    expect(found.body.decisions).toEqual([
      expect.objectContaining({ event_id: target.event_id, outcome: 'MISSING_SCOPE' }),
    ]);
    expect((await get(`/v1/workspaces/${WS}/requests/req_nope`)).status).toBe(404);
  });

  it('ranks the workspace by key, end user, route, outcome and client IP; probes by IP, prefix and key hash', async () => {
    const byKey = await get(`/v1/workspaces/${WS}/usage?from=${FROM}&to=${TO}&group_by=key_id`);
    expect(byKey.body.rows[0]).toMatchObject({ value: 'key_live', total: 37, cost: 30_000 + 75_000 + 7 });
    const byUser = await get(`/v1/workspaces/${WS}/usage?from=${FROM}&to=${TO}&group_by=end_user_id&limit=1`);
    expect(byUser.body.rows).toEqual([expect.objectContaining({ value: '', total: 55 })]);
    const probes = await get(`/v1/workspaces/${WS}/probes?from=${FROM}&to=${TO}&group_by=client_ip`);
    expect(probes.body.rows).toEqual([
      expect.objectContaining({
        value: '198.51.100.7',
        attempts: 20,
        distinct_key_hashes: 5,
        distinct_ips: 1,
      }),
    ]);
    const byHash = await get(`/v1/workspaces/${WS}/probes?from=${FROM}&to=${TO}&group_by=presented_key_hash`);
    expect(byHash.body.rows.map((r: { value: string; attempts: number }) => [r.value, r.attempts])).toEqual([
      ['h0', 4],
      ['h1', 4],
      ['h2', 4],
      ['h3', 4],
      ['h4', 4],
    ]);
    const euUsage = await get(
      `/v1/workspaces/${WS}/end-users/eu_1/usage?from=${FROM}&to=${TO}&granularity=day`,
    );
    expect(euUsage.body.buckets).toEqual([
      expect.objectContaining({ total: 6, cost: 75_500, keys: 2, sessions: 1, by_outcome: { ALLOWED: 6 } }),
    ]);
    expect(euUsage.body.by_key).toEqual([
      {
        key_id: 'key_live',
        total: 5,
        by_outcome: { ALLOWED: 5 },
        cost: 75_000,
        sessions: 1,
        first_seen: at(90),
        last_seen: at(94),
      },
      {
        key_id: 'key_test',
        total: 1,
        by_outcome: { ALLOWED: 1 },
        cost: 500,
        sessions: 0,
        first_seen: at(92),
        last_seen: at(92),
      },
    ]);
    expect(euUsage.body.more_keys).toBe(false);
    // The session it signed in with, and the key it was issued from.
    expect(euUsage.body.by_session).toEqual([
      {
        session_id: 'sess_1',
        key_id: 'key_live',
        total: 5,
        by_outcome: { ALLOWED: 5 },
        cost: 75_000,
        first_seen: at(90),
        last_seen: at(94),
      },
    ]);
    expect(euUsage.body.more_sessions).toBe(false);
  });

  it('exports billing by end user, live keys only, reconciling with the live ALLOWED total, byte-identical twice', async () => {
    const day = new Date(H).toISOString().slice(0, 10);
    const next = new Date(H + 24 * HOUR).toISOString().slice(0, 10);
    const path = `/v1/workspaces/${WS}/billing/export?from=${day}T00:00:00Z&to=${next}T00:00:00Z&period=day`;
    // The range may straddle midnight UTC: take two days to be sure every decision is inside.
    const wide = path
      .replace(`to=${next}`, `to=${new Date(H + 48 * HOUR).toISOString().slice(0, 10)}`)
      .replace(`from=${day}`, `from=${new Date(H - 24 * HOUR).toISOString().slice(0, 10)}`);
    const csv = await get(`${wide}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(
      /^attachment; filename="keytrail-billing-ws_q-.*-day\.csv"$/,
    );
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('period_start,end_user_id,billable_requests,cost_micros,keys');
    // The formula-looking end user id is neutralised, and quoted for its quotes.
    expect(csv.body).toContain(`"'=HYPERLINK(""http://x"")"`);
    const ndjson = await get(`${wide}&format=ndjson`);
    const rows = (ndjson.body as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const billable = rows.reduce((s: number, r: { billable_requests: number }) => s + r.billable_requests, 0);
    const liveAllowed = sent.filter(
      (e) =>
        e.type === 'auth_decision' &&
        e.workspace_id === WS &&
        e.key_env === 'LIVE' &&
        e.outcome === 'ALLOWED',
    ).length;
    expect(billable).toBe(liveAllowed);
    // Per end user over the days its rows fall on (the traffic crosses midnight UTC when the
    // test runs between 02:00 and 03:00).
    const totalOf = (endUserId: string) =>
      rows
        .filter((r: { end_user_id: string }) => r.end_user_id === endUserId)
        .reduce(
          (
            sum: { billable_requests: number; cost_micros: number },
            r: { billable_requests: number; cost_micros: number },
          ) => ({
            billable_requests: sum.billable_requests + r.billable_requests,
            cost_micros: sum.cost_micros + r.cost_micros,
          }),
          { billable_requests: 0, cost_micros: 0 },
        );
    expect(totalOf('eu_1')).toEqual({ billable_requests: 5, cost_micros: 75_000 });
    expect(
      rows
        .filter((r: { end_user_id: string }) => r.end_user_id === 'eu_1')
        .every((r: { keys: number }) => r.keys === 1),
    ).toBe(true);
    expect(totalOf('').billable_requests).toBe(30);
    const again = await get(`${wide}&format=csv`);
    expect(again.body).toBe(csv.body);

    // By month (whole UTC months, from the monthly rollup): the same end users and totals.
    const monthOf = (ms: number, ahead: number) =>
      new Date(Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth() + ahead, 1)).toISOString();
    const monthly = await get(
      `/v1/workspaces/${WS}/billing/export?from=${monthOf(H - 24 * HOUR, 0)}&to=${monthOf(H + 48 * HOUR, 1)}&period=month&format=ndjson`,
    );
    expect(monthly.status).toBe(200);
    const monthRows = (monthly.body as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { period_start: string; end_user_id: string; billable_requests: number });
    expect(monthRows.every((r) => r.period_start.endsWith('-01'))).toBe(true);
    expect(monthRows.reduce((s, r) => s + r.billable_requests, 0)).toBe(liveAllowed);
    const euMonths = monthRows.filter((r) => r.end_user_id === 'eu_1');
    expect(euMonths.reduce((s, r) => s + r.billable_requests, 0)).toBe(5);
  });

  it("charts the workspace's traffic per bucket; each key's 24 h sparkline sums to its 24 h count", async () => {
    const series = await get(`/v1/workspaces/${WS}/usage/series?from=${FROM}&to=${TO}&granularity=hour`);
    expect(series.status).toBe(200);
    const decisions = sent.filter((e) => e.type === 'auth_decision' && e.workspace_id === WS);
    const total = series.body.buckets.reduce((s: number, b: { total: number }) => s + b.total, 0);
    // The paging test sends more decisions: the series counts what the top-N table counts.
    const byOutcome = await get(`/v1/workspaces/${WS}/usage?from=${FROM}&to=${TO}&group_by=outcome`);
    expect(total).toBe(byOutcome.body.rows.reduce((s: number, r: { total: number }) => s + r.total, 0));
    expect(total).toBeGreaterThanOrEqual(decisions.length);
    const invalid = series.body.buckets.reduce(
      (s: number, b: { by_outcome: Record<string, number> }) => s + (b.by_outcome.INVALID_KEY ?? 0),
      0,
    );
    expect(invalid).toBe(decisions.filter((d) => d.outcome === 'INVALID_KEY').length);
    for (const b of series.body.buckets as {
      start: string;
      total: number;
      errors: number;
      by_outcome: Record<string, number>;
    }[]) {
      expect(new Date(b.start).getTime() % HOUR).toBe(0);
      expect(b.errors).toBe(b.total - (b.by_outcome.ALLOWED ?? 0));
    }
    // Minutes: the same decisions, in more buckets; a range that cuts into a bucket includes it.
    const minutes = await get(
      `/v1/workspaces/${WS}/usage/series?from=${at(110.05)}&to=${at(111)}&granularity=minute`,
    );
    expect(minutes.body.buckets).toEqual([
      expect.objectContaining({ start: at(110), by_outcome: { INVALID_KEY: 10 } }),
    ]);
    const tooMany = await get(
      `/v1/workspaces/${WS}/usage/series?from=2025-01-01T00:00:00Z&to=${TO}&granularity=minute`,
    );
    expect(tooMany.status).toBe(400);

    const { keys } = (await get(`/v1/workspaces/${WS}/keys`)).body;
    for (const k of keys as { key_id: string; hourly_24h: number[]; requests_24h: number }[]) {
      expect(k.hourly_24h, k.key_id).toHaveLength(25);
      expect(
        k.hourly_24h.reduce((a, b) => a + b, 0),
        k.key_id,
      ).toBe(k.requests_24h);
    }
    expect(
      keys.find((k: { key_id: string }) => k.key_id === 'key_live').hourly_24h.filter((n: number) => n > 0)
        .length,
    ).toBeGreaterThan(0);
  });

  it('previews the billing export with limit, the first rows of the whole export', async () => {
    const from = new Date(H - 24 * HOUR).toISOString().slice(0, 10);
    const to = new Date(H + 48 * HOUR).toISOString().slice(0, 10);
    const path = `/v1/workspaces/${WS}/billing/export?from=${from}T00:00:00Z&to=${to}T00:00:00Z&period=day&format=ndjson`;
    const whole = (await get(path)).body.trim().split('\n');
    const preview = (await get(`${path}&limit=2`)).body.trim().split('\n');
    expect(whole.length).toBeGreaterThan(2);
    expect(preview).toEqual(whole.slice(0, 2));
    expect((await get(`${path}&limit=0`)).status).toBe(400);
  });

  it('lists the workspaces a token may read, and signs a browser in with a one-time code', async () => {
    const admin = await get('/v1/workspaces');
    expect(admin.body.all).toBe(true);
    expect(admin.body.workspaces).toEqual(expect.arrayContaining([WS, 'ws_other']));
    const created = await fetch(`${url}/v1/workspaces/${WS}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader', scopes: ['read'] }),
    });
    const { token } = (await created.json()) as { token: string };
    expect((await get('/v1/workspaces', token)).body).toEqual({ workspaces: [WS], all: false });

    const issue = (body: unknown, bearer = token) =>
      fetch(`${url}/v1/login-codes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const exchange = (code: string) =>
      fetch(`${url}/v1/login-codes/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    // A workspace token may not make a code that lands in another workspace.
    expect((await issue({ workspace_id: 'ws_other' })).status).toBe(403);
    const reply = await issue({ workspace_id: WS });
    expect(reply.status).toBe(201);
    const { code, path } = (await reply.json()) as { code: string; path: string };
    expect(path).toBe(`/#/signin?code=${code}`);
    expect(code).not.toContain(token);
    const first = await exchange(code);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(await first.json()).toEqual({ token, workspace_id: WS });
    // Once only.
    const second = await exchange(code);
    expect(second.status).toBe(401);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    expect((await issue({}, 'kt_unknown')).status).toBe(401);
  });

  it('serves OpenAPI 3.1 generated from the route schemas, rendered at /docs', async () => {
    const doc = await get('/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      '/v1/events',
      '/v1/workspaces/{ws}/tokens',
      '/v1/workspaces/{ws}/keys',
      '/v1/workspaces/{ws}/keys/{keyId}/usage',
      '/v1/workspaces/{ws}/billing/export',
      '/v1/workspaces/{ws}/probes',
      '/v1/workspaces/{ws}/alerts',
      '/v1/workspaces/{ws}/alert-rules/{kind}',
      '/v1/workspaces/{ws}/webhooks',
      '/v1/workspaces/{ws}/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    ])
      expect(paths).toContain(p);
    expect(doc.body.paths['/v1/workspaces/{ws}/keys'].get.responses['403']).toBeDefined();
    const docs = await fetch(`${url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('answers every workspace route with 403 for another workspace and for a token lacking the scope (enumerated from OpenAPI)', async () => {
    const token = async (ws: string, scopes: string[]): Promise<string> => {
      const created = await fetch(`${url}/v1/workspaces/${ws}/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `t-${scopes.join('-')}`, scopes }),
      });
      return ((await created.json()) as { token: string }).token;
    };
    const otherWorkspace = await token('ws_other', ['read', 'admin', 'webhook:write']);
    const ingestOnly = await token(WS, ['ingest']);
    const doc = (await get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).filter(([p]) => p.startsWith('/v1/workspaces/{ws}'));
    expect(routes.length).toBeGreaterThanOrEqual(11);
    for (const [path, methods] of routes) {
      const concrete = path.replace('{ws}', WS).replace(/\{[^}]+\}/g, 'x');
      for (const method of Object.keys(methods)) {
        for (const [who, bearer] of [
          ['another workspace', otherWorkspace],
          ['a token without the scope', ingestOnly],
        ]) {
          const reply = await fetch(`${url}${concrete}`, {
            method: method.toUpperCase(),
            headers: {
              authorization: `Bearer ${bearer}`,
              ...(method === 'get' || method === 'delete' ? {} : { 'content-type': 'application/json' }),
            },
            ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
          });
          expect(reply.status, `${method.toUpperCase()} ${path} with ${who}`).toBe(403);
        }
      }
    }
  });

  it.each([
    ['an unparseable time', `/v1/workspaces/${WS}/keys/key_live/usage?from=yesterday&to=${TO}`, 'from'],
    ['from after to', `/v1/workspaces/${WS}/keys/key_live/usage?from=${TO}&to=${FROM}`, 'from'],
    [
      'too many buckets',
      `/v1/workspaces/${WS}/keys/key_live/usage?from=2025-01-01T00:00:00Z&to=${TO}&granularity=minute`,
      'granularity',
    ],
    ['a limit of 0', `/v1/workspaces/${WS}/keys?limit=0`, 'limit'],
    ['a limit of 1,001', `/v1/workspaces/${WS}/keys?limit=1001`, 'limit'],
    [
      'a tampered cursor',
      `/v1/workspaces/${WS}/keys?cursor=eyJhdCI6IjIwMDAifQ.AAAAAAAAAAAAAAAAAAAAAA`,
      'cursor',
    ],
    ['an unknown group_by', `/v1/workspaces/${WS}/usage?from=${FROM}&to=${TO}&group_by=password`, 'group_by'],
    ['a request id longer than any id', `/v1/workspaces/${WS}/requests/${'r'.repeat(257)}`, 'requestId'],
    ['a path segment too long to route', `/v1/workspaces/${WS}/requests/${'r'.repeat(2_305)}`, 'params'],
    [
      'a monthly export that does not start on the first of a month',
      `/v1/workspaces/${WS}/billing/export?from=2026-10-15T00:00:00Z&to=2026-12-01T00:00:00Z&period=month`,
      'from',
    ],
  ])('refuses %s with 400 VALIDATION_FAILED and details', async (_what, path, field) => {
    const reply = await get(path);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(reply.body.error.details)).toContain(field);
    expect(reply.body.error.request_id).toBe(reply.headers.get('x-request-id'));
  });
});
