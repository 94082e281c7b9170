import type { ClickHouseDriver } from '../driver/types.ts';
import { parseClickHouseTime } from '../time.ts';

export interface EndUserUsage {
  end_user_id: string;
  requests: number;
  billable_requests: number;
  cost: number;
}

/** Billable usage per end user (live keys only) over [fromDay, toDay). */
export function getEndUserUsage(
  ch: ClickHouseDriver,
  params: { workspaceId: string; fromDay: string; toDay: string },
): Promise<EndUserUsage[]> {
  return ch.query<EndUserUsage>(
    `SELECT end_user_id, sum(requests) AS requests, sum(billable_requests) AS billable_requests, sum(cost) AS cost
     FROM end_user_usage_day
     WHERE workspace_id = {workspaceId:String} AND day >= {fromDay:Date} AND day < {toDay:Date}
     GROUP BY end_user_id
     ORDER BY end_user_id`,
    params,
  );
}

export interface EndUserBucket {
  start: string;
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
  /** Keys and sessions' parent keys the end user's traffic came through. */
  keys: number;
}

export interface EndUserKey {
  /** The API key (the parent key for session traffic). */
  key_id: string;
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
  first_seen: string;
  last_seen: string;
}

interface EndUserBreakdownRow {
  /** 1 for a bucket's row, 0 for a key's (grouping() of key_id: 1 where it was folded). */
  per_bucket: number;
  start: string;
  key_id: string;
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
  keys: number;
  first_seen: string;
  last_seen: string;
}

/**
 * One end user's decisions over [from, to) (the bucket `from` falls in whole), across every key
 * and session: per bucket, oldest first, and per key it came through (a session's parent key),
 * most used first. One read of the projection `by_end_user` (migration 0021), which holds the
 * decisions in end-user order (the table's own order is by key, and an end user's traffic
 * crosses many keys), for both groupings: two queries cost 1.7x one (106 against 64-71 ms at 100M).
 */
export async function getEndUserBreakdown(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endUserId: string; from: Date; to: Date; minutes: number },
): Promise<{ buckets: EndUserBucket[]; keys: EndUserKey[] }> {
  const rows = await ch.query<EndUserBreakdownRow>(
    `SELECT grouping(key_id) AS per_bucket,
            toStartOfInterval(occurred_at, toIntervalMinute({minutes:UInt32})) AS start, key_id,
            count() AS total, sumMap(map(outcome, toUInt64(1))) AS by_outcome, sum(cost) AS cost,
            uniqExact(key_id) AS keys, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND end_user_id = {endUserId:String}
       AND occurred_at >= toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalMinute({minutes:UInt32}))
       AND occurred_at < {to:DateTime64(3, 'UTC')}
     GROUP BY GROUPING SETS ((start), (key_id))
     ORDER BY per_bucket DESC, start, total DESC, key_id
     SETTINGS force_grouping_standard_compatibility = 1`,
    params,
  );
  const buckets: EndUserBucket[] = [];
  const keys: EndUserKey[] = [];
  for (const {
    per_bucket,
    start,
    key_id,
    total,
    by_outcome,
    cost,
    keys: keyCount,
    first_seen,
    last_seen,
  } of rows) {
    if (Number(per_bucket) === 1)
      buckets.push({
        start: parseClickHouseTime(start).toISOString(),
        total,
        by_outcome,
        cost,
        keys: keyCount,
      });
    else
      keys.push({
        key_id,
        total,
        by_outcome,
        cost,
        first_seen: parseClickHouseTime(first_seen).toISOString(),
        last_seen: parseClickHouseTime(last_seen).toISOString(),
      });
  }
  return { buckets, keys };
}
