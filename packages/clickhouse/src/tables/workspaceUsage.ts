import type { Outcome } from '@keytrail/events';
import type { ClickHouseDriver } from '../driver/types.ts';
import { parseClickHouseTime } from '../time.ts';
import { BUCKET_FLOOR, KEY_USAGE_TABLES, outcomeCounts, type UsageGranularity } from './keyUsage.ts';

/**
 * What a workspace's usage can be ranked by. key_id and outcome come from the hourly rollup;
 * the others from the raw decisions (kept KEYTRAIL_RAW_TTL_DAYS). Column names come from this
 * closed map, never from a request.
 */
export const TOP_USAGE_SOURCES = {
  key_id: { table: 'key_usage_hour', time: 'bucket', column: 'key_id', count: 'sum(requests)' },
  outcome: { table: 'key_usage_hour', time: 'bucket', column: 'outcome', count: 'sum(requests)' },
  end_user_id: { table: 'auth_decisions', time: 'occurred_at', column: 'end_user_id', count: 'count()' },
  route: { table: 'auth_decisions', time: 'occurred_at', column: 'route', count: 'count()' },
  client_ip: { table: 'auth_decisions', time: 'occurred_at', column: 'client_ip', count: 'count()' },
} as const;
export type TopUsageBy = keyof typeof TOP_USAGE_SOURCES;

const TOP_USAGE_SQL = Object.fromEntries(
  Object.entries(TOP_USAGE_SOURCES).map(([by, { table, time, column, count }]) => [
    by,
    // Hourly rollup: an hour the range cuts into counts whole, as the key usage route does.
    `SELECT value, sum(n) AS total, groupArray((outcome, n)) AS outcomes, sum(c) AS cost
     FROM (
       SELECT ${column} AS value, outcome, ${count} AS n, sum(cost) AS c
       FROM ${table}
       WHERE workspace_id = {workspaceId:String}
         AND ${time} >= ${table === 'key_usage_hour' ? 'toStartOfHour' : ''}({from:DateTime64(3, 'UTC')})
         AND ${time} < {to:DateTime64(3, 'UTC')}
       GROUP BY value, outcome
     )
     GROUP BY value
     ORDER BY total DESC, value
     LIMIT {limit:UInt32}`,
  ]),
) as Record<TopUsageBy, string>;

export interface TopUsageRow {
  value: string;
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
}

/** The workspace's top values of one dimension by requests in [from, to). */
export async function getTopUsage(
  ch: ClickHouseDriver,
  params: { workspaceId: string; from: Date; to: Date; groupBy: TopUsageBy; limit: number },
): Promise<TopUsageRow[]> {
  const rows = await ch.query<{ value: string; total: number; outcomes: [string, number][]; cost: number }>(
    TOP_USAGE_SQL[params.groupBy],
    { workspaceId: params.workspaceId, from: params.from, to: params.to, limit: params.limit },
  );
  return rows.map(({ outcomes, ...row }) => ({ ...row, by_outcome: Object.fromEntries(outcomes) }));
}

export interface WorkspaceUsageBucket {
  start: string;
  total: number;
  by_outcome: Partial<Record<Outcome, number>>;
  /** Decisions that were not ALLOWED. */
  errors: number;
  /** Micro-credits. */
  cost: number;
}

// One statement per per-key rollup (table from the closed map), summed over the workspace's
// keys, unknown keys ('') included: the workspace's traffic over time, as the dashboard charts it.
const WORKSPACE_SERIES_SQL = Object.fromEntries(
  Object.entries(KEY_USAGE_TABLES).map(([granularity, table]) => [
    granularity,
    `SELECT start, groupArray((outcome, requests)) AS outcomes, sum(c) AS cost
     FROM (
       SELECT bucket AS start, outcome, sum(requests) AS requests, sum(cost) AS c
       FROM ${table}
       WHERE workspace_id = {workspaceId:String}
         AND bucket >= ${BUCKET_FLOOR[granularity as UsageGranularity]}({from:DateTime64(3, 'UTC')})
         AND bucket < {to:DateTime64(3, 'UTC')}
       GROUP BY start, outcome
     )
     GROUP BY start
     ORDER BY start`,
  ]),
) as Record<UsageGranularity, string>;

/**
 * The workspace's decisions per bucket, by outcome, from the per-key rollups. A bucket the range
 * cuts into is included; empty buckets are left out.
 */
export async function getWorkspaceUsageSeries(
  ch: ClickHouseDriver,
  params: { workspaceId: string; from: Date; to: Date; granularity: UsageGranularity },
): Promise<WorkspaceUsageBucket[]> {
  const rows = await ch.query<{ start: string; outcomes: [Outcome, number][]; cost: number }>(
    WORKSPACE_SERIES_SQL[params.granularity],
    { workspaceId: params.workspaceId, from: params.from, to: params.to },
  );
  return rows.map((row) => ({
    start: parseClickHouseTime(row.start).toISOString(),
    ...outcomeCounts(row.outcomes),
    cost: row.cost,
  }));
}

/**
 * Workspaces that have traffic or keys, for an admin token's workspace switcher. Both tables lead
 * their primary key with workspace_id, so this reads one small column.
 */
export async function listWorkspaces(ch: ClickHouseDriver, params: { limit: number }): Promise<string[]> {
  const rows = await ch.query<{ workspace_id: string }>(
    `SELECT DISTINCT workspace_id FROM (
       SELECT DISTINCT workspace_id FROM key_usage_day
       UNION ALL
       SELECT DISTINCT workspace_id FROM key_state_v2
     )
     ORDER BY workspace_id
     LIMIT {limit:UInt32}`,
    { limit: params.limit },
  );
  return rows.map((r) => r.workspace_id);
}
