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
  /** Sessions scoped to the end user that made decisions in the bucket. */
  sessions: number;
}

/** What one key, or one session, carried of an end user's traffic over the whole range. */
interface EndUserShare {
  total: number;
  by_outcome: Record<string, number>;
  cost: number;
  first_seen: string;
  last_seen: string;
}

export interface EndUserKey extends EndUserShare {
  /** The API key (the parent key for session traffic). */
  key_id: string;
  /** Sessions of the end user whose traffic came through this key. */
  sessions: number;
}

export interface EndUserSession extends EndUserShare {
  session_id: string;
  /** The key the session was issued from. */
  key_id: string;
}

interface EndUserBreakdownRow extends EndUserShare {
  kind: 'bucket' | 'key' | 'session';
  start: string;
  key_id: string;
  session_id: string;
  keys: number;
  sessions: number;
}

/**
 * One end user's decisions over [from, to) (the bucket `from` falls in whole), across every key
 * and session: per bucket, oldest first; per key it came through (a session's parent key) and per
 * session, each most used first, at most `listed` of each. One read of the projection
 * `by_end_user_sessions` (migration 0022), which holds the decisions in end-user order (the
 * table's own order is by key, and an end user's traffic crosses many keys), for the three
 * groupings: two queries cost 1.7x one (106 against 64-71 ms at 100M).
 */
export async function getEndUserBreakdown(
  ch: ClickHouseDriver,
  params: { workspaceId: string; endUserId: string; from: Date; to: Date; minutes: number; listed: number },
): Promise<{ buckets: EndUserBucket[]; keys: EndUserKey[]; sessions: EndUserSession[] }> {
  // Rows kept per grouping: every bucket of the range, and at least `listed` keys and sessions.
  const buckets = Math.ceil((params.to.getTime() - params.from.getTime()) / (params.minutes * 60_000)) + 1;
  const rows = await ch.query<EndUserBreakdownRow>(
    `SELECT multiIf(grouping(key_id) = 1, 'bucket', grouping(session_id) = 1, 'key', 'session') AS kind,
            toStartOfInterval(occurred_at, toIntervalMinute({minutes:UInt32})) AS start, key_id, session_id,
            count() AS total, sumMap(map(outcome, toUInt64(1))) AS by_outcome, sum(cost) AS cost,
            uniqExact(key_id) AS keys, uniqExactIf(session_id, session_id != '') AS sessions,
            min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND end_user_id = {endUserId:String}
       AND occurred_at >= toStartOfInterval({from:DateTime64(3, 'UTC')}, toIntervalMinute({minutes:UInt32}))
       AND occurred_at < {to:DateTime64(3, 'UTC')}
     GROUP BY GROUPING SETS ((start), (key_id), (key_id, session_id))
     HAVING kind != 'session' OR session_id != ''
     ORDER BY kind, start, total DESC, key_id, session_id
     LIMIT {perKind:UInt32} BY kind
     SETTINGS force_grouping_standard_compatibility = 1`,
    { ...params, perKind: Math.max(buckets, params.listed) },
  );
  const result = {
    buckets: [] as EndUserBucket[],
    keys: [] as EndUserKey[],
    sessions: [] as EndUserSession[],
  };
  for (const row of rows) {
    const { total, by_outcome, cost } = row;
    if (row.kind === 'bucket') {
      result.buckets.push({
        start: parseClickHouseTime(row.start).toISOString(),
        total,
        by_outcome,
        cost,
        keys: row.keys,
        sessions: row.sessions,
      });
      continue;
    }
    // First and last use mean something only over the whole range: keys' and sessions' rows.
    const share = {
      total,
      by_outcome,
      cost,
      first_seen: parseClickHouseTime(row.first_seen).toISOString(),
      last_seen: parseClickHouseTime(row.last_seen).toISOString(),
    };
    if (row.kind === 'key') result.keys.push({ key_id: row.key_id, ...share, sessions: row.sessions });
    else result.sessions.push({ session_id: row.session_id, key_id: row.key_id, ...share });
  }
  // The query keeps as many keys and sessions as buckets (one limit for every grouping): cut to `listed`.
  result.keys.length = Math.min(result.keys.length, params.listed);
  result.sessions.length = Math.min(result.sessions.length, params.listed);
  return result;
}
