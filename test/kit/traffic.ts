import type { ClickHouseDriver } from '@keytrail/clickhouse';
import { countAuthDecisions, getEndUserUsage, getRollupTotals } from '@keytrail/clickhouse';
import {
  type AuthDecision,
  authDecisionKey,
  createEventCodec,
  type KeyLifecycle,
  keyLifecycleKey,
  type Outcome,
} from '@keytrail/events';
import { createIdempotentProducer, type Topics } from '@keytrail/kafka';
import type { Kafka } from 'kafkajs';
import { expect } from 'vitest';

const OUTCOMES: Outcome[] = [
  'ALLOWED',
  'ALLOWED',
  'ALLOWED',
  'ALLOWED',
  'INVALID_KEY',
  'MISSING_SCOPE',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
];
const STATUS: Record<string, number> = {
  ALLOWED: 200,
  INVALID_KEY: 401,
  MISSING_SCOPE: 403,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 403,
};
const BASE = Date.UTC(2026, 10, 20, 0, 0, 0);

export interface Expected {
  count: number;
  /** workspace → "key|outcome" → { requests, cost } */
  byKeyOutcome: Map<string, Map<string, { requests: number; cost: number }>>;
  /** workspace → end user → { requests, billable_requests, cost } (live keys only) */
  byEndUser: Map<string, Map<string, { requests: number; billable_requests: number; cost: number }>>;
}

/**
 * `count` deterministic auth decisions across two workspaces, eight keys (live and test), end
 * users, outcomes, costs and three days, with the exact sums every rollup must show.
 * `retries` of them are sent a second time as separate messages (a client retry, same event_id).
 */
