import {
  type ClickHouseDriver,
  countPartsWithProjection,
  countRunningMutations,
  createEmbeddedDriver,
  getEndUserBreakdown,
  insertSyntheticDecisions,
  loadMigrations,
  migrate,
  type SyntheticWorkspace,
  waitForMutations,
} from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import { tempDir } from './kit/index.ts';

const DAY = 86_400_000;
const shape: SyntheticWorkspace = {
  workspaceId: 'ws_eu',
  keys: 300,
  endUsers: 400,
  startMs: Date.UTC(2026, 10, 1),
  spanMs: 30 * DAY,
};
const TOTAL = 240_000;

/** The same driver, with settings added to every query (the named query is run as it is). */
const withSettings = (ch: ClickHouseDriver, settings: Record<string, string | number>): ClickHouseDriver => ({
  ...ch,
  query: (sql, params, own) => ch.query(sql, params, { ...own, ...settings }),
});

describe('migrations 0021 and 0022 (auth_decisions by end user, with sessions)', () => {
  it("answers an end user's usage from the projection, for parts written before and after it, as the raw rows do", async () => {
    const ch = createEmbeddedDriver({ path: tempDir('end-user-projection') });
    try {
      const migrations = loadMigrations();
      const v22 = migrations.find((m) => m.name === '0022_auth_decisions_by_end_user_sessions.sql')!;
      await migrate(ch, { migrations: migrations.filter((m) => m.version < v22.version) });
      // Three parts before the migration (with 0021's projection), one after it.
      for (let first = 0; first < 180_000; first += 60_000) {
        await insertSyntheticDecisions(ch, shape, first, 60_000, TOTAL);
      }
      await migrate(ch);
      await waitForMutations(ch, { onProgress: () => {}, signal: AbortSignal.timeout(60_000) });
      if ((await countRunningMutations(ch)) > 0)
        throw new Error('MATERIALIZE or DROP PROJECTION still running after 60 s');
      await insertSyntheticDecisions(ch, shape, 180_000, 60_000, TOTAL);

      // Every active part holds the projection: the old ones through the migration's mutation.
      const parts = await countPartsWithProjection(ch, 'auth_decisions', 'by_end_user_sessions');
      // (Background merges may have joined them already; a merged part keeps the projection.)
      expect(parts.parts).toBeGreaterThanOrEqual(1);
      expect(parts.with_projection).toBe(parts.parts);
      // …and none the one it replaced.
      expect((await countPartsWithProjection(ch, 'auth_decisions', 'by_end_user')).with_projection).toBe(0);

      const params = {
        workspaceId: shape.workspaceId,
        from: new Date(shape.startMs),
        to: new Date(shape.startMs + 30 * DAY),
      };
      for (const [endUserId, minutes] of [
        ['eu_7', 1_440],
        ['eu_399', 60],
        ['eu_none', 1_440],
      ] as const) {
        // The engine must pick the projection by itself (it throws PROJECTION_NOT_USED otherwise;
        // for an end user with no rows it answers from the projection's index alone, EXPLAIN's
        // ReadFromPreparedSource (by_end_user_sessions), which that setting does not count)…
        const projection: Record<string, string> =
          endUserId === 'eu_none' ? {} : { force_optimize_projection_name: 'by_end_user_sessions' };
        const fromProjection = await getEndUserBreakdown(withSettings(ch, projection), {
          ...params,
          endUserId,
          minutes,
          listed: 10_000,
        });
        // …and answer exactly what the raw rows say.
        const fromRawRows = await getEndUserBreakdown(withSettings(ch, { optimize_use_projections: 0 }), {
          ...params,
          endUserId,
          minutes,
          listed: 10_000,
        });
        expect(fromProjection).toEqual(fromRawRows);
        // Its buckets and its keys count the same decisions; its sessions, those made in a session.
        const total = fromProjection.buckets.reduce((n, b) => n + b.total, 0);
        expect(fromProjection.keys.reduce((n, k) => n + k.total, 0)).toBe(total);
        const sessionDecisions = fromProjection.sessions.reduce((n, s) => n + s.total, 0);
        expect(sessionDecisions).toBeLessThanOrEqual(total);
        // A key counts sessions exactly when some listed session was issued from it.
        const sessionKeys = new Set(fromProjection.sessions.map((s) => s.key_id));
        for (const key of fromProjection.keys)
          expect(key.sessions > 0, key.key_id).toBe(sessionKeys.has(key.key_id));
        if (endUserId !== 'eu_none') {
          expect(total).toBeGreaterThan(300);
          expect(fromProjection.keys.length).toBeGreaterThan(1);
          // The synthetic end user signs in through one session (sess_<end user>).
          expect(new Set(fromProjection.sessions.map((s) => s.session_id))).toEqual(
            new Set([`sess_${endUserId}`]),
          );
          expect(sessionDecisions).toBeGreaterThan(0);
          expect(Math.max(...fromProjection.buckets.map((b) => b.sessions))).toBe(1);
          // Buckets oldest first; keys and sessions most used first.
          const starts = fromProjection.buckets.map((b) => b.start);
          expect(starts).toEqual([...starts].sort());
          for (const list of [fromProjection.keys, fromProjection.sessions]) {
            const totals = list.map((k) => k.total);
            expect(totals).toEqual([...totals].sort((a, b) => b - a));
          }
          // A short list is the head of the long one; the buckets stay whole.
          const first5 = await getEndUserBreakdown(ch, { ...params, endUserId, minutes, listed: 5 });
          expect(first5.keys).toEqual(fromProjection.keys.slice(0, 5));
          expect(first5.buckets).toEqual(fromProjection.buckets);
        }
      }

      // Running the migration's statements again (a second process migrating) changes nothing.
      for (const statement of v22.statements) await ch.command(statement);
    } finally {
      await ch.close();
    }
  });
});
