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

/**
 * One end user's decisions over [from, to), the bucket `from` falls in whole: its buckets and its
 * keys read the same rows, so they add up to the same total.
 */
const END_USER_DECISIONS = `FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND end_user_id = {endUserId:String}
       AND occurred_at >= toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalMinute({minutes:UInt32}))
       AND occurred_at < {to:DateTime64(3, 'UTC')}`;

export interface EndUserBucket {
  start: string;
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
  /** Keys and sessions' parent keys the end user's traffic came through. */
  keys: number;
}

/**
 * One end user's decisions per bucket, across every key and session, from the raw decisions. The
 * engine reads them through the projection `by_end_user` (migration 0021), in end-user order: the
 * table's own order is by key, and an end user's traffic crosses many keys.
 */
export async function getEndUserBuckets(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endUserId: string; from: Date; to: Date; minutes: number },
): Promise<EndUserBucket[]> {
  const rows = await ch.query<EndUserBucket>(
    `SELECT toStartOfInterval(occurred_at, toIntervalMinute({minutes:UInt32})) AS start, count() AS total,
            sumMap(map(outcome, toUInt64(1))) AS by_outcome, sum(cost) AS cost, uniqExact(key_id) AS keys
     ${END_USER_DECISIONS}
     GROUP BY start
     ORDER BY start`,
    params,
  );
  return rows.map((row) => ({ ...row, start: parseClickHouseTime(row.start).toISOString() }));
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

/**
 * The keys one end user's decisions came through over the same range as `getEndUserBuckets`
 * (its first bucket whole), most used first: what a security team reads before revoking a key
 * or a session's parent. Read through the projection `by_end_user`, as the buckets are.
 */
export async function getEndUserKeys(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endUserId: string; from: Date; to: Date; minutes: number; limit: number },
): Promise<EndUserKey[]> {
  const rows = await ch.query<EndUserKey>(
    `SELECT key_id, count() AS total, sumMap(map(outcome, toUInt64(1))) AS by_outcome, sum(cost) AS cost,
            min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
     ${END_USER_DECISIONS}
     GROUP BY key_id
     ORDER BY total DESC, key_id
     LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map((row) => ({
    ...row,
    first_seen: parseClickHouseTime(row.first_seen).toISOString(),
    last_seen: parseClickHouseTime(row.last_seen).toISOString(),
  }));
}
