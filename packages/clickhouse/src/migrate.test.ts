import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, splitStatements } from './migrate.ts';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'keytrail-migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('migration files', () => {
  it('the shipped migrations are numbered 1..n without duplicates or gaps', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    for (const m of migrations) expect(m.statements.length).toBeGreaterThan(0);
  });

  it('every shipped table leads its ORDER BY with workspace_id (except the migrations ledger)', () => {
    for (const m of loadMigrations()) {
      for (const statement of m.statements) {
        const orderBy = /ORDER BY\s+\(?\s*([a-z_]+)/i.exec(statement);
        if (!orderBy || /schema_migrations/.test(statement)) continue;
        expect(orderBy[1], `${m.name}`).toBe('workspace_id');
      }
    }
  });

  it('fails on a duplicate number', () => {
    const dir = dirWith({ '0001_a.sql': 'SELECT 1;', '0002_b.sql': 'SELECT 2;', '0002_c.sql': 'SELECT 3;' });
    expect(() => loadMigrations(dir)).toThrow(/duplicate migration number 2/);
  });

  it('fails on a gap', () => {
    const dir = dirWith({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 3;' });
    expect(() => loadMigrations(dir)).toThrow(/gap: expected 2/);
  });

  it('fails on a badly named file', () => {
    expect(() => loadMigrations(dirWith({ '1_a.sql': 'SELECT 1;' }))).toThrow(/NNNN_snake_case/);
  });

  it('splits statements at line-ending semicolons and drops comment-only chunks', () => {
    expect(
      splitStatements(
        "-- a comment\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Memory;\n\n-- only a comment;\nCREATE VIEW b AS SELECT 1;\n",
      ),
    ).toEqual([
      "-- a comment\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Memory",
      'CREATE VIEW b AS SELECT 1',
    ]);
  });
});
