-- A session's events are the session's state, never its parent key's: before this, a
-- SESSION_REVOKED whose key_id named the parent key marked the parent revoked. State is now keyed
-- by session_id for every SESSION_* event (whatever key_id holds), and the parent is taken from
-- parent_key_id, or from key_id when a producer put the parent there. key_lifecycle keeps the
-- events as sent. A replay rebuilds key_state with this rule from the start.
DROP VIEW IF EXISTS key_state_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_state_mv TO key_state AS
SELECT
    workspace_id,
    state_key_id AS key_id,
    argMaxIfState(key_prefix, (occurred_at, event_id), key_prefix != '') AS key_prefix,
    argMaxIfState(key_env, (occurred_at, event_id), key_env != '') AS key_env,
    argMaxIfState(key_type, (occurred_at, event_id), key_type != '') AS key_type,
    argMaxIfState(name, (occurred_at, event_id), name != '') AS name,
    argMaxIfState(resource, (occurred_at, event_id), resource != '') AS resource,
    argMaxIfState(scopes, (occurred_at, event_id), scopes_set) AS scopes,
    argMaxIfState((rate_limit_per_minute, rate_limit_per_hour, rate_limit_per_day), (occurred_at, event_id), rate_limits_set) AS rate_limits,
    argMaxIfState((quota_period, quota_limit), (occurred_at, event_id), quota_period != '') AS quota,
    argMaxIfState(expires_at, (occurred_at, event_id), expires_at IS NOT NULL) AS expires_at,
    argMaxIfState(allowed_origins, (occurred_at, event_id), allowed_origins_set) AS allowed_origins,
    argMaxIfState(lifecycle_type, (occurred_at, event_id),
        lifecycle_type IN ('CREATED', 'SUPERSEDED', 'REVOKED', 'EXPIRED', 'SESSION_ISSUED', 'SESSION_REVOKED')) AS status_event,
    maxIf(occurred_at,
        lifecycle_type IN ('CREATED', 'SUPERSEDED', 'REVOKED', 'EXPIRED', 'SESSION_ISSUED', 'SESSION_REVOKED')) AS status_at,
    argMaxIfState(grace_ends_at, (occurred_at, event_id), lifecycle_type = 'SUPERSEDED') AS grace_ends_at,
    argMaxIfState(replaced_by, (occurred_at, event_id), lifecycle_type = 'SUPERSEDED') AS replaced_by,
    argMaxIfState(end_user_id, (occurred_at, event_id), end_user_id != '') AS end_user_id,
    argMaxIfState(state_parent_key_id, (occurred_at, event_id), state_parent_key_id != '') AS parent_key_id,
    minIf(toNullable(occurred_at), lifecycle_type IN ('CREATED', 'SESSION_ISSUED')) AS created_at,
    maxIf(toNullable(occurred_at), lifecycle_type IN ('REVOKED', 'SESSION_REVOKED')) AS revoked_at,
    max(occurred_at) AS last_event_at,
    count() AS events
FROM
(
    SELECT
        workspace_id,
        if(is_session, session_id, key_id) AS state_key_id,
        if(is_session AND parent_key_id = '' AND key_id != session_id, key_id, parent_key_id) AS state_parent_key_id,
        startsWith(lifecycle_type, 'SESSION_') AND session_id != '' AS is_session,
        key_prefix, key_env, key_type, name, resource, scopes, scopes_set,
        rate_limit_per_minute, rate_limit_per_hour, rate_limit_per_day, rate_limits_set,
        quota_period, quota_limit, expires_at, allowed_origins, allowed_origins_set,
        lifecycle_type, occurred_at, event_id, grace_ends_at, replaced_by, end_user_id
    FROM key_lifecycle
)
GROUP BY workspace_id, state_key_id;
