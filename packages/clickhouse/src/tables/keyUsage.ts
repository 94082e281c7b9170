import type { Outcome } from '@keytrail/events';
import type { ClickHouseDriver } from '../driver/types.ts';
import { parseClickHouseTime } from '../time.ts';
import { histogramQuantiles, histogramTotal } from './latencyHistogram.ts';

/** The three per-key rollups (0004_key_usage_rollups.sql), by granularity. */
export const KEY_USAGE_TABLES = {
  minute: 'key_usage_minute',
  hour: 'key_usage_hour',
  day: 'key_usage_day',
} as const;

export type UsageGranularity = keyof typeof KEY_USAGE_TABLES;

export interface KeyUsageParams {
  workspaceId: string;
  keyId: string;
  /** Buckets overlapping [from, to) are returned: a bucket the range cuts into is included. */
  from: Date;
  to: Date;
  granularity: UsageGranularity;
}

export interface UsageBucket {
  start: string;
  total: number;
  by_outcome: Partial<Record<Outcome, number>>;
  /** Decisions that were not ALLOWED. */
  errors: number;
  /** Micro-credits. */
  cost: number;
  /** Over the decisions that reported a latency; null when none did. */
  latency_ms: { p50: number; p90: number; p99: number } | null;
}

/** SQL that floors a bound parameter to its bucket start, per granularity (a closed map). */
export const BUCKET_FLOOR = {
  minute: 'toStartOfMinute',
  hour: 'toStartOfHour',
  day: 'toStartOfDay',
} as const satisfies Record<UsageGranularity, string>;

/** A bucket's length, for the statements that bucket raw decisions with toStartOfInterval. */
const GRANULARITY_MINUTES: Record<UsageGranularity, number> = { minute: 1, hour: 60, day: 1440 };

// One fixed statement per rollup table: the table name comes from the closed map above, never
// from a request; every value is a bound parameter. One row per bucket, aggregated once: counts
// per outcome as a map, latency as the bucket's histogram (latencyHistogram.ts), which a hot key
// merges for about two thirds of what its t-digests cost.
const KEY_USAGE_SQL = Object.fromEntries(
  Object.entries(KEY_USAGE_TABLES).map(([granularity, table]) => [
    granularity,
    `SELECT bucket AS start, sumMap(map(outcome, requests)) AS outcomes, sum(cost) AS cost,
            sum(latency_count) AS latency_count,
            sumMap(latency_histogram) AS histogram,
            min(latency_min) AS latency_min, max(latency_max) AS latency_max
     FROM ${table}
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       AND bucket >= ${BUCKET_FLOOR[granularity as UsageGranularity]}({from:DateTime64(3, 'UTC')})
       AND bucket < {to:DateTime64(3, 'UTC')}
     GROUP BY start
     ORDER BY start`,
  ]),
) as Record<UsageGranularity, string>;

// Buckets written before migration 0018 have no histogram: their quantiles come from the
// t-digests, read only for the span of such buckets.
const KEY_USAGE_TDIGEST_SQL = Object.fromEntries(
  Object.entries(KEY_USAGE_TABLES).map(([granularity, table]) => [
    granularity,
    `SELECT bucket AS start, quantilesTDigestMerge(0.5, 0.9, 0.99)(latency) AS latency
     FROM ${table}
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       AND bucket >= {first:DateTime64(3, 'UTC')} AND bucket <= {last:DateTime64(3, 'UTC')}
     GROUP BY start`,
  ]),
) as Record<UsageGranularity, string>;

const QUANTILES = [0.5, 0.9, 0.99] as const;
const round = (n: number) => Math.round(n * 1000) / 1000;

