import { type ClickHouseDriver, checkDatabaseName } from './driver/types.ts';

// DDL takes no bound parameters: every identifier below is checked to be a plain name first.
function checkTableName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,63}$/.test(name)) throw new Error(`"${name}" is not a plain table name`);
  return name;
}

/** Drops `name` if it exists and creates it empty. */
export async function recreateDatabase(ch: ClickHouseDriver, name: string): Promise<void> {
  await ch.command(`DROP DATABASE IF EXISTS ${checkDatabaseName(name)}`);
  await ch.command(`CREATE DATABASE ${checkDatabaseName(name)}`);
}

export async function dropDatabase(ch: ClickHouseDriver, name: string): Promise<void> {
  await ch.command(`DROP DATABASE IF EXISTS ${checkDatabaseName(name)}`);
}

/** Tables that hold data (not views, not the migrations ledger) in `database`. */
export async function listDataTables(ch: ClickHouseDriver, database: string): Promise<string[]> {
  const rows = await ch.query<{ name: string }>(
    `SELECT name FROM system.tables
     WHERE database = {database:String} AND engine NOT IN ('MaterializedView', 'View') AND name != 'schema_migrations'
     ORDER BY name`,
    { database },
  );
  return rows.map((r) => checkTableName(r.name));
}

/** Background merges running now in the driver's database (a bench waits for none before it measures idle). */
export async function countRunningMerges(ch: ClickHouseDriver): Promise<number> {
  const [row] = await ch.query<{ merges: number }>(
    'SELECT count() AS merges FROM system.merges WHERE database = currentDatabase()',
  );
  return row?.merges ?? 0;
}

/**
 * Active parts of `table` in the driver's database, and how many of them hold `projection`: a
 * projection added by a migration reaches older parts through a background mutation.
 */
export async function countPartsWithProjection(
  ch: ClickHouseDriver,
  table: string,
  projection: string,
): Promise<{ parts: number; with_projection: number }> {
  const [row] = await ch.query<{ parts: number; with_projection: number }>(
    `SELECT (SELECT count() FROM system.parts
             WHERE database = currentDatabase() AND table = {table:String} AND active) AS parts,
            (SELECT count() FROM system.projection_parts
             WHERE database = currentDatabase() AND table = {table:String} AND name = {projection:String} AND active)
              AS with_projection`,
    { table, projection },
  );
  return { parts: Number(row?.parts ?? 0), with_projection: Number(row?.with_projection ?? 0) };
}

/**
 * Swaps `a.table` and `b.table` atomically (Atomic databases). Materialized views follow their
 * source and target by name, so views in `a` now read and write the swapped-in tables.
 */
export async function exchangeTables(
  ch: ClickHouseDriver,
  a: string,
  b: string,
  table: string,
): Promise<void> {
  await ch.command(
    `EXCHANGE TABLES ${checkDatabaseName(a)}.${checkTableName(table)} AND ${checkDatabaseName(b)}.${checkTableName(table)}`,
  );
}
