import type { Outcome } from '@keytrail/events';
import type { ClickHouseDriver } from '../driver/types.ts';
import { parseClickHouseTime } from '../time.ts';

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
  /** Buckets whose start lies in [from, to) are returned. */
  from: Date;
  to: Date;
  granularity: UsageGranularity;
}

export interface UsageBucket {
  start: string;
  total: number;
  by_outcome: Partial<Record<Outcome, number>>;
}

// One fixed statement per rollup table: the table name comes from the closed map above, never
// from a request; every value is a bound parameter.
const KEY_USAGE_SQL = Object.fromEntries(
  Object.entries(KEY_USAGE_TABLES).map(([granularity, table]) => [
    granularity,
    `SELECT bucket AS start, outcome, sum(requests) AS requests
     FROM ${table}
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       AND bucket >= {from:DateTime64(3, 'UTC')} AND bucket < {to:DateTime64(3, 'UTC')}
     GROUP BY start, outcome
     ORDER BY start, outcome`,
  ]),
) as Record<UsageGranularity, string>;

/** Requests of one key per bucket, split by outcome, from the rollups. Empty buckets are left out. */
export async function getKeyUsage(ch: ClickHouseDriver, params: KeyUsageParams): Promise<UsageBucket[]> {
  const rows = await ch.query<{ start: string; outcome: Outcome; requests: number }>(
    KEY_USAGE_SQL[params.granularity],
    {
      workspaceId: params.workspaceId,
      keyId: params.keyId,
      from: params.from,
      to: params.to,
    },
  );
  const buckets: UsageBucket[] = [];
  for (const row of rows) {
    const start = parseClickHouseTime(row.start).toISOString();
    let bucket = buckets.at(-1);
    if (bucket?.start !== start) {
      bucket = { start, total: 0, by_outcome: {} };
      buckets.push(bucket);
    }
    bucket.total += row.requests;
    bucket.by_outcome[row.outcome] = row.requests;
  }
  return buckets;
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
