-- Current state of every key and session, projected from key_lifecycle. Each field keeps the
-- value of the newest event (by occurred_at, then event_id) that set it, so events applied out of
-- order, or an old event arriving late, never overwrite newer state. Usage count and last use
-- come from key_usage_day at query time (listKeys in tables/keyState.ts).
CREATE TABLE IF NOT EXISTS key_state
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
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (workspace_id, key_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_state_mv TO key_state AS
SELECT
    workspace_id,
    key_id,
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
    argMaxIfState(parent_key_id, (occurred_at, event_id), parent_key_id != '') AS parent_key_id,
    minIf(toNullable(occurred_at), lifecycle_type IN ('CREATED', 'SESSION_ISSUED')) AS created_at,
    maxIf(toNullable(occurred_at), lifecycle_type IN ('REVOKED', 'SESSION_REVOKED')) AS revoked_at,
    max(occurred_at) AS last_event_at,
    count() AS events
FROM key_lifecycle
GROUP BY workspace_id, key_id;
