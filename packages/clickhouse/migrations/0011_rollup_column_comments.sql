-- The hour and day rollups were created with the minute rollup's column comment; applied
-- migrations never change, so the comments are corrected here.
ALTER TABLE key_usage_hour COMMENT COLUMN bucket 'Start of the hour';

ALTER TABLE key_usage_day COMMENT COLUMN bucket 'Start of the day';