export function makeDecisions(count: number, options: { retries?: number; seed?: number } = {}) {
  const events: AuthDecision[] = [];
  const expected: Expected = { count, byKeyOutcome: new Map(), byEndUser: new Map() };
  const seed = options.seed ?? 1;
  for (let i = 0; i < count; i++) {
    const workspace = i % 5 === 0 ? 'ws_b' : 'ws_a';
    const keyNo = (i * 7 + seed) % 8;
    const live = keyNo < 6;
    const outcome = OUTCOMES[(i * 13 + seed) % OUTCOMES.length]!;
    const endUser = i % 3 === 0 ? `eu_${(i * 11) % 17}` : null;
    const cost = outcome === 'ALLOWED' ? ((i * 31) % 50) * 1000 : 0;
    const event: AuthDecision = {
      event_id: `0193${seed.toString(16).padStart(4, '0')}-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      occurred_at: BASE + ((i * 7919) % (3 * 86_400_000)),
      workspace_id: workspace,
      request_id: `req_${seed}_${i}`,
      key_id: `key_${keyNo}`,
      key_prefix: `${live ? 'pf_live_' : 'pf_test_'}${keyNo}abc`,
      presented_key_hash: null,
      key_env: live ? 'LIVE' : 'TEST',
      credential: endUser ? 'SESSION_TOKEN' : 'API_KEY',
      key_type: 'SECRET',
      session_id: endUser ? `sess_${endUser}` : null,
      end_user_id: endUser,
      resource: null,
      method: 'POST',
      route: '/v1/run',
      required_scope: 'build',
      granted_scopes: ['build'],
      outcome,
      http_status: STATUS[outcome]!,
      deprecated_key: false,
      rate_limit: null,
      quota: null,
      latency_ms: (i % 97) + 0.5,
      cost,
      client_ip: `10.0.${i % 7}.${i % 250}`,
      origin: null,
      user_agent: null,
      region: 'eu-west-1',
      source: { name: 'test', version: '1' },
    };
    events.push(event);
    const perKey = expected.byKeyOutcome.get(workspace) ?? new Map();
    expected.byKeyOutcome.set(workspace, perKey);
    const k = `${event.key_id}|${outcome}`;
    const entry = perKey.get(k) ?? { requests: 0, cost: 0 };
    entry.requests++;
    entry.cost += cost;
    perKey.set(k, entry);
    if (live && endUser) {
      const perUser = expected.byEndUser.get(workspace) ?? new Map();
      expected.byEndUser.set(workspace, perUser);
      const u = perUser.get(endUser) ?? { requests: 0, billable_requests: 0, cost: 0 };
      u.requests++;
      if (outcome === 'ALLOWED') u.billable_requests++;
      u.cost += cost;
      perUser.set(endUser, u);
    }
  }
  const retries = events
    .filter((_, i) => i % Math.max(1, Math.floor(count / (options.retries || 1))) === 0)
    .slice(0, options.retries ?? 0);
  return { events, retries, expected };
}

/** Produces events (Avro, keyed as ingest keys them) straight to the decisions topic. */
export function produceDecisions(
  kafka: Kafka,
  topics: Topics,
  events: readonly AuthDecision[],
): Promise<void> {
  return produceEvents(kafka, topics.authDecisions, 'auth_decision', events);
}

/** Produces lifecycle events (Avro, keyed as ingest keys them) straight to the lifecycle topic. */
export function produceLifecycle(
  kafka: Kafka,
  topics: Topics,
  events: readonly KeyLifecycle[],
): Promise<void> {
  return produceEvents(kafka, topics.keyLifecycle, 'key_lifecycle', events);
}

async function produceEvents<K extends 'auth_decision' | 'key_lifecycle'>(
  kafka: Kafka,
  topic: string,
  kind: K,
  events: readonly (K extends 'auth_decision' ? AuthDecision : KeyLifecycle)[],
): Promise<void> {
  const codec = createEventCodec();
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 5_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: events.slice(i, i + 5_000).map((e) =>
          kind === 'auth_decision'
            ? {
                key: authDecisionKey(e as AuthDecision),
                value: codec.encode('auth_decision', e as AuthDecision),
              }
            : {
                key: keyLifecycleKey(e as KeyLifecycle),
                value: codec.encode('key_lifecycle', e as KeyLifecycle),
              },
        ),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Asserts the raw table, every key rollup and the per-end-user rollup hold exactly `expected`. */
export async function expectExactCounts(ch: ClickHouseDriver, expected: Expected): Promise<void> {
  const [dupes] = await ch.query<{ rows: number; ids: number }>(
    'SELECT count() AS rows, uniqExact(event_id) AS ids FROM auth_decisions',
  );
  expect(dupes).toEqual({ rows: expected.count, ids: expected.count });
  expect(await countAuthDecisions(ch)).toBe(expected.count);
  for (const [workspace, perKey] of expected.byKeyOutcome) {
    const want = [...perKey.entries()]
      .map(([k, v]) => ({
        key_id: k.split('|')[0]!,
        outcome: k.split('|')[1]!,
        requests: v.requests,
        cost: v.cost,
      }))
      .sort((a, b) => a.key_id.localeCompare(b.key_id) || a.outcome.localeCompare(b.outcome));
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      expect(await getRollupTotals(ch, workspace, granularity), `${workspace} ${granularity}`).toEqual(want);
    }
    const users = [...(expected.byEndUser.get(workspace) ?? new Map()).entries()]
      .map(([end_user_id, v]) => ({ end_user_id, ...v }))
      .sort((a, b) => a.end_user_id.localeCompare(b.end_user_id));
    expect(
      await getEndUserUsage(ch, { workspaceId: workspace, fromDay: '2026-01-01', toDay: '2027-01-01' }),
      `${workspace} end users`,
    ).toEqual(users);
  }
}

/** Sum of committed offsets of a group over a topic, and the topic's end offsets. */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    let lag = 0;
    for (const end of ends) {
      const done = committed?.partitions.find((p) => p.partition === end.partition);
      const at = done && Number(done.offset) >= 0 ? Number(done.offset) : 0;
      lag += Number(end.high) - at;
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}
