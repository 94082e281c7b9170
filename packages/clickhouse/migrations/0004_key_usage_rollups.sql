-- Per key, per minute / hour / day, per outcome: requests, latency quantiles, cost, distinct
-- end users and last use. The minute rollup is fed from auth_decisions; hour and day are fed from
-- the minute rollup's inserted rows (already aggregated, so far fewer rows to fold). Each rollup
-- and its view sit together. The dedup window on every target makes a re-sent batch a no-op here too.
CREATE TABLE IF NOT EXISTS key_usage_minute
(
    workspace_id LowCardinality(String),
    key_id String COMMENT 'Empty for decisions on unknown keys',
    bucket DateTime('UTC') COMMENT 'Start of the minute',
    outcome LowCardinality(String),
    key_env LowCardinality(String),
    requests SimpleAggregateFunction(sum, UInt64),
    cost SimpleAggregateFunction(sum, Int64) COMMENT 'Micro-credits',
    latency AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64) COMMENT 'p50, p90, p99 of latency_ms',
    latency_sum SimpleAggregateFunction(sum, Float64),
    latency_count SimpleAggregateFunction(sum, UInt64),
    end_users AggregateFunction(uniqExact, String) COMMENT 'Distinct non-empty end_user_id',
    last_used SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (workspace_id, key_id, bucket, outcome, key_env)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_usage_minute_mv TO key_usage_minute AS
SELECT
    workspace_id,
    key_id,
    toStartOfMinute(occurred_at) AS bucket,
    outcome,
    key_env,
    count() AS requests,
    sum(cost) AS cost,
    quantilesTDigestStateIf(0.5, 0.9, 0.99)(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency,
    sum(ifNull(latency_ms, 0)) AS latency_sum,
    countIf(latency_ms IS NOT NULL) AS latency_count,
    uniqExactStateIf(end_user_id, end_user_id != '') AS end_users,
    max(occurred_at) AS last_used
FROM auth_decisions
GROUP BY workspace_id, key_id, bucket, outcome, key_env;

CREATE TABLE IF NOT EXISTS key_usage_hour AS key_usage_minute
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (workspace_id, key_id, bucket, outcome, key_env)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_usage_hour_mv TO key_usage_hour AS
SELECT
    workspace_id,
    key_id,
    toStartOfHour(bucket) AS bucket,
    outcome,
    key_env,
    sum(requests) AS requests,
    sum(cost) AS cost,
    quantilesTDigestMergeState(0.5, 0.9, 0.99)(latency) AS latency,
    sum(latency_sum) AS latency_sum,
    sum(latency_count) AS latency_count,
    uniqExactMergeState(end_users) AS end_users,
    max(last_used) AS last_used
FROM key_usage_minute
GROUP BY workspace_id, key_id, bucket, outcome, key_env;

CREATE TABLE IF NOT EXISTS key_usage_day AS key_usage_minute
ENGINE = AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (workspace_id, key_id, bucket, outcome, key_env)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_usage_day_mv TO key_usage_day AS
SELECT
    workspace_id,
    key_id,
    toDateTime(toStartOfDay(bucket), 'UTC') AS bucket,
    outcome,
    key_env,
    sum(requests) AS requests,
    sum(cost) AS cost,
    quantilesTDigestMergeState(0.5, 0.9, 0.99)(latency) AS latency,
    sum(latency_sum) AS latency_sum,
    sum(latency_count) AS latency_count,
    uniqExactMergeState(end_users) AS end_users,
    max(last_used) AS last_used
FROM key_usage_minute
GROUP BY workspace_id, key_id, bucket, outcome, key_env;
