import type { ClickHouseDriver } from '../driver/types.ts';
import { parseClickHouseTime } from '../time.ts';

/** A key's status at a given `now`: SUPERSEDED only inside its grace, EXPIRED after it. */
export type KeyStatus = 'ACTIVE' | 'SUPERSEDED' | 'REVOKED' | 'EXPIRED';

// What key_state_v2 merges to, per key: one list for every query of it.
const KEY_STATE_COLUMNS = `
  argMaxIfMerge(key_prefix) AS key_prefix, argMaxIfMerge(key_env) AS key_env,
  argMaxIfMerge(key_type) AS key_type, argMaxIfMerge(name) AS name, argMaxIfMerge(resource) AS resource,
  argMaxIfMerge(scopes) AS scopes, argMaxIfMerge(rate_limits) AS limits, argMaxIfMerge(quota) AS q,
  argMaxIfMerge(expires_at) AS expires_at, argMaxIfMerge(allowed_origins) AS allowed_origins,
  argMaxIfMerge(status_event) AS status_event, argMaxIfMerge(grace_ends_at) AS grace_ends_at,
  argMaxIfMerge(replaced_by) AS replaced_by, argMaxIfMerge(end_user_id) AS end_user_id,
  argMaxIfMerge(parent_key_id) AS parent_key_id, min(key_state_v2.created_at) AS created_at,
  max(key_state_v2.revoked_at) AS revoked_at`;

// The status at {now}, from the merged columns above.
const KEY_STATUS = `multiIf(
  status_event IN ('REVOKED', 'SESSION_REVOKED'), 'REVOKED',
  status_event = 'EXPIRED' OR (expires_at IS NOT NULL AND expires_at <= {now:DateTime64(3, 'UTC')}), 'EXPIRED',
  status_event = 'SUPERSEDED' AND ifNull(grace_ends_at > {now:DateTime64(3, 'UTC')}, 0), 'SUPERSEDED',
  status_event = 'SUPERSEDED', 'EXPIRED',
  'ACTIVE')`;

export interface KeyStateRow {
  key_id: string;
  key_prefix: string;
  key_env: string;
  key_type: string;
  name: string;
  resource: string;
  scopes: string[];
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  rate_limit_per_day: number | null;
  quota_period: string;
  quota_limit: number | null;
  expires_at: string | null;
  allowed_origins: string[];
  status: KeyStatus;
  grace_ends_at: string | null;
  replaced_by: string;
  end_user_id: string;
  parent_key_id: string;
  created_at: string | null;
  revoked_at: string | null;
  usage_count: number;
  last_used: string | null;
}

/**
 * Every key of a workspace with its current state (from key_state_v2) joined with its usage count
 * and last use (from key_usage_day). Status is computed at `now`: a superseded key is
 * SUPERSEDED until its grace ends, then EXPIRED (the seeds' 401 expired_key).
 */
export function listKeys(
  ch: ClickHouseDriver,
  params: { workspaceId: string; now: Date },
): Promise<KeyStateRow[]> {
  return ch.query<KeyStateRow>(
    `WITH state AS (
       SELECT key_id, ${KEY_STATE_COLUMNS}
       FROM key_state_v2 WHERE workspace_id = {workspaceId:String} GROUP BY key_id
     ), usage AS (
       SELECT key_id, sum(requests) AS usage_count, max(last_used) AS last_used
       FROM key_usage_day WHERE workspace_id = {workspaceId:String} GROUP BY key_id
     )
     SELECT state.key_id AS key_id, key_prefix, key_env, key_type, name, resource, scopes,
       limits.1 AS rate_limit_per_minute, limits.2 AS rate_limit_per_hour, limits.3 AS rate_limit_per_day,
       q.1 AS quota_period, q.2 AS quota_limit, expires_at, allowed_origins,
       ${KEY_STATUS} AS status,
       grace_ends_at, replaced_by, end_user_id, parent_key_id, created_at, revoked_at,
       ifNull(usage.usage_count, 0) AS usage_count,
       if(usage.usage_count > 0, usage.last_used, NULL) AS last_used
     FROM state LEFT JOIN usage ON usage.key_id = state.key_id
     ORDER BY key_id`,
    params,
  );
}

/** A key (or session) as the query API lists it: its state now, and its recent use. */
export interface KeyView {
  key_id: string;
  key_prefix: string;
  name: string;
  env: string;
  type: string;
  status: KeyStatus;
  scopes: string[];
  rate_limits: { per_minute: number | null; per_hour: number | null; per_day: number | null };
  quota: { period: string; limit: number | null } | null;
  expires_at: string | null;
  allowed_origins: string[];
  grace_ends_at: string | null;
  replaced_by: string | null;
  created_at: string | null;
  revoked_at: string | null;
  end_user_id: string | null;
  parent_key_id: string | null;
  last_used_at: string | null;
  last_client_ip: string | null;
  requests_24h: number;
  requests_30d: number;
  errors_24h: number;
  /** Requests per hour of the 25 hourly buckets requests_24h sums, oldest first (a sparkline). */
  hourly_24h: number[];
}