/** A bucket's (outcome, requests) pairs as its total, its counts by outcome (sorted) and its errors. */
export function outcomeCounts(outcomes: [Outcome, number][]): {
  total: number;
  by_outcome: Partial<Record<Outcome, number>>;
  errors: number;
} {
  const counts = { total: 0, by_outcome: {} as Partial<Record<Outcome, number>>, errors: 0 };
  for (const [outcome, requests] of [...outcomes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    counts.total += requests;
    counts.by_outcome[outcome] = requests;
    if (outcome !== 'ALLOWED') counts.errors += requests;
  }
  return counts;
}

interface KeyUsageRow {
  start: string;
  outcomes: Partial<Record<Outcome, number>>;
  cost: number;
  latency_count: number;
  /** (buckets, counts), buckets ascending. */
  histogram: [number[], number[]];
  latency_min: number;
  latency_max: number;
}

/** Requests of one key per bucket: by outcome, errors, cost and latency, from the rollups. Empty buckets are left out. */
export async function getKeyUsage(ch: ClickHouseDriver, params: KeyUsageParams): Promise<UsageBucket[]> {
  const key = { workspaceId: params.workspaceId, keyId: params.keyId };
  const rows = await ch.query<KeyUsageRow>(KEY_USAGE_SQL[params.granularity], {
    ...key,
    from: params.from,
    to: params.to,
  });
  const latencies = rows.map((row) =>
    row.latency_count > 0 && histogramTotal(row.histogram[1]) === row.latency_count
      ? histogramQuantiles(
          { buckets: row.histogram[0], counts: row.histogram[1], min: row.latency_min, max: row.latency_max },
          QUANTILES,
        )
      : null,
  );
  const older = rows.filter((row, i) => row.latency_count > 0 && latencies[i] === null);
  if (older.length > 0) {
    const digests = await ch.query<{ start: string; latency: number[] }>(
      KEY_USAGE_TDIGEST_SQL[params.granularity],
      {
        ...key,
        first: parseClickHouseTime(older[0]!.start),
        last: parseClickHouseTime(older.at(-1)!.start),
      },
    );
    const byStart = new Map(digests.map((d) => [d.start, d.latency]));
    rows.forEach((row, i) => {
      if (latencies[i] === null) latencies[i] = byStart.get(row.start) ?? null;
    });
  }
  return rows.map(
    (row, i): UsageBucket => ({
      start: parseClickHouseTime(row.start).toISOString(),
      ...outcomeCounts(Object.entries(row.outcomes) as [Outcome, number][]),
      cost: row.cost,
      latency_ms:
        row.latency_count > 0 && latencies[i]
          ? { p50: round(latencies[i][0]!), p90: round(latencies[i][1]!), p99: round(latencies[i][2]!) }
          : null,
    }),
  );
}

// A session token's buckets, from its parent key's raw decisions (the rollups count them under
// the parent): the same bucket shape, with exact latency quantiles.
const SESSION_USAGE_SQL = `
  SELECT toStartOfInterval(occurred_at, toIntervalMinute({minutes:UInt32})) AS start,
         sumMap(map(outcome, toUInt64(1))) AS outcomes, sum(cost) AS cost,
         countIf(latency_ms IS NOT NULL) AS latency_count,
         quantilesExactIf(0.5, 0.9, 0.99)(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency
  FROM auth_decisions
  WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String} AND session_id = {sessionId:String}
    AND occurred_at >= toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalMinute({minutes:UInt32}))
    AND occurred_at < {to:DateTime64(3, 'UTC')}
  GROUP BY start
  ORDER BY start`;

/**
 * Requests of one session token per bucket, as getKeyUsage answers for a key: `keyId` is the
 * session's parent key. Read from the raw decisions (kept KEYTRAIL_RAW_TTL_DAYS), so give a
 * range no earlier than the session's issue time: that bounds the parent key's rows read.
 */
export async function getSessionUsage(
  ch: ClickHouseDriver,
  params: KeyUsageParams & { sessionId: string },
): Promise<UsageBucket[]> {
  const rows = await ch.query<{
    start: string;
    outcomes: Partial<Record<Outcome, number>>;
    cost: number;
    latency_count: number;
    latency: number[];
  }>(SESSION_USAGE_SQL, {
    workspaceId: params.workspaceId,
    keyId: params.keyId,
    sessionId: params.sessionId,
    from: params.from,
    to: params.to,
    minutes: GRANULARITY_MINUTES[params.granularity],
  });
  return rows.map(
    (row): UsageBucket => ({
      start: parseClickHouseTime(row.start).toISOString(),
      ...outcomeCounts(Object.entries(row.outcomes) as [Outcome, number][]),
      cost: row.cost,
      latency_ms:
        row.latency_count > 0
          ? { p50: round(row.latency[0]!), p90: round(row.latency[1]!), p99: round(row.latency[2]!) }
          : null,
    }),
  );
}

/** Dimensions a key's usage can be split by (raw decisions; a closed map of column names). */
export const USAGE_GROUP_COLUMNS = {
  route: 'route',
  end_user_id: 'end_user_id',
  client_ip: 'client_ip',
  region: 'region',
  origin: 'origin',
} as const;
export type UsageGroupBy = keyof typeof USAGE_GROUP_COLUMNS;

const KEY_USAGE_GROUPS_SQL = Object.fromEntries(
  Object.entries(USAGE_GROUP_COLUMNS).map(([groupBy, column]) => [
    groupBy,
    `SELECT toStartOfInterval(occurred_at, toIntervalMinute({minutes:UInt32})) AS start,
            ${column} AS value, outcome, count() AS requests
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       AND ({sessionId:String} = '' OR session_id = {sessionId:String})
       AND occurred_at >= toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalMinute({minutes:UInt32}))
       AND occurred_at < {to:DateTime64(3, 'UTC')}
     GROUP BY start, value, outcome
     ORDER BY start, value, outcome`,
  ]),
) as Record<UsageGroupBy, string>;

export interface UsageGroup {
  value: string;
  total: number;
  by_outcome: Partial<Record<Outcome, number>>;
}

/**
 * A key's usage per bucket split by one dimension, from the raw decisions (kept
 * KEYTRAIL_RAW_TTL_DAYS); with `sessionId`, one session's of its parent key `keyId`.
 */
export async function getKeyUsageGroups(
  ch: ClickHouseDriver,
  params: KeyUsageParams & { groupBy: UsageGroupBy; sessionId?: string | undefined },
): Promise<Map<string, UsageGroup[]>> {
  const rows = await ch.query<{ start: string; value: string; outcome: Outcome; requests: number }>(
    KEY_USAGE_GROUPS_SQL[params.groupBy],
    {
      workspaceId: params.workspaceId,
      keyId: params.keyId,
      sessionId: params.sessionId ?? '',
      from: params.from,
      to: params.to,
      minutes: GRANULARITY_MINUTES[params.granularity],
    },
  );
  const byStart = new Map<string, UsageGroup[]>();
  for (const row of rows) {
    const start = parseClickHouseTime(row.start).toISOString();
    const groups = byStart.get(start) ?? [];
    byStart.set(start, groups);
    let group = groups.at(-1);
    if (group?.value !== row.value) {
      group = { value: row.value, total: 0, by_outcome: {} };
      groups.push(group);
    }
    group.total += row.requests;
    group.by_outcome[row.outcome] = row.requests;
  }
  return byStart;
}

export interface RollupTotals {
  key_id: string;
  outcome: string;
  requests: number;
  cost: number;
}

/** Requests and cost per key and outcome in one rollup, for a workspace (all time). */
export function getRollupTotals(
  ch: ClickHouseDriver,
  workspaceId: string,
  granularity: UsageGranularity,
): Promise<RollupTotals[]> {
  return ch.query<RollupTotals>(ROLLUP_TOTALS_SQL[granularity], { workspaceId });
}

const ROLLUP_TOTALS_SQL = Object.fromEntries(
  Object.entries(KEY_USAGE_TABLES).map(([granularity, table]) => [
    granularity,
    `SELECT key_id, outcome, sum(requests) AS requests, sum(cost) AS cost
     FROM ${table}
     WHERE workspace_id = {workspaceId:String}
     GROUP BY key_id, outcome
     ORDER BY key_id, outcome`,
  ]),
) as Record<UsageGranularity, string>;
