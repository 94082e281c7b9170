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

describe('migration 0021 (auth_decisions by end user)', () => {
  it("answers an end user's usage from the projection, for parts written before and after it, as the raw rows do", async () => {
    const ch = createEmbeddedDriver({ path: tempDir('end-user-projection') });
    try {
      const migrations = loadMigrations();
      const v21 = migrations.find((m) => m.name === '0021_auth_decisions_by_end_user.sql')!;
      await migrate(ch, { migrations: migrations.filter((m) => m.version < v21.version) });
      // Three parts before the migration, one after it.
      for (let first = 0; first < 180_000; first += 60_000) {
        await insertSyntheticDecisions(ch, shape, first, 60_000, TOTAL);
      }
      await migrate(ch);
      await waitForMutations(ch, { onProgress: () => {}, signal: AbortSignal.timeout(60_000) });
      if ((await countRunningMutations(ch)) > 0)
        throw new Error('MATERIALIZE PROJECTION still running after 60 s');
      await insertSyntheticDecisions(ch, shape, 180_000, 60_000, TOTAL);

      // Every active part holds the projection: the old ones through the migration's mutation.
      const parts = await countPartsWithProjection(ch, 'auth_decisions', 'by_end_user');
      // (Background merges may have joined them already; a merged part keeps the projection.)
      expect(parts.parts).toBeGreaterThanOrEqual(1);
      expect(parts.with_projection).toBe(parts.parts);

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
        // ReadFromPreparedSource (by_end_user), which that setting does not count)…
        const fromProjection = await getEndUserBreakdown(
          withSettings(ch, endUserId === 'eu_none' ? {} : { force_optimize_projection_name: 'by_end_user' }),
          { ...params, endUserId, minutes },
        );
        // …and answer exactly what the raw rows say.
        const fromRawRows = await getEndUserBreakdown(withSettings(ch, { optimize_use_projections: 0 }), {
          ...params,
          endUserId,
          minutes,
        });
        expect(fromProjection).toEqual(fromRawRows);
        // Its buckets and its keys count the same decisions.
        const total = fromProjection.buckets.reduce((n, b) => n + b.total, 0);
        expect(fromProjection.keys.reduce((n, k) => n + k.total, 0)).toBe(total);
        if (endUserId !== 'eu_none') {
          expect(total).toBeGreaterThan(300);
          expect(fromProjection.keys.length).toBeGreaterThan(1);
          // Buckets oldest first; keys most used first.
          const starts = fromProjection.buckets.map((b) => b.start);
          expect(starts).toEqual([...starts].sort());
          const totals = fromProjection.keys.map((k) => k.total);
          expect(totals).toEqual([...totals].sort((a, b) => b - a));
        }
      }

      // Running the migration's statements again (a second process migrating) changes nothing.
      for (const statement of v21.statements) await ch.command(statement);
    } finally {
      await ch.close();
    }
  });
});