/** The hours of the last 24 (25 buckets, the first and last partly inside) as a dense array. */
function hourlySeries(index: number[], requests: number[]): number[] {
  const series = new Array<number>(25).fill(0);
  index.forEach((hour, i) => {
    if (hour >= 0 && hour < 25) series[hour] = Number(requests[i]);
  });
  return series;
}

export interface KeyQuery {
  workspaceId: string;
  now: Date;
  status?: KeyStatus | undefined;
  env?: string | undefined;
  /** Keys whose display prefix starts with this. */
  prefix?: string | undefined;
  /** Free text: a part of the key id or the name, any case. */
  q?: string | undefined;
  /** API keys only, or session tokens only (a session has a parent key); both when absent. */
  kind?: 'key' | 'session' | undefined;
  /** One key only (the key page). */
  keyId?: string | undefined;
  /** Page after this (created_at, key_id), newest first. */
  after?: { createdAt: Date; keyId: string } | undefined;
  limit: number;
}

/** A key_state_v2 row as the query returns it, before it becomes a KeyView. */
type KeyStateListRow = Pick<
  KeyView,
  | 'key_id'
  | 'key_prefix'
  | 'name'
  | 'env'
  | 'type'
  | 'status'
  | 'scopes'
  | 'expires_at'
  | 'allowed_origins'
  | 'grace_ends_at'
  | 'created_at'
  | 'revoked_at'
> & {
  limits: [number | null, number | null, number | null];
  q: [string, number | null];
  replaced_by: string;
  sort_at: string;
  end_user_id: string;
  parent_key_id: string;
};

/**
 * Keys of a workspace with their state at `now` (SUPERSEDED only inside its grace, EXPIRED after
 * it or past expires_at), filtered, newest first, one page; then the page's recent use from the
 * rollups (key_usage_hour, key_usage_day, key_last_use), and for its session tokens from their
 * end users' decisions (querySessionUsage). Two steps, so the usage queries touch only the page's
 * keys.
 */
