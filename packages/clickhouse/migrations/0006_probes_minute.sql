-- Leaked-key probes: invalid, expired and revoked key attempts per workspace, source IP and key
-- prefix, per minute. What the 401-spike detector and probe investigations read.
CREATE TABLE IF NOT EXISTS probes_minute
(
    workspace_id LowCardinality(String),
    bucket DateTime('UTC'),
    client_ip String,
    key_prefix String,
    outcome LowCardinality(String),
    attempts SimpleAggregateFunction(sum, UInt64),
    distinct_keys AggregateFunction(uniqExact, String) COMMENT 'Distinct presented_key_hash',
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (workspace_id, bucket, client_ip, key_prefix, outcome)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS probes_minute_mv TO probes_minute AS
SELECT
    workspace_id,
    toStartOfMinute(occurred_at) AS bucket,
    client_ip,
    key_prefix,
    outcome,
    count() AS attempts,
    uniqExactState(presented_key_hash) AS distinct_keys,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM auth_decisions
WHERE outcome IN ('INVALID_KEY', 'EXPIRED_KEY', 'REVOKED_KEY')
GROUP BY workspace_id, bucket, client_ip, key_prefix, outcome;
