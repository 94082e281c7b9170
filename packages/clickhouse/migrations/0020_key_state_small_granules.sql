-- key_state again, as key_state_v2, in granules of 32 rows instead of 8,192. The keys list merges
-- every column of one page's keys (100), and ClickHouse reads whole granules: it deserialized the
-- 15 argMaxIf states of every key in the workspace (10,000 in the query bench) to keep 100, 36-38
-- ms of the route's first query, 20 ms now. index_granularity cannot change on an existing
-- table, so this is a new one, filled again from key_lifecycle (kept forever).
-- Safe to run from several processes at once and beside a projector, as every migration must
-- be: the new view exists before the backfill reads key_lifecycle, so each event reaches the new
-- table through the view, the backfill or both, and every column is an argMax, a min or a max,
-- which an event counted twice leaves as it was. (key_state's `events` count, read by nothing,
-- is not carried over: it is the one column a double count would change.)
CREATE TABLE IF NOT EXISTS key_state_v2
(
    workspace_id LowCardinality(String),
    key_id String,
    key_prefix AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    key_env AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    key_type AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    name AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    resource AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    scopes AggregateFunction(argMaxIf, Array(String), Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    rate_limits AggregateFunction(argMaxIf, Tuple(Nullable(Int64), Nullable(Int64), Nullable(Int64)), Tuple(DateTime64(3, 'UTC'), UUID), UInt8)
        COMMENT 'Per minute, hour, day',
    quota AggregateFunction(argMaxIf, Tuple(String, Nullable(Int64)), Tuple(DateTime64(3, 'UTC'), UUID), UInt8) COMMENT 'Period, limit',
    expires_at AggregateFunction(argMaxIf, Nullable(DateTime64(3, 'UTC')), Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    allowed_origins AggregateFunction(argMaxIf, Array(String), Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    status_event AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8)
        COMMENT 'Newest of CREATED, SUPERSEDED, REVOKED, EXPIRED, SESSION_ISSUED, SESSION_REVOKED',
    status_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    grace_ends_at AggregateFunction(argMaxIf, Nullable(DateTime64(3, 'UTC')), Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    replaced_by AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8),
    end_user_id AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8) COMMENT 'Sessions',
    parent_key_id AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UUID), UInt8) COMMENT 'Sessions',
    created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    revoked_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (workspace_id, key_id)
SETTINGS index_granularity = 32, non_replicated_deduplication_window = 1000;

-- The rule of 0010_session_state.sql: a session's events are the session's state.
CREATE MATERIALIZED VIEW IF NOT EXISTS key_state_v2_mv TO key_state_v2 AS
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
    max(occurred_at) AS last_event_at
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

-- The view's own query over every lifecycle event so far (key_lifecycle always exists, so a
-- second process running this after the first dropped key_state still succeeds).
INSERT INTO key_state_v2
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
    max(occurred_at) AS last_event_at
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

DROP VIEW IF EXISTS key_state_mv;

DROP TABLE IF EXISTS key_state;
