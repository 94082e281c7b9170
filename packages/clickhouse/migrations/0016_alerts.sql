-- Alerts as the alerter publishes them on keytrail.alerts, newest version of each alert. Every
-- change is written whole (the alert as it stands), so a re-delivered change writes the same
-- row again and ReplacingMergeTree keeps one: the projection is idempotent without a token.
CREATE TABLE IF NOT EXISTS alerts
(
    workspace_id LowCardinality(String),
    alert_id String,
    kind LowCardinality(String),
    status LowCardinality(String) COMMENT 'FIRING or RESOLVED',
    severity LowCardinality(String),
    key_id String COMMENT 'Scope; empty when the alert is not about one key',
    key_prefix String,
    client_ip String,
    end_user_id String,
    started_at DateTime64(3, 'UTC') COMMENT 'Event time of the first anomalous decision',
    detected_at DateTime64(3, 'UTC') COMMENT 'Event time at which the rule fired',
    updated_at DateTime64(3, 'UTC'),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    summary String,
    evidence String COMMENT 'JSON: count, baseline, threshold, window_seconds, distinct_key_hashes, distinct_ips, sample_request_ids',
    version UInt64 COMMENT 'updated_at in ms × 4 + change (FIRED 0, UPDATED 1, RESOLVED 2): the latest change wins'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace_id, alert_id);

-- Alert rules a workspace changed (PUT /alert-rules/{kind}); kinds without a row use the defaults.
CREATE TABLE IF NOT EXISTS alert_rules
(
    workspace_id LowCardinality(String),
    kind LowCardinality(String),
    settings String COMMENT 'JSON: the whole rule after the change, validated by @keytrail/detection',
    updated_at DateTime64(3, 'UTC'),
    updated_by String COMMENT 'Token id that changed it',
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace_id, kind);
