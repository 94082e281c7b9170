import type { ClickHouseDriver } from '../driver/types.ts';

export type KeyStatus = 'active' | 'superseded_in_grace' | 'revoked' | 'expired';

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
 * Every key of a workspace with its current state (from key_state) joined with its usage count
 * and last use (from key_usage_day). Status is computed at `now`: a superseded key is
 * "superseded_in_grace" until its grace ends, then "expired" (the seeds' 401 expired_key).
 */
export function listKeys(
  ch: ClickHouseDriver,
  params: { workspaceId: string; now: Date },
): Promise<KeyStateRow[]> {
  return ch.query<KeyStateRow>(
    `WITH state AS (
       SELECT key_id,
         argMaxIfMerge(key_prefix) AS key_prefix, argMaxIfMerge(key_env) AS key_env,
         argMaxIfMerge(key_type) AS key_type, argMaxIfMerge(name) AS name, argMaxIfMerge(resource) AS resource,
         argMaxIfMerge(scopes) AS scopes, argMaxIfMerge(rate_limits) AS limits, argMaxIfMerge(quota) AS q,
         argMaxIfMerge(expires_at) AS expires_at, argMaxIfMerge(allowed_origins) AS allowed_origins,
         argMaxIfMerge(status_event) AS status_event, argMaxIfMerge(grace_ends_at) AS grace_ends_at,
         argMaxIfMerge(replaced_by) AS replaced_by, argMaxIfMerge(end_user_id) AS end_user_id,
         argMaxIfMerge(parent_key_id) AS parent_key_id, min(created_at) AS created_at, max(revoked_at) AS revoked_at
       FROM key_state WHERE workspace_id = {workspaceId:String} GROUP BY key_id
     ), usage AS (
       SELECT key_id, sum(requests) AS usage_count, max(last_used) AS last_used
       FROM key_usage_day WHERE workspace_id = {workspaceId:String} GROUP BY key_id
     )
     SELECT state.key_id AS key_id, key_prefix, key_env, key_type, name, resource, scopes,
       limits.1 AS rate_limit_per_minute, limits.2 AS rate_limit_per_hour, limits.3 AS rate_limit_per_day,
       q.1 AS quota_period, q.2 AS quota_limit, expires_at, allowed_origins,
       multiIf(
         status_event IN ('REVOKED', 'SESSION_REVOKED'), 'revoked',
         status_event = 'EXPIRED' OR (expires_at IS NOT NULL AND expires_at <= {now:DateTime64(3, 'UTC')}), 'expired',
         status_event = 'SUPERSEDED' AND ifNull(grace_ends_at > {now:DateTime64(3, 'UTC')}, 0), 'superseded_in_grace',
         status_event = 'SUPERSEDED', 'expired',
         'active') AS status,
       grace_ends_at, replaced_by, end_user_id, parent_key_id, created_at, revoked_at,
       ifNull(usage.usage_count, 0) AS usage_count,
       if(usage.usage_count > 0, usage.last_used, NULL) AS last_used
     FROM state LEFT JOIN usage ON usage.key_id = state.key_id
     ORDER BY key_id`,
    params,
  );
}
