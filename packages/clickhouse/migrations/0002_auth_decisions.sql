-- Raw auth decisions: one row per AuthDecision event, as the gateway reported it.
-- Rollups (per key, per end user, probes) read from this table through materialized views.
CREATE TABLE IF NOT EXISTS auth_decisions
(
    workspace_id LowCardinality(String) COMMENT 'Tenant; leads every ORDER BY',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the gateway decided',
    event_id UUID COMMENT 'UUIDv7 from the producer; one id is counted once',
    request_id String COMMENT 'X-Request-Id the caller saw',
    key_id String COMMENT 'Empty when the presented key is unknown',
    key_prefix String COMMENT 'Display prefix only, never the secret',
    presented_key_hash String COMMENT 'Keyed hash of the presented credential (links probes of one wrong key)',
    key_env LowCardinality(String) COMMENT 'LIVE, TEST, DEV or empty',
    credential LowCardinality(String) COMMENT 'API_KEY, SESSION_TOKEN or empty (none presented)',
    key_type LowCardinality(String) COMMENT 'SECRET, CLIENT, READ_ONLY, UNKNOWN',
    session_id String COMMENT 'Session token id when credential = SESSION_TOKEN',
    end_user_id String COMMENT 'End user the session is scoped to; billing attributes usage to it',
    resource String COMMENT 'Agent / project / app the key is scoped to',
    method LowCardinality(String),
    route LowCardinality(String) COMMENT 'Templated route',
    required_scope LowCardinality(String),
    granted_scopes Array(LowCardinality(String)),
    outcome LowCardinality(String) COMMENT 'ALLOWED, INVALID_KEY, EXPIRED_KEY, ... (Avro enum symbol)',
    http_status UInt16,
    deprecated_key Bool COMMENT 'Superseded key used inside its grace period',
    rate_limit_window LowCardinality(String) COMMENT 'Empty when no rate-limit state was reported',
    rate_limit_limit Nullable(Int64),
    rate_limit_remaining Nullable(Int64),
    rate_limit_reset_at Nullable(DateTime64(3, 'UTC')),
    retry_after_s Nullable(Int32),
    quota_period LowCardinality(String) COMMENT 'Empty when no quota state was reported',
    quota_limit Nullable(Int64),
    quota_remaining Nullable(Int64),
    quota_reset_at Nullable(DateTime64(3, 'UTC')),
    latency_ms Nullable(Float64),
    cost Int64 COMMENT 'Micro-credits',
    client_ip String,
    origin String,
    user_agent String,
    region LowCardinality(String),
    source_name LowCardinality(String) COMMENT 'Gateway that decided',
    source_version LowCardinality(String),
    kafka_partition UInt32 COMMENT 'Provenance: where the projector read it',
    kafka_offset UInt64,
    kafka_timestamp DateTime64(3, 'UTC') COMMENT 'When Kafka took it (arrival): the clock of the retry window',
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_request_id request_id TYPE bloom_filter(0.001) GRANULARITY 4,
    INDEX idx_client_ip client_ip TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (workspace_id, key_id, occurred_at)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
-- The dedup window makes a re-sent batch (same insert_deduplication_token) a no-op.
SETTINGS non_replicated_deduplication_window = 1000;
