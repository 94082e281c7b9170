-- Billable usage per end user per day. Live keys only (test and dev keys are free by design);
-- session traffic is attributed to the end user the session is scoped to.
CREATE TABLE IF NOT EXISTS end_user_usage_day
(
    workspace_id LowCardinality(String),
    end_user_id String,
    day Date,
    key_id String COMMENT 'The API key (the parent key for session traffic)',
    requests SimpleAggregateFunction(sum, UInt64) COMMENT 'Every decision, allowed or not',
    billable_requests SimpleAggregateFunction(sum, UInt64) COMMENT 'Allowed decisions',
    cost SimpleAggregateFunction(sum, Int64) COMMENT 'Micro-credits'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (workspace_id, end_user_id, day, key_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS end_user_usage_day_mv TO end_user_usage_day AS
SELECT
    workspace_id,
    end_user_id,
    toDate(occurred_at) AS day,
    key_id,
    count() AS requests,
    countIf(outcome = 'ALLOWED') AS billable_requests,
    sum(cost) AS cost
FROM auth_decisions
WHERE key_env = 'LIVE' AND end_user_id != ''
GROUP BY workspace_id, end_user_id, day, key_id;
