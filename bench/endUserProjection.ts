/**
 * bench/endUserProjection — what the end-user projection costs the write path (migration 0021's
 * `by_end_user`, which migration 0022 replaced with `by_end_user_sessions`, one column wider):
 * the same synthetic decisions (`insertSyntheticDecisions`, the query bench's shape: 10,000 keys,
 * 1M end users) inserted into a fresh database migrated without it and one with it, then one full
 * merge of each (`OPTIMIZE … FINAL`). Figures are the process's CPU per row (chdb runs in-process,
 * so its threads count), which another busy process on the machine disturbs less than wall time.
 * Variants alternate (without, with, with, without) so a drift of the machine falls on both.
 * Prints a table; nothing is asserted.
 *
 *   npx tsx bench/endUserProjection.ts [--rows 6000000] [--chunk 2000000] [--rounds 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createEmbeddedDriver,
  insertSyntheticDecisions,
  loadMigrations,
  migrate,
  type SyntheticWorkspace,
} from '@keytrail/clickhouse';
import { markdownTable } from './table.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '6000000' },
    chunk: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '2' },
  },
});
const ROWS = Number(values.rows);
const CHUNK = Number(values.chunk);
const ROUNDS = Number(values.rounds);
const DAY = 86_400_000;
const shape: SyntheticWorkspace = {
  workspaceId: 'ws_cost',
  keys: 10_000,
  endUsers: 1_000_000,
  startMs: Date.UTC(2026, 10, 1),
  spanMs: 30 * DAY,
};
/** The first migration with an end-user projection ("with" runs every migration, so today's). */
const PROJECTION_MIGRATION = 21;
const migrations = loadMigrations();

/** Process CPU (user + system, every thread) in seconds. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

interface Run {
  insertCpuPerRow: number;
  insertSeconds: number;
  mergeCpuPerRow: number;
  mergeSeconds: number;
}

async function run(withProjection: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-projection-'));
  const ch = createEmbeddedDriver({ path: dir });
  try {
    await migrate(ch, {
      migrations: withProjection ? migrations : migrations.filter((m) => m.version < PROJECTION_MIGRATION),
    });
    let cpu = cpuSeconds();
    let wall = Date.now();
    for (let first = 0; first < ROWS; first += CHUNK)
      await insertSyntheticDecisions(ch, shape, first, Math.min(CHUNK, ROWS - first), ROWS);
    const insertCpuPerRow = ((cpuSeconds() - cpu) * 1e6) / ROWS;
    const insertSeconds = (Date.now() - wall) / 1000;
    cpu = cpuSeconds();
    wall = Date.now();
    await ch.command('OPTIMIZE TABLE auth_decisions FINAL');
    return {
      insertCpuPerRow,
      insertSeconds,
      mergeCpuPerRow: ((cpuSeconds() - cpu) * 1e6) / ROWS,
      mergeSeconds: (Date.now() - wall) / 1000,
    };
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs: { without: Run[]; with: Run[] } = { without: [], with: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const withProjection of round % 2 === 0 ? [false, true] : [true, false]) {
    const label = withProjection ? 'with' : 'without';
    process.stderr.write(`round ${round + 1}: ${label} the projection…\n`);
    runs[label].push(await run(withProjection));
  }
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const figures = (label: string, list: Run[]) => [
  label,
  list.map((r) => r.insertCpuPerRow.toFixed(2)).join(', '),
  mean(list.map((r) => r.insertSeconds)).toFixed(1),
  list.map((r) => r.mergeCpuPerRow.toFixed(2)).join(', '),
  mean(list.map((r) => r.mergeSeconds)).toFixed(1),
];
const ratio = (pick: (r: Run) => number) =>
  `${(mean(runs.with.map(pick)) / mean(runs.without.map(pick))).toFixed(2)}×`;
console.log(
  `${ROWS.toLocaleString('en')} synthetic decisions in chunks of ${CHUNK.toLocaleString('en')} (every view fires), then OPTIMIZE FINAL; ${ROUNDS} rounds\n`,
);
console.log(
  markdownTable(
    ['auth_decisions', 'insert CPU-µs/row', 'insert s (mean)', 'full merge CPU-µs/row', 'merge s (mean)'],
    [
      figures('without the projection', runs.without),
      figures('with by_end_user_sessions', runs.with),
      ['with / without', ratio((r) => r.insertCpuPerRow), '', ratio((r) => r.mergeCpuPerRow), ''],
    ],
  ),
);
