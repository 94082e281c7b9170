-- Request id → where its decision sits in auth_decisions (key_id, occurred_at): the request
-- lookup reads this narrow table by its primary key, then the raw table by its own, instead of
-- checking a bloom filter on every granule of 90 days of raw rows. Kept as long as the raw rows
-- (applyRetention sets both TTLs).
CREATE TABLE IF NOT EXISTS request_ids
(
    workspace_id LowCardinality(String),
    request_id String,
    key_id String,
    occurred_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (workspace_id, request_id, key_id, occurred_at)
TTL toDateTime(occurred_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- What auth_decisions already holds; migrations run before any projector writes.
INSERT INTO request_ids
SELECT workspace_id, request_id, key_id, occurred_at FROM auth_decisions WHERE request_id != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS request_ids_mv TO request_ids AS
SELECT workspace_id, request_id, key_id, occurred_at FROM auth_decisions WHERE request_id != '';
