-- Recently seen event ids, for counting a client's retry once (DESIGN.md: "one event_id is
-- counted once"). Fed from both raw tables; ordered by workspace and event_id (UUIDv7, so recent ids sit
-- together). The projector looks a batch's ids up here before inserting; rows older than the
-- retry window (KEYTRAIL_DEDUP_WINDOW_HOURS, default 24) are dropped by TTL.
CREATE TABLE IF NOT EXISTS seen_event_ids
(
    event_id UUID,
    workspace_id LowCardinality(String),
    source LowCardinality(String) COMMENT 'auth_decisions or key_lifecycle',
    kafka_partition UInt32,
    kafka_offset UInt64,
    seen_at DateTime64(3, 'UTC') COMMENT 'Kafka timestamp of the event: retries are judged by arrival time, so a replay decides as the live run did'
)
ENGINE = MergeTree
ORDER BY (workspace_id, event_id)
TTL toDateTime(seen_at) + INTERVAL 24 HOUR
SETTINGS non_replicated_deduplication_window = 1000, merge_with_ttl_timeout = 3600;

CREATE MATERIALIZED VIEW IF NOT EXISTS seen_event_ids_decisions_mv TO seen_event_ids AS
SELECT event_id, workspace_id, 'auth_decisions' AS source, kafka_partition, kafka_offset, kafka_timestamp AS seen_at
FROM auth_decisions;

CREATE MATERIALIZED VIEW IF NOT EXISTS seen_event_ids_lifecycle_mv TO seen_event_ids AS
SELECT event_id, workspace_id, 'key_lifecycle' AS source, kafka_partition, kafka_offset, kafka_timestamp AS seen_at
FROM key_lifecycle;
