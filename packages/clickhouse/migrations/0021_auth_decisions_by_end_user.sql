-- An end user's decisions, in end-user order. auth_decisions is ordered by key, and an end user's
-- traffic crosses many keys and sessions (in the 100M-decision query bench, 60-75 decisions over
-- 45-55 keys), so `getEndUserBuckets` read every granule of the workspace's range: 750-960 ms a
-- query at 100M. This projection holds the six columns that query reads, ordered by end user, in
-- every part of auth_decisions: the engine picks it by itself (fewer marks to read), and the same
-- query reads one end user's granules, 19-24 ms. A projection lives inside its part, so merges,
-- TTL, retention changes and replay's rebuilt tables carry it without a view or a second table to
-- keep in step. It costs a sort and a write of these columns on every insert (bench README).
ALTER TABLE auth_decisions
    ADD PROJECTION IF NOT EXISTS by_end_user
    (
        SELECT workspace_id, end_user_id, occurred_at, key_id, outcome, cost
        ORDER BY workspace_id, end_user_id, occurred_at
    );

-- Builds the projection for the parts written before this migration, in the background (a
-- mutation): until a part has it, queries read that part as before. Running it twice rebuilds
-- the same projection, so two processes migrating at once are safe.
ALTER TABLE auth_decisions MATERIALIZE PROJECTION by_end_user;
