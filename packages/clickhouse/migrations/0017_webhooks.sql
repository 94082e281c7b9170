-- Webhook endpoints, one row per version (created, secret rotated, disabled, deleted).
-- Secrets are sealed (AES-256-GCM, key outside the database: KEYTRAIL_SECRET_KEY or the data
-- directory's key file); the table never holds one in clear.
CREATE TABLE IF NOT EXISTS webhook_endpoints
(
    workspace_id LowCardinality(String),
    endpoint_id String,
    url String,
    events Array(LowCardinality(String)),
    sealed_secrets String COMMENT 'Sealed JSON [{secret, expires_at}]: the current secret and, for 24 h after a rotation, the previous one',
    created_at DateTime64(3, 'UTC'),
    disabled_at Nullable(DateTime64(3, 'UTC')),
    disabled_reason String,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace_id, endpoint_id);

-- One message per (endpoint, alert change): its body is fixed when it is made, its id
-- (webhook-id) is derived from the alert change and the endpoint, so re-making it after a crash
-- writes the same message. Each attempt writes a newer version (status, attempts, next attempt).
CREATE TABLE IF NOT EXISTS webhook_messages
(
    workspace_id LowCardinality(String),
    endpoint_id String,
    message_id String,
    event_type LowCardinality(String),
    alert_id String,
    body String,
    created_at DateTime64(3, 'UTC'),
    status LowCardinality(String) COMMENT 'PENDING, DELIVERED, FAILED (schedule used up or endpoint disabled)',
    attempts UInt16,
    next_attempt_at DateTime64(3, 'UTC'),
    last_status_code UInt16 COMMENT '0 when no HTTP answer',
    last_error String,
    version UInt64 COMMENT '0 when made; the time of each later change in ms'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace_id, endpoint_id, message_id)
TTL toDateTime(created_at) + INTERVAL 90 DAY;

-- Every delivery attempt, for the delivery log.
CREATE TABLE IF NOT EXISTS webhook_attempts
(
    workspace_id LowCardinality(String),
    endpoint_id String,
    message_id String,
    attempt UInt16,
    attempted_at DateTime64(3, 'UTC'),
    outcome LowCardinality(String) COMMENT 'DELIVERED, RETRY, FAILED, ENDPOINT_GONE',
    status_code UInt16 COMMENT '0 when no HTTP answer (timeout, refused address, connection error)',
    duration_ms UInt32,
    error String
)
ENGINE = MergeTree
ORDER BY (workspace_id, endpoint_id, message_id, attempt, attempted_at)
TTL toDateTime(attempted_at) + INTERVAL 90 DAY;
