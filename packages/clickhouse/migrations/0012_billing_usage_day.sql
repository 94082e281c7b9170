-- What finance bills: per workspace, day, end user and key, the allowed decisions and the cost of
-- live keys (test and dev keys are never billed). Unlike end_user_usage_day it keeps usage with
-- no end user (end_user_id = ''), so an export reconciles with the workspace's live ALLOWED total.
-- Session traffic carries its end user, so it is billed to that end user.
CREATE TABLE IF NOT EXISTS billing_usage_day
(
    workspace_id LowCardinality(String),
    day Date,
    end_user_id String COMMENT 'Empty for usage no end user was attributed to',
    key_id String,
    billable_requests SimpleAggregateFunction(sum, UInt64) COMMENT 'ALLOWED decisions of LIVE keys',
    cost SimpleAggregateFunction(sum, Int64) COMMENT 'Micro-credits of every LIVE decision'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (workspace_id, day, end_user_id, key_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Decisions projected before this migration (those the raw table still holds). Migrations run
-- before any projector writes (keytrail up, docker-compose's migrate service), so nothing lands
-- between this backfill and the view below.
INSERT INTO billing_usage_day
SELECT workspace_id, toDate(occurred_at) AS day, end_user_id, key_id,
       countIf(outcome = 'ALLOWED') AS billable_requests, sum(cost) AS cost
FROM auth_decisions
WHERE key_env = 'LIVE'
GROUP BY workspace_id, day, end_user_id, key_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS billing_usage_day_mv TO billing_usage_day AS
SELECT workspace_id, toDate(occurred_at) AS day, end_user_id, key_id,
       countIf(outcome = 'ALLOWED') AS billable_requests, sum(cost) AS cost
FROM auth_decisions
WHERE key_env = 'LIVE'
GROUP BY workspace_id, day, end_user_id, key_id;
