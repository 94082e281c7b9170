import { appendFileSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Repair of MergeTree's non-replicated deduplication log after the embedded engine was killed.
 *
 * Why: ClickHouse (MergeTreeSink::commitPart) appends a part's block ids to the table's
 * deduplication log *before* it renames the part into place. A SIGKILL between the two leaves an
 * entry whose part never existed: the redo of that batch (same `insert_deduplication_token`) is
 * then dropped as a duplicate, and the rows are lost in that one table while the others have them
 * (seen once in CI: 2,188 decisions missing from `auth_decisions`, present in every rollup). The
 * log is ClickHouse's own text file (`deduplication_log_N.txt`: `op \t part \t block_id \n`, op 1
 * adds, 2 drops); before the engine opens the folder, every live entry whose part no part on disk
 * covers gets a drop record, exactly what ClickHouse writes itself when a part is dropped. A
 * ClickHouse server has the same window on its own crashes; only the embedded engine, which dies
 * with the process, is repaired here.
 */

export interface DeduplicationRecord {
  op: 'add' | 'drop';
  part: string;
  blockId: string;
}

export interface PartRange {
  partition: string;
  min: number;
  max: number;
}

/** Records of one log file's whole lines. */
export function parseDeduplicationLog(text: string): DeduplicationRecord[] {
  const records: DeduplicationRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const [op, part, blockId] = line.split('\t');
    if ((op !== '1' && op !== '2') || part === undefined || blockId === undefined) {
      throw new Error(`unreadable deduplication log record ${JSON.stringify(line)}`);
    }
    records.push({ op: op === '1' ? 'add' : 'drop', part, blockId });
  }
  return records;
}

/** `<partition>_<min block>_<max block>_<level>[_<mutation>]`; undefined for anything else (tmp_…, detached). */
export function parsePartName(name: string): PartRange | undefined {
  const match = /^([A-Za-z0-9-]+)_(\d+)_(\d+)_\d+(?:_\d+)?$/.exec(name);
  if (!match) return undefined;
  return { partition: match[1]!, min: Number(match[2]), max: Number(match[3]) };
}

/**
 * The live entries (replayed in file order, as ClickHouse loads them) whose part is covered by no
 * part on disk: their block was never committed.
 */
export function orphanedEntries(
  records: readonly DeduplicationRecord[],
  partsOnDisk: readonly string[],
): DeduplicationRecord[] {
  const live = new Map<string, DeduplicationRecord>();
  for (const record of records) {
    if (record.op === 'drop') live.delete(record.blockId);
    else live.set(record.blockId, record);
  }
  const parts = partsOnDisk.map(parsePartName).filter((p): p is PartRange => p !== undefined);
  const covered = (name: string): boolean => {
    const entry = parsePartName(name);
    // A name we cannot read is left alone: this repair only ever removes what it understands.
    if (!entry) return true;
    return parts.some((p) => p.partition === entry.partition && p.min <= entry.min && entry.max <= p.max);
  };
  return [...live.values()].filter((record) => !covered(record.part));
}

/**
 * What the repair did to one table: dropped one entry whose part was never committed, or could
 * not read the table's log (left to ClickHouse as it is, so the window stays open there: worth a
 * warning, since it means ClickHouse changed the format this code reads).
 */
export type DeduplicationRepair = {
  /** The table's data folder (`store/<xxx>/<uuid>`) and, when its metadata names it, `database.table`. */
  tableDir: string;
  table: string | undefined;
} & ({ kind: 'dropped'; part: string; blockId: string } | { kind: 'unreadable'; reason: string });

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort(); // the same order on every file system
  } catch {
    return [];
  }
}

/** uuid → `database.table`, from the `ATTACH TABLE _ UUID '…'` statements in `metadata/<db>/`. */
function tableNames(root: string): Map<string, string> {
  const names = new Map<string, string>();
  // metadata/<db> is a link into store/ for Atomic databases, hence readdir and not listDirs.
  for (const database of readdirOrEmpty(join(root, 'metadata'))) {
    const dir = join(root, 'metadata', database);
    for (const file of readdirOrEmpty(dir)) {
      if (!file.endsWith('.sql')) continue;
      const uuid = /UUID '([0-9a-f-]+)'/.exec(readFileSync(join(dir, file), 'utf8'))?.[1];
      if (uuid) names.set(uuid, `${database}.${decodeURIComponent(file.slice(0, -4))}`);
    }
  }
  return names;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Drops, in every table's deduplication log under an embedded data folder, the entries whose part
 * was never committed, and cuts a record a kill left half-written. Run before the engine opens the
 * folder (it reads the logs once, at start-up). Returns what it dropped, and each log it could
 * not read (left as it is).
 */
export function repairDeduplicationLogs(root: string): DeduplicationRepair[] {
  const repairs: DeduplicationRepair[] = [];
  // The metadata is read only when there is something to report.
  let names: Map<string, string> | undefined;
  const tableName = (uuid: string) => {
    names ??= tableNames(root);
    return names.get(uuid);
  };
  for (const shard of listDirs(join(root, 'store'))) {
    for (const uuid of listDirs(join(root, 'store', shard))) {
      const tableDir = join(root, 'store', shard, uuid);
      const logsDir = join(tableDir, 'deduplication_logs');
      const logs = readdirOrEmpty(logsDir)
        .map((file) => ({ file, n: Number(/^deduplication_log_(\d+)\.txt$/.exec(file)?.[1]) }))
        .filter((log) => Number.isInteger(log.n))
        .sort((a, b) => a.n - b.n);
      if (logs.length === 0) continue;
      const records: DeduplicationRecord[] = [];
      try {
        for (const { file } of logs) {
          const path = join(logsDir, file);
          const data = readFileSync(path);
          // ClickHouse writes a record with one write; a kill can still leave its head, which
          // would stop ClickHouse reading the log there (and every record appended after it).
          const whole = data.lastIndexOf(0x0a) + 1;
          if (whole < data.length) truncateSync(path, whole);
          records.push(...parseDeduplicationLog(data.subarray(0, whole).toString('utf8')));
        }
      } catch (err) {
        repairs.push({ kind: 'unreadable', tableDir, table: tableName(uuid), reason: String(err) });
        continue;
      }
      const orphans = orphanedEntries(records, listDirs(tableDir));
      if (orphans.length === 0) continue;
      const last = join(logsDir, logs.at(-1)!.file);
      appendFileSync(last, orphans.map((o) => `2\t${o.part}\t${o.blockId}\n`).join(''));
      for (const o of orphans) {
        repairs.push({ kind: 'dropped', tableDir, table: tableName(uuid), part: o.part, blockId: o.blockId });
      }
    }
  }
  return repairs;
}

/** One line for an operator's log: what the repair did to a table and what follows from it. */
export function describeDeduplicationRepair(repair: DeduplicationRepair): string {
  const table = repair.table ?? repair.tableDir;
  return repair.kind === 'dropped'
    ? `dropped the deduplication entry of ${table} part ${repair.part} (block ${repair.blockId}): a kill lost the part, so the redo of its batch is written`
    : `could not read the deduplication log of ${table}, left as it is, so a batch a kill interrupted may not be redone in this table: ${repair.reason}`;
}
