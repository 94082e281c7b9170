-- The end-user projection also holds session_id, so an end user's usage names the sessions its
-- traffic came through (counted per bucket and per key, and listed), not only their parent keys.
-- A projection's columns cannot be changed in place: this drops 0021's projection, adds the wider
-- one and builds it for the parts written before (a background mutation, as 0021 did: 130 s at
-- 100M decisions). The drop comes first because ClickHouse runs DROP PROJECTION to the end of
-- every mutation queued before it, so after the build it would hold the start for the whole build.
-- Until a part holds the new projection, an end user's query reads that part in the table's own
-- order: slower, the same answer. session_id is empty for every decision made with a key, so the
-- column adds almost nothing to the projection's size. Running it twice (two processes migrating
-- at once) rebuilds the same projection.

-- A MATERIALIZE of 0021's projection still running (a database migrated from before 0021 in this
-- same run, or lately at 100M) would make the drop fail, and its work would be thrown away
-- anyway: it is stopped first. The pattern names by_end_user alone, never by_end_user_sessions.
KILL MUTATION WHERE database = currentDatabase() AND table = 'auth_decisions'
    AND match(command, 'PROJECTION by_end_user([^_a-zA-Z0-9]|$)') SYNC;

ALTER TABLE auth_decisions DROP PROJECTION IF EXISTS by_end_user;

ALTER TABLE auth_decisions
    ADD PROJECTION IF NOT EXISTS by_end_user_sessions
    (
        SELECT workspace_id, end_user_id, occurred_at, key_id, session_id, outcome, cost
        ORDER BY workspace_id, end_user_id, occurred_at
    );

ALTER TABLE auth_decisions MATERIALIZE PROJECTION by_end_user_sessions;
