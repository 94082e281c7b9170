/**
 * bench/projectorParts — where the projector's time per auth decision goes, part by part, each
 * measured apart on the same simulator events (no Kafka): the gate, dedup, the container, and
 * ClickHouse taking the container (raw table and every view) next to the same rows as RowBinary.
 * Prints a table; nothing is asserted.
 *
 *   npx tsx bench/projectorParts.ts [--events 100000] [--batch 50000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AuthDecisionRow,
  createEmbeddedDriver,
  insertAuthDecisionContainer,
  insertAuthDecisions,
  migrate,
} from '@keytrail/clickhouse';
import {
  type AuthDecision,
  createContainerBuilder,
  createDecisionGate,
  createEventCodec,
  eventFromJson,
  HEADER_LENGTH,
  validateAuthDecision,
} from '@keytrail/events';
import { dropRepeats, RecentIds, rememberRows } from '@keytrail/projector';
import { generateTraffic } from '@keytrail/simulator';
import { markdownTable } from './table.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '50000' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const NOW = Date.now();

const codec = createEventCodec();
const reader = codec.reader('auth_decision');
const events: AuthDecision[] = [];
for (const json of generateTraffic({
  seed: 3,
  startMs: NOW - 3_600_000,
  decisions: EVENTS,
  probeAttack: true,
})) {
  if (json.type !== 'auth_decision') continue;
  const parsed = eventFromJson(json, codec, NOW);
  if (parsed.ok) events.push(parsed.value.event as AuthDecision);
}
const encoded = events.map((e) => codec.encode('auth_decision', e));
const at = (i: number) => ({ partition: 0, offset: String(i), timestamp: NOW });

/** CPU µs per event of `fn` over every event (this thread and any other of the process). */
function cpuPerEvent(fn: () => void, count = events.length): number {
  fn(); // warm-up
  const cpu = process.cpuUsage();
  fn();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / count;
}

const rows: { part: string; path: string; cpu: string }[] = [];
const add = (part: string, path: string, micros: number) => rows.push({ part, path, cpu: micros.toFixed(2) });

const gate = createDecisionGate(reader.schema as never);
add(
  'read each body: gate (framing, the checked fields, event id)',
  'container',
  cpuPerEvent(() => {
    for (const v of encoded) gate.pass(v, HEADER_LENGTH, v.length, NOW);
  }),
);
add(
  'read each body: avsc decode + validateAuthDecision',
  'RowBinary (before)',
  cpuPerEvent(() => {
    for (const v of encoded) validateAuthDecision(codec.decode(v).event as AuthDecision, NOW);
  }),
);
const bodyRows = encoded.map((v, i) => ({
  event: { event_id: gate.pass(v, HEADER_LENGTH, v.length, NOW)! },
  at: at(i),
  body: v.subarray(HEADER_LENGTH),
}));
add(
  'dedup: drop repeats, remember the batch',
  'both',
  cpuPerEvent(() => {
    const window = new RecentIds(86_400_000, 2_000_000);
    for (let i = 0; i < bodyRows.length; i += BATCH) {
      const { kept } = dropRepeats(bodyRows.slice(i, i + BATCH), window);
      rememberRows(kept, window);
    }
  }),
);
const builder = createContainerBuilder(reader.schema as never);
add(
  'build the batch: Avro container',
  'container',
  cpuPerEvent(() => {
    for (let i = 0; i < bodyRows.length; i += BATCH) builder.build(bodyRows.slice(i, i + BATCH));
  }),
);

// ClickHouse: fresh database, every migration, the events inserted in batches, both ways.
const dir = mkdtempSync(join(tmpdir(), 'kt-bench-parts-'));
const ch = createEmbeddedDriver({ path: dir });
await migrate(ch);
const decisionRows: AuthDecisionRow[] = events.map((event, i) => ({ event, at: at(i) }));
const insertCpu = async (insert: (from: number) => Promise<void>) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) await insert(i);
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / events.length, ms: performance.now() - started };
};
const rowBinary = await insertCpu((i) =>
  insertAuthDecisions(ch, decisionRows.slice(i, i + BATCH), {
    settings: { insert_deduplication_token: `rb/${i}`, parallel_view_processing: 1 },
  }),
);
const container = await insertCpu((i) => {
  const batch = bodyRows.slice(i, i + BATCH);
  return insertAuthDecisionContainer(
    ch,
    { rows: batch.length, data: builder.build(batch) },
    { settings: { insert_deduplication_token: `avro/${i}`, parallel_view_processing: 1 } },
  );
});
add('insert (JS encoding + ClickHouse: raw table and its 12 views)', 'RowBinary (before)', rowBinary.cpu);
add('insert (container build + ClickHouse: raw table and its 12 views)', 'container', container.cpu);
// The fixed cost every insert pays, whatever its size: one-row inserts, median of five.
const oneRow: number[] = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  await insertAuthDecisionContainer(
    ch,
    { rows: 1, data: builder.build(bodyRows.slice(i, i + 1)) },
    { settings: { insert_deduplication_token: `one/${i}`, parallel_view_processing: 1 } },
  );
  oneRow.push(performance.now() - started);
}
oneRow.sort((a, b) => a - b);
await ch.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `\nbench/projectorParts — ${events.length.toLocaleString('en')} simulator decisions, batches of ${BATCH.toLocaleString('en')}, ${cpus().length} × ${cpus()[0]?.model.trim()}\n`,
);
console.log(
  markdownTable(
    ['part', 'path', 'CPU µs/event'],
    rows.map((r) => [r.part, r.path, r.cpu]),
  ),
);
console.log(
  `\nbatch inserts: RowBinary ${rowBinary.ms.toFixed(0)} ms, container ${container.ms.toFixed(0)} ms wall; a one-row insert through the raw table and its views: ${oneRow[2]!.toFixed(0)} ms wall (median of 5), the fixed cost every insert pays`,
);
