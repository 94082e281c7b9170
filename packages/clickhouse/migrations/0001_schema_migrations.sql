-- Which migrations have been applied; written by the runner after each file succeeds.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32 COMMENT 'The number in the file name (0001 → 1)',
    name String COMMENT 'File name',
    checksum FixedString(64) COMMENT 'SHA-256 of the file: an applied migration must never change',
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When it was applied'
)
ENGINE = ReplacingMergeTree
ORDER BY version;