export async function queryKeys(
  ch: ClickHouseDriver,
  query: KeyQuery,
): Promise<(KeyView & { sort_at: string })[]> {
  // Filtering and ordering need a few merged columns of every key; the page's keys alone then
  // merge all of theirs (merging every column of 10,000 keys costs about ten times as much).
  const states = await ch.query<KeyStateListRow>(
    `WITH page AS (
       SELECT key_id FROM (
         SELECT key_id, argMaxIfMerge(key_prefix) AS key_prefix, argMaxIfMerge(key_env) AS env,
           argMaxIfMerge(name) AS name, argMaxIfMerge(status_event) AS status_event,
           argMaxIfMerge(expires_at) AS expires_at, argMaxIfMerge(grace_ends_at) AS grace_ends_at,
           argMaxIfMerge(parent_key_id) AS parent_key_id,
           ifNull(min(key_state_v2.created_at), toDateTime64(0, 3, 'UTC')) AS sort_at,
           ${KEY_STATUS} AS status
         FROM key_state_v2
         WHERE workspace_id = {workspaceId:String} AND ({keyId:String} = '' OR key_id = {keyId:String})
         GROUP BY key_id
       )
       WHERE ({status:String} = '' OR status = {status:String})
         AND ({kind:String} = '' OR (parent_key_id != '') = ({kind:String} = 'session'))
         AND ({env:String} = '' OR env = {env:String})
         AND startsWith(key_prefix, {prefix:String})
         AND ({q:String} = '' OR positionCaseInsensitive(key_id, {q:String}) > 0 OR positionCaseInsensitive(name, {q:String}) > 0)
         AND (sort_at, key_id) < ({afterAt:DateTime64(3, 'UTC')}, {afterKey:String})
       ORDER BY sort_at DESC, key_id DESC
       LIMIT {limit:UInt32}
     )
     SELECT key_id, ${KEY_STATE_COLUMNS},
       key_env AS env, key_type AS type,
       ifNull(min(key_state_v2.created_at), toDateTime64(0, 3, 'UTC')) AS sort_at,
       ${KEY_STATUS} AS status
     FROM key_state_v2
     WHERE workspace_id = {workspaceId:String} AND key_id IN (SELECT key_id FROM page)
     GROUP BY key_id
     ORDER BY sort_at DESC, key_id DESC`,
    {
      workspaceId: query.workspaceId,
      now: query.now,
      keyId: query.keyId ?? '',
      status: query.status ?? '',
      env: query.env ?? '',
      prefix: query.prefix ?? '',
      q: query.q ?? '',
      kind: query.kind ?? '',
      // No cursor: start above every key (the far future, and a key id above any real one).
      afterAt: query.after?.createdAt ?? new Date(Date.UTC(9999, 0, 1)),
      afterKey: query.after?.keyId ?? '\u{10FFFF}',
      limit: query.limit,
    },
  );
  if (states.length === 0) return [];
  const keyIds = states.map((s) => s.key_id);
  const usage = await ch.query<{
    key_id: string;
    requests_24h: number;
    errors_24h: number;
    requests_30d: number;
    last_used_at: string | null;
    last_client_ip: string | null;
    hourly_index: number[];
    hourly_requests: number[];
  }>(
    `SELECT k.key_id AS key_id,
            ifNull(h.requests_24h, 0) AS requests_24h, ifNull(h.errors_24h, 0) AS errors_24h,
            h.hourly.1 AS hourly_index, h.hourly.2 AS hourly_requests,
            ifNull(d.requests_30d, 0) AS requests_30d, l.last_used_at AS last_used_at, l.last_client_ip AS last_client_ip
     FROM (SELECT arrayJoin({keyIds:Array(String)}) AS key_id) AS k
     LEFT JOIN (
       SELECT key_id, sum(requests) AS requests_24h, sumIf(requests, outcome != 'ALLOWED') AS errors_24h,
              sumMap([toUInt32(dateDiff('hour', toStartOfHour({now:DateTime64(3, 'UTC')} - INTERVAL 24 HOUR), bucket))],
                     [toUInt64(requests)]) AS hourly
       FROM key_usage_hour
       WHERE workspace_id = {workspaceId:String} AND key_id IN {keyIds:Array(String)}
         AND bucket >= toStartOfHour({now:DateTime64(3, 'UTC')} - INTERVAL 24 HOUR)
       GROUP BY key_id
     ) AS h ON h.key_id = k.key_id
     LEFT JOIN (
       SELECT key_id, sum(requests) AS requests_30d
       FROM key_usage_day
       WHERE workspace_id = {workspaceId:String} AND key_id IN {keyIds:Array(String)}
         AND bucket >= toStartOfDay({now:DateTime64(3, 'UTC')} - INTERVAL 30 DAY)
       GROUP BY key_id
     ) AS d ON d.key_id = k.key_id
     LEFT JOIN (
       SELECT key_id, toNullable(max(last_used)) AS last_used_at,
              toNullable(argMaxMerge(key_last_use.last_client_ip)) AS last_client_ip
       FROM key_last_use
       WHERE workspace_id = {workspaceId:String} AND key_id IN {keyIds:Array(String)}
       GROUP BY key_id
     ) AS l ON l.key_id = k.key_id
     SETTINGS join_use_nulls = 1`,
    { workspaceId: query.workspaceId, keyIds, now: query.now },
  );
  const usageById = new Map(usage.map((u) => [u.key_id, u]));
  const sessionUsage = await querySessionUsage(ch, query, states);
  return states.map((s) => {
    const u = sessionUsage.get(s.key_id) ?? usageById.get(s.key_id);
    const iso = (t: string | null) => (t ? parseClickHouseTime(t).toISOString() : null);
    return {
      key_id: s.key_id,
      key_prefix: s.key_prefix,
      name: s.name,
      env: s.env,
      type: s.type,
      status: s.status,
      scopes: s.scopes,
      rate_limits: { per_minute: s.limits[0], per_hour: s.limits[1], per_day: s.limits[2] },
      quota: s.q[0] ? { period: s.q[0], limit: s.q[1] } : null,
      expires_at: iso(s.expires_at),
      allowed_origins: s.allowed_origins,
      grace_ends_at: iso(s.grace_ends_at),
      replaced_by: s.replaced_by || null,
      created_at: iso(s.created_at),
      revoked_at: iso(s.revoked_at),
      end_user_id: s.end_user_id || null,
      parent_key_id: s.parent_key_id || null,
      last_used_at: iso(u?.last_used_at ?? null),
      last_client_ip: u?.last_client_ip ?? null,
      requests_24h: u?.requests_24h ?? 0,
      requests_30d: u?.requests_30d ?? 0,
      errors_24h: u?.errors_24h ?? 0,
      hourly_24h: hourlySeries(u?.hourly_index ?? [], u?.hourly_requests ?? []),
      sort_at: s.sort_at,
    };
  });
}

