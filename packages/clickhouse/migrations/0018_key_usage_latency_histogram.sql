-- Latency of the key usage rollups as a log-scale histogram next to the t-digest: merging a hot
-- key's 720 hourly t-digests was 40 to 70 % of a 30-day key usage query. Sparse (the buckets that
-- hold latencies, as sumMap's (buckets, counts)): a fixed array of 98 counters per row made
-- every granule a query touches 784 bytes a row to decompress, which cost a cold key more than
-- its t-digests. Layout (LATENCY_HISTOGRAM in src/tables/latencyHistogram.ts, keep the two
-- equal): bucket 0 holds latencies under 2^-6 ms, bucket i (1..96) [2^((i-1)/4 - 6),
-- 2^(i/4 - 6)) ms, bucket 97 everything from 2^18 ms (262 s). latency_min / latency_max clamp the
-- estimate, so a bucket of one decision reports its latency exactly.
-- Rows written before this migration keep only the t-digest (rollups are kept forever, raw
-- decisions are not, so there is nothing to rebuild them from): a bucket whose histogram counts
-- fewer latencies than latency_count is answered from the t-digest, which the views keep writing.
ALTER TABLE key_usage_minute
    ADD COLUMN IF NOT EXISTS latency_histogram SimpleAggregateFunction(sumMap, Tuple(Array(UInt8), Array(UInt64)))
        COMMENT 'Latencies per log-scale bucket (4 per octave from 2^-6 ms): (buckets, counts)' AFTER latency_count,
    ADD COLUMN IF NOT EXISTS latency_min SimpleAggregateFunction(min, Float64) DEFAULT inf
        COMMENT 'Smallest latency_ms; inf when none reported' AFTER latency_histogram,
    ADD COLUMN IF NOT EXISTS latency_max SimpleAggregateFunction(max, Float64) DEFAULT 0
        COMMENT 'Largest latency_ms' AFTER latency_min;

ALTER TABLE key_usage_hour
    ADD COLUMN IF NOT EXISTS latency_histogram SimpleAggregateFunction(sumMap, Tuple(Array(UInt8), Array(UInt64)))
        COMMENT 'Latencies per log-scale bucket (4 per octave from 2^-6 ms): (buckets, counts)' AFTER latency_count,
    ADD COLUMN IF NOT EXISTS latency_min SimpleAggregateFunction(min, Float64) DEFAULT inf
        COMMENT 'Smallest latency_ms; inf when none reported' AFTER latency_histogram,
    ADD COLUMN IF NOT EXISTS latency_max SimpleAggregateFunction(max, Float64) DEFAULT 0
        COMMENT 'Largest latency_ms' AFTER latency_min;

ALTER TABLE key_usage_day
    ADD COLUMN IF NOT EXISTS latency_histogram SimpleAggregateFunction(sumMap, Tuple(Array(UInt8), Array(UInt64)))
        COMMENT 'Latencies per log-scale bucket (4 per octave from 2^-6 ms): (buckets, counts)' AFTER latency_count,
    ADD COLUMN IF NOT EXISTS latency_min SimpleAggregateFunction(min, Float64) DEFAULT inf
        COMMENT 'Smallest latency_ms; inf when none reported' AFTER latency_histogram,
    ADD COLUMN IF NOT EXISTS latency_max SimpleAggregateFunction(max, Float64) DEFAULT 0
        COMMENT 'Largest latency_ms' AFTER latency_min;

-- The views are replaced to fill the new columns; migrations run before any projector writes.
DROP VIEW IF EXISTS key_usage_minute_mv;

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
    -- Latencies are finite and >= 0 (checked at ingest); the inner greatest keeps log2 finite.
    sumMapIf(
        ([toUInt8(least(97, greatest(0, floor(log2(greatest(assumeNotNull(latency_ms), 0.0078125) / 0.015625) * 4) + 1)))],
         [toUInt64(1)]),
        latency_ms IS NOT NULL
    ) AS latency_histogram,
    if(latency_count > 0, minIf(assumeNotNull(latency_ms), latency_ms IS NOT NULL), inf) AS latency_min,
    maxIf(assumeNotNull(latency_ms), latency_ms IS NOT NULL) AS latency_max,
    uniqExactStateIf(end_user_id, end_user_id != '') AS end_users,
    max(occurred_at) AS last_used
FROM auth_decisions
GROUP BY workspace_id, key_id, bucket, outcome, key_env;

DROP VIEW IF EXISTS key_usage_hour_mv;

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
    sumMap(latency_histogram) AS latency_histogram,
    min(latency_min) AS latency_min,
    max(latency_max) AS latency_max,
    uniqExactMergeState(end_users) AS end_users,
    max(last_used) AS last_used
FROM key_usage_minute
GROUP BY workspace_id, key_id, bucket, outcome, key_env;

DROP VIEW IF EXISTS key_usage_day_mv;

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
    sumMap(latency_histogram) AS latency_histogram,
    min(latency_min) AS latency_min,
    max(latency_max) AS latency_max,
    uniqExactMergeState(end_users) AS end_users,
    max(last_used) AS last_used
FROM key_usage_minute
GROUP BY workspace_id, key_id, bucket, outcome, key_env;
