import { listDataTables } from './databases.ts';
import type { ClickHouseDriver } from './driver/types.ts';

/**
 * Tables that are projections of the topics: `keytrail replay` rebuilds them from Kafka and
 * exchanges them with their fresh twins. Materialized views are not listed: they follow their
 * source and target tables by name.
 */
export const PROJECTION_TABLES = [
  'auth_decisions',
  'key_lifecycle',
  'key_usage_minute',
  'key_usage_hour',
  'key_usage_day',
  'end_user_usage_day',
  'billing_usage_day',
  'billing_usage_month',
  'probes_minute',
  'key_state_v2',
  'key_last_use',
  'request_ids',
  'seen_event_ids',
] as const;

/**
 * Keytrail's own state, which the decision and lifecycle topics do not hold: replay leaves these
 * tables alone, so tokens (and the time each was last used), alert rules, webhook endpoints and
 * their delivery log survive a rebuild. Alerts are kept too: they are the alerter's record of
 * what it published (keytrail.alerts), not something a replay of decisions re-derives. The
 * migrations ledger belongs to its database.
 */
export const OWN_STATE_TABLES = [
  'schema_migrations',
  'api_tokens',
  'api_token_usage',
  'alerts',
  'alert_rules',
  'webhook_endpoints',
  'webhook_messages',
  'webhook_attempts',
] as const;

export interface TableRoles {
  projections: string[];
  ownState: string[];
  /** Tables in neither list: a migration added a table without saying what it is. */
  unclassified: string[];
}

/** Sorts the data tables of `database` by role. */
export async function classifyTables(ch: ClickHouseDriver, database: string): Promise<TableRoles> {
  const projections = new Set<string>(PROJECTION_TABLES);
  const ownState = new Set<string>(OWN_STATE_TABLES);
  const roles: TableRoles = { projections: [], ownState: [], unclassified: [] };
  for (const table of await listDataTables(ch, database)) {
    if (projections.has(table)) roles.projections.push(table);
    else if (ownState.has(table)) roles.ownState.push(table);
    else roles.unclassified.push(table);
  }
  return roles;
}

/**
 * Rows per projection table once fully merged (`OPTIMIZE … FINAL` first, so a rollup holds one
 * row per key whatever its insert history). Two databases built from the same events agree on
 * these numbers; replay tests compare them before and after a rebuild. Merging is heavy: for
 * tests and diagnostics, never on a serving path.
 */
export async function countMergedProjectionRows(ch: ClickHouseDriver): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of PROJECTION_TABLES) {
    await ch.command(`OPTIMIZE TABLE ${table} FINAL`);
    const [row] = await ch.query<{ rows: number }>(`SELECT count() AS rows FROM ${table}`);
    counts[table] = row?.rows ?? 0;
  }
  return counts;
}
