-- Raw key lifecycle events: the event-sourced history of every key and session.
-- Kept without TTL: this is the audit trail of key state.
CREATE TABLE IF NOT EXISTS key_lifecycle
(
    workspace_id LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    event_id UUID,
    lifecycle_type LowCardinality(String) COMMENT 'CREATED, RENAMED, SCOPES_CHANGED, ... (Avro enum symbol)',
    key_id String COMMENT 'The key; for SESSION_* events the session id',
    key_prefix String,
    key_env LowCardinality(String),
    key_type LowCardinality(String),
    name String,
    resource String,
    scopes Array(LowCardinality(String)),
    scopes_set Bool COMMENT 'False: this event left scopes unchanged',
    rate_limit_per_minute Nullable(Int64),
    rate_limit_per_hour Nullable(Int64),
    rate_limit_per_day Nullable(Int64),
    rate_limits_set Bool,
    quota_period LowCardinality(String),
    quota_limit Nullable(Int64),
    expires_at Nullable(DateTime64(3, 'UTC')),
    allowed_origins Array(String),
    allowed_origins_set Bool,
    grace_ends_at Nullable(DateTime64(3, 'UTC')),
    replaced_by String,
    reason String,
    actor_kind LowCardinality(String),
    actor_id String,
    session_id String,
    end_user_id String,
    parent_key_id String,
    ttl_seconds Nullable(Int32),
    kafka_partition UInt32,
    kafka_offset UInt64,
    kafka_timestamp DateTime64(3, 'UTC') COMMENT 'When Kafka took it (arrival): the clock of the retry window',
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (workspace_id, key_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
