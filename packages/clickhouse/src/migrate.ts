import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseDriver } from './driver/types.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

/** Splits a file into statements at `;` ending a line; comment-only chunks are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

/**
 * Reads the numbered files (`0001_name.sql`). Numbers must start at 1 and have no duplicates or
 * gaps: a branch merge that produced two 0007s fails here, not in production.
 */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(file);
    if (!match) throw new Error(`migration file name "${file}" is not NNNN_snake_case.sql`);
    const text = readFileSync(`${dir}/${file}`, 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitStatements(text),
    });
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      const prev = migrations[i - 1];
      throw new Error(
        prev?.version === m.version
          ? `duplicate migration number ${m.version}: ${prev.name} and ${m.name}`
          : `migration numbers have a gap: expected ${i + 1}, found ${m.name}`,
      );
    }
  });
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: number[];
  pending: number[];
}

async function readApplied(ch: ClickHouseDriver): Promise<Map<number, AppliedRow>> {
  const rows = await ch.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations FINAL');
  return new Map(rows.map((r) => [r.version, r]));
}

export async function migrationStatus(
  ch: ClickHouseDriver,
  migrations = loadMigrations(),
): Promise<MigrationStatus> {
  let applied: Map<number, AppliedRow>;
  try {
    applied = await readApplied(ch);
  } catch {
    return { applied: [], pending: migrations.map((m) => m.version) };
  }
  return {
    applied: migrations.filter((m) => applied.has(m.version)).map((m) => m.version),
    pending: migrations.filter((m) => !applied.has(m.version)).map((m) => m.version),
  };
}

/**
 * Settings of every migration and retention statement. A statement that rewrites existing parts
 * (`MATERIALIZE PROJECTION`, `MODIFY TTL`, `DROP COLUMN`) leaves that work to the engine's
 * background mutations, on every driver (chdb waits for them by default, a server does not):
 * a start after an upgrade is not held back, reads answer meanwhile from the parts as they are,
 * and `waitForMutations` shows the progress.
 */
export const DDL_SETTINGS = { mutations_sync: 0 } as const;

/**
 * Applies every pending migration in order and records each. Safe to run from several processes
 * at once: statements are IF NOT EXISTS and the record table collapses duplicates.
 */
export async function migrate(
  ch: ClickHouseDriver,
  options: { migrations?: Migration[]; onApplied?: (m: Migration) => void } = {},
): Promise<MigrationStatus> {
  const migrations = options.migrations ?? loadMigrations();
  const [first] = migrations;
  if (first) for (const statement of first.statements) await ch.command(statement, undefined, DDL_SETTINGS);
  const applied = await readApplied(ch);
  for (const migration of migrations) {
    const done = applied.get(migration.version);
    if (done) {
      if (done.checksum !== migration.checksum) {
        throw new Error(
          `migration ${migration.name} changed after it was applied; add a new migration instead of editing it`,
        );
      }
      continue;
    }
    for (const statement of migration.statements) await ch.command(statement, undefined, DDL_SETTINGS);
    await ch.insert('schema_migrations', [
      { version: migration.version, name: migration.name, checksum: migration.checksum },
    ]);
    options.onApplied?.(migration);
  }
  return migrationStatus(ch, migrations);
}
