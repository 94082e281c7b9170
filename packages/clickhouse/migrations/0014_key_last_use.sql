-- Per key, the newest decision's time and client IP: one row per key once merged, so the keys
-- list shows "last used, from where" without reading the raw decisions of a hot key (tens of
-- millions of rows over 30 days at scale).
CREATE TABLE IF NOT EXISTS key_last_use
(
    workspace_id LowCardinality(String),
    key_id String COMMENT 'Empty for decisions on unknown keys',
    last_used SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_client_ip AggregateFunction(argMax, String, DateTime64(3, 'UTC')) COMMENT 'client_ip of the newest decision'
)
ENGINE = AggregatingMergeTree
ORDER BY (workspace_id, key_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- What auth_decisions already holds; migrations run before any projector writes.
INSERT INTO key_last_use
SELECT workspace_id, key_id, max(occurred_at) AS last_used, argMaxState(client_ip, occurred_at) AS last_client_ip
FROM auth_decisions
GROUP BY workspace_id, key_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS key_last_use_mv TO key_last_use AS
SELECT workspace_id, key_id, max(occurred_at) AS last_used, argMaxState(client_ip, occurred_at) AS last_client_ip
FROM auth_decisions
GROUP BY workspace_id, key_id;
