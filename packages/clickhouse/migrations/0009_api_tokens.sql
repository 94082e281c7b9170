-- Keytrail's own API tokens (the product eats its own cooking). Only a SHA-256 of each token is
-- stored. A row per version: revoking writes a newer version; ReplacingMergeTree keeps the latest.
CREATE TABLE IF NOT EXISTS api_tokens
(
    workspace_id LowCardinality(String),
    token_id String,
    name String,
    token_hash FixedString(64) COMMENT 'SHA-256 of the token, hex; the token itself is never stored',
    prefix String COMMENT 'Display prefix (first 12 characters)',
    scopes Array(LowCardinality(String)) COMMENT 'ingest, read, admin, webhook:write',
    created_at DateTime64(3, 'UTC'),
    revoked_at Nullable(DateTime64(3, 'UTC')),
    version UInt64 COMMENT 'Milliseconds of the change; the newest version wins'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace_id, token_id);

-- When each token was last used; flushed from memory every few seconds by the serving processes.
CREATE TABLE IF NOT EXISTS api_token_usage
(
    workspace_id LowCardinality(String),
    token_id String,
    last_used_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (workspace_id, token_id);