interface SessionUsage {
  requests_24h: number;
  errors_24h: number;
  requests_30d: number;
  hourly_index: number[];
  hourly_requests: number[];
  last_used_at: string | null;
  last_client_ip: string | null;
}

/**
 * The key a session token was issued by, and when it was issued; undefined when `keyId` is not
 * a session (a key, or an id with no lifecycle). A session's decisions are recorded under its
 * parent key (key_id) with its id in session_id, so its usage is read there.
 */
export async function getSessionParent(
  ch: ClickHouseDriver,
  params: { workspaceId: string; keyId: string },
): Promise<{ parent_key_id: string; issued_at: Date | null } | undefined> {
  const [row] = await ch.query<{ parent_key_id: string; issued_at: string | null }>(
    `SELECT parent_key_id, issued_at FROM (
       SELECT argMaxIfMerge(parent_key_id) AS parent_key_id, min(created_at) AS issued_at
       FROM key_state_v2
       WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       GROUP BY key_id
     )
     WHERE parent_key_id != ''`,
    params,
  );
  return row
    ? {
        parent_key_id: row.parent_key_id,
        issued_at: row.issued_at ? parseClickHouseTime(row.issued_at) : null,
      }
    : undefined;
}

/**
 * The use of the page's session tokens. A session's decisions carry its parent key in key_id, so
 * the key rollups count them under the parent (where usage and billing belong) and key_last_use
 * has no row for the session. Here they are read per session from the raw decisions, through the
 * end-user projection (by_end_user_sessions, migration 0022: the session's end user's rows, not
 * its parent key's): counts in the rollups' own windows (from the start of the hour 24 hours ago,
 * and of the day 30 days ago), and the last use within the raw rows' TTL. The last client IP is
 * not in the projection: it is read from the newest decision by the table's own key (workspace,
 * parent key, time), one point per session.
 */
async function querySessionUsage(
  ch: ClickHouseDriver,
  query: KeyQuery,
  states: readonly { key_id: string; parent_key_id: string; end_user_id: string }[],
): Promise<Map<string, SessionUsage>> {
  const sessions = states.filter((s) => s.parent_key_id !== '' && s.end_user_id !== '');
  if (sessions.length === 0) return new Map();
  const counts = await ch.query<
    Omit<SessionUsage, 'last_client_ip' | 'last_used_at'> & {
      session_id: string;
      key_id: string;
      last_used_at: string;
    }
  >(
    `WITH toStartOfHour({now:DateTime64(3, 'UTC')} - INTERVAL 24 HOUR) AS day_start,
          toStartOfDay({now:DateTime64(3, 'UTC')} - INTERVAL 30 DAY) AS month_start
     SELECT session_id, argMax(key_id, occurred_at) AS key_id,
            countIf(occurred_at >= day_start) AS requests_24h,
            countIf(occurred_at >= day_start AND outcome != 'ALLOWED') AS errors_24h,
            countIf(occurred_at >= month_start) AS requests_30d,
            sumMapIf([toUInt32(dateDiff('hour', day_start, toStartOfHour(occurred_at)))], [toUInt64(1)],
                     occurred_at >= day_start) AS hourly,
            hourly.1 AS hourly_index, hourly.2 AS hourly_requests, max(occurred_at) AS last_used_at
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND end_user_id IN {endUserIds:Array(String)}
       AND session_id IN {sessionIds:Array(String)}
     GROUP BY session_id`,
    {
      workspaceId: query.workspaceId,
      now: query.now,
      endUserIds: [...new Set(sessions.map((s) => s.end_user_id))],
      sessionIds: sessions.map((s) => s.key_id),
    },
  );
  if (counts.length === 0) return new Map();
  const newest = await ch.query<{ session_id: string; client_ip: string }>(
    `SELECT session_id, argMax(client_ip, occurred_at) AS client_ip
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String}
       AND (key_id, occurred_at) IN (
         SELECT arrayJoin(arrayZip({keyIds:Array(String)},
                                   arrayMap(t -> parseDateTime64BestEffort(t, 3, 'UTC'), {times:Array(String)}))))
       AND session_id IN {sessionIds:Array(String)}
     GROUP BY session_id`,
    {
      workspaceId: query.workspaceId,
      keyIds: counts.map((c) => c.key_id),
      times: counts.map((c) => c.last_used_at),
      sessionIds: counts.map((c) => c.session_id),
    },
  );
  const ipBySession = new Map(newest.map((n) => [n.session_id, n.client_ip]));
  return new Map(
    counts.map((c) => [c.session_id, { ...c, last_client_ip: ipBySession.get(c.session_id) ?? null }]),
  );
}
