import {
  createEmbeddedDriver,
  insertKeyLifecycle,
  type KeyLifecycleRow,
  listKeys,
  loadMigrations,
  migrate,
} from '@keytrail/clickhouse';
import type { KeyLifecycle } from '@keytrail/events';
import { bareKeyLifecycle } from '@keytrail/events/fixtures';
import { describe, expect, it } from 'vitest';
import { tempDir } from './kit/index.ts';

const at = Date.UTC(2026, 10, 21, 9, 0);
let n = 0;
const row = (
  fields: Partial<KeyLifecycle> & Pick<KeyLifecycle, 'lifecycle_type' | 'key_id'>,
): KeyLifecycleRow => {
  n++;
  return {
    event: bareKeyLifecycle({
      event_id: `0193eeee-0000-7000-8000-${n.toString(16).padStart(12, '0')}`,
      occurred_at: at + n * 1_000,
      workspace_id: 'ws_upgrade',
      ...fields,
    }),
    at: { partition: 0, offset: String(n), timestamp: at + n * 1_000 },
  };
};

// Every merged column either table holds, read the same way from each.
const mergedState = (table: 'key_state' | 'key_state_v2') =>
  `SELECT key_id, argMaxIfMerge(key_prefix) AS key_prefix, argMaxIfMerge(key_env) AS key_env,
     argMaxIfMerge(key_type) AS key_type, argMaxIfMerge(name) AS name, argMaxIfMerge(resource) AS resource,
     argMaxIfMerge(scopes) AS scopes, argMaxIfMerge(rate_limits) AS rate_limits, argMaxIfMerge(quota) AS quota,
     argMaxIfMerge(expires_at) AS expires_at, argMaxIfMerge(allowed_origins) AS allowed_origins,
     argMaxIfMerge(status_event) AS status_event, max(status_at) AS status_at,
     argMaxIfMerge(grace_ends_at) AS grace_ends_at, argMaxIfMerge(replaced_by) AS replaced_by,
     argMaxIfMerge(end_user_id) AS end_user_id, argMaxIfMerge(parent_key_id) AS parent_key_id,
     min(created_at) AS created_at, max(revoked_at) AS revoked_at, max(last_event_at) AS last_event_at
   FROM ${table} WHERE workspace_id = 'ws_upgrade' GROUP BY key_id ORDER BY key_id`;

describe('migration 0020 (key_state in small granules)', () => {
  it('carries every key and session over from key_lifecycle, twice over changes nothing, and new events follow', async () => {
    const ch = createEmbeddedDriver({ path: tempDir('key-state-upgrade') });
    try {
      const migrations = loadMigrations();
      const v2 = migrations.find((m) => m.name === '0020_key_state_small_granules.sql')!;
      await migrate(ch, { migrations: migrations.filter((m) => m.version < v2.version) });
      await insertKeyLifecycle(ch, [
        row({ lifecycle_type: 'CREATED', key_id: 'key_a', key_env: 'LIVE', name: 'A', scopes: ['read'] }),
        row({ lifecycle_type: 'SCOPES_CHANGED', key_id: 'key_a', scopes: ['read', 'write'] }),
        row({ lifecycle_type: 'CREATED', key_id: 'key_b', key_env: 'TEST', name: 'B' }),
        row({
          lifecycle_type: 'SUPERSEDED',
          key_id: 'key_b',
          replaced_by: 'key_c',
          grace_ends_at: at + 86_400_000,
        }),
        row({ lifecycle_type: 'CREATED', key_id: 'key_c', key_env: 'TEST', name: 'C' }),
        row({
          lifecycle_type: 'SESSION_ISSUED',
          key_id: 'sess_1',
          session_id: 'sess_1',
          end_user_id: 'eu_1',
          parent_key_id: 'key_a',
        }),
        row({ lifecycle_type: 'SESSION_REVOKED', key_id: 'key_a', session_id: 'sess_1' }),
      ]);
      const before = await ch.query(mergedState('key_state'));
      expect(before.map((r) => (r as { key_id: string }).key_id)).toEqual([
        'key_a',
        'key_b',
        'key_c',
        'sess_1',
      ]);

      await migrate(ch);
      expect(await ch.query(mergedState('key_state_v2'))).toEqual(before);
      // The old table and its view are gone: nothing writes to or reads from two copies.
      expect(
        await ch.query(
          `SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ('key_state', 'key_state_mv')`,
        ),
      ).toEqual([]);

      // Another process running the same migration at once: the backfill again changes nothing.
      for (const statement of v2.statements) await ch.command(statement);
      expect(await ch.query(mergedState('key_state_v2'))).toEqual(before);

      // Events after the migration reach the new table through its view.
      await insertKeyLifecycle(ch, [row({ lifecycle_type: 'REVOKED', key_id: 'key_c' })]);
      const keys = await listKeys(ch, { workspaceId: 'ws_upgrade', now: new Date(at + 3_600_000) });
      expect(Object.fromEntries(keys.map((k) => [k.key_id, k.status]))).toEqual({
        key_a: 'ACTIVE',
        key_b: 'SUPERSEDED',
        key_c: 'REVOKED',
        sess_1: 'REVOKED',
      });
      expect(keys.find((k) => k.key_id === 'key_a')?.scopes).toEqual(['read', 'write']);
      expect(keys.find((k) => k.key_id === 'sess_1')).toMatchObject({
        end_user_id: 'eu_1',
        parent_key_id: 'key_a',
      });
    } finally {
      await ch.close();
    }
  });
});
