import type { ClickHouseDriver } from '../driver/types.ts';

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
