-- billing_usage_day folded to calendar months (UTC), one row per (workspace, month, end user),
-- in the order a monthly export reads. A monthly export then aggregates in primary-key order and
-- each page stops at its LIMIT, and it reads one row per end user instead of one per (end user,
-- key): an end user's traffic often comes through many keys and sessions over a month. Fed from
-- billing_usage_day's inserted blocks (already aggregated per day), as key_usage_hour is fed
-- from key_usage_minute.
CREATE TABLE IF NOT EXISTS billing_usage_month
(
    workspace_id LowCardinality(String),
    month Date COMMENT 'First day of the UTC month',
    end_user_id String COMMENT 'Empty for usage no end user was attributed to',
    billable_requests SimpleAggregateFunction(sum, UInt64) COMMENT 'ALLOWED decisions of LIVE keys',
    cost SimpleAggregateFunction(sum, Int64) COMMENT 'Micro-credits of every LIVE decision',
    keys AggregateFunction(uniqExact, String) COMMENT 'Distinct keys and sessions the usage came through'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYear(month)
ORDER BY (workspace_id, month, end_user_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- What billing_usage_day already holds; migrations run before any projector writes.
INSERT INTO billing_usage_month
SELECT workspace_id, toStartOfMonth(day) AS month, end_user_id,
       sum(billable_requests) AS billable_requests, sum(cost) AS cost, uniqExactState(key_id) AS keys
FROM billing_usage_day
GROUP BY workspace_id, month, end_user_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS billing_usage_month_mv TO billing_usage_month AS
SELECT workspace_id, toStartOfMonth(day) AS month, end_user_id,
       sum(billable_requests) AS billable_requests, sum(cost) AS cost, uniqExactState(key_id) AS keys
FROM billing_usage_day
GROUP BY workspace_id, month, end_user_id;
