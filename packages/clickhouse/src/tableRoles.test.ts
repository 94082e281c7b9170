import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrate.ts';
import { OWN_STATE_TABLES, PROJECTION_TABLES } from './tableRoles.ts';

/** Every table the shipped migrations leave: created, and not dropped by a later one (views excluded: they follow their tables). */
function migratedTables(): string[] {
  const tables = new Set<string>();
  for (const m of loadMigrations())
    for (const statement of m.statements) {
      const created = /CREATE TABLE(?: IF NOT EXISTS)?\s+([a-z_0-9]+)/i.exec(statement);
      if (created) tables.add(created[1]!);
      const dropped = /^DROP TABLE(?: IF EXISTS)?\s+([a-z_0-9]+)/i.exec(statement);
      if (dropped) tables.delete(dropped[1]!);
    }
  return [...tables];
}

describe('table roles', () => {
  it('every table a migration creates is either a projection or Keytrail state, never both', () => {
    const projections = new Set<string>(PROJECTION_TABLES);
    const ownState = new Set<string>(OWN_STATE_TABLES);
    for (const table of migratedTables()) {
      expect(
        projections.has(table) !== ownState.has(table),
        `${table}: add it to PROJECTION_TABLES (rebuilt by replay) or OWN_STATE_TABLES (kept by replay) in tableRoles.ts`,
      ).toBe(true);
    }
  });

  it('lists no table that the migrations do not create', () => {
    expect([...PROJECTION_TABLES, ...OWN_STATE_TABLES].sort()).toEqual(migratedTables().sort());
  });
});
