/**
 * bench/all — `npm run bench`: every write-path contender side by side, each bench in its own
 * process one after another (they would fight over the two cores otherwise), then one table of
 * the ratios the write path is judged by, with the machine, versions and date. Each bench prints
 * its own table as it goes and ends with a `bench-result` JSON line, which this reads. About 10
 * minutes here. Nothing is asserted.
 *   npm run bench            (or: npx tsx bench/all.ts [--quick])
 *   --quick: smaller runs (100,000 events, 8 s of load), for a look rather than a figure.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable } from './table.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;

/** Runs one bench, echoing its output, and returns its bench-result line. */
function run(script: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    process.stderr.write(`\n── ${script} ${args.join(' ')}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('bench-result '));
      if (code === 0 && line)
        resolve(JSON.parse(line.slice('bench-result '.length)) as Record<string, unknown>);
      else reject(new Error(`${script} exited ${code}`));
    });
  });
}

interface ProjectorResult {
  eventsPerSecond: number;
  sustainedPerSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
}

const events = quick ? '100000' : '300000';
const seconds = quick ? '8' : '15';
const projector = (await run('projector.ts', ['--events', events])) as {
  results: Record<string, ProjectorResult>;
};
const compression = (await run('kafkaCompression.ts', ['--events', quick ? '100000' : '200000'])) as {
  bytesPerEvent: Record<string, number>;
};
const ingest100 = (await run('ingest.ts', ['--seconds', seconds, '--batch', '100'])) as Record<
  string,
  number
>;
const ingest1000 = (await run('ingest.ts', ['--seconds', seconds, '--batch', '1000'])) as Record<
  string,
  number
>;
const emitter = (await run('emitter.ts', ['--events', events])) as Record<string, number>;

const r = projector.results;
// Producers compress with zstd by default, so the projector as deployed reads zstd batches.
const keytrail = r['keytrail-compressed'] ?? r.keytrail!;
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
const kafka = JSON.parse(
  readFileSync(join(import.meta.dirname, '../node_modules/kafkajs/package.json'), 'utf8'),
) as {
  version: string;
};
const chdb = JSON.parse(
  readFileSync(join(import.meta.dirname, '../node_modules/chdb/package.json'), 'utf8'),
) as {
  version: string;
};

const rows: [string, string, string][] = [
  // The target is the sustained rate; "from start" adds the projector's start-up (group
  // join, window rebuild, first fetch: about 2 s), a third of a 300,000-event run on a fast VM.
  [
    'projector, sustained / direct bulk insert, RowBinary (the ceiling)',
    ratio(keytrail.sustainedPerSecond, r.bulk?.eventsPerSecond),
    '≥ 0.7×',
  ],
  [
    'projector / direct bulk insert, RowBinary, from start',
    ratio(keytrail.eventsPerSecond, r.bulk?.eventsPerSecond),
    '',
  ],
  [
    'projector / direct bulk insert, Avro container, from start',
    ratio(keytrail.eventsPerSecond, r['bulk-container']?.eventsPerSecond),
    '',
  ],
  [
    'projector / ClickHouse Kafka engine, from start',
    ratio(keytrail.eventsPerSecond, r['kafka-engine']?.eventsPerSecond),
    '≥ 3×',
  ],
  [
    'projector on zstd batches / on plain batches, sustained',
    ratio(r['keytrail-compressed']?.sustainedPerSecond, r.keytrail?.sustainedPerSecond),
    '≥ 0.9×',
  ],
  [
    'ingest / kafkajs alone, batches of 100',
    ratio(ingest100.ingestPerSecond, ingest100.ceilingPerSecond),
    '≥ 0.7×',
  ],
  [
    'ingest / kafkajs alone, batches of 1,000',
    ratio(ingest1000.ingestPerSecond, ingest1000.ceilingPerSecond),
    '≥ 0.7×',
  ],
  ['emitter / kafkajs alone (median of rounds)', `${emitter.emitterRatio?.toFixed(2)}×`, '≥ 0.95×'],
  ["emitter, caller's event loop per event", `${emitter.loopMicrosPerEvent?.toFixed(1)} µs`, ''],
  ['emitter record call p99', `${emitter.recordP99Micros?.toFixed(2)} µs`, '≤ 1 µs'],
  ['bytes per decision on disk, zstd (default)', `${compression.bytesPerEvent['zstd (producer)']}`, '≤ 60'],
  ['bytes per decision on disk, uncompressed', `${compression.bytesPerEvent.none}`, ''],
  [
    'event → queryable at 20,000 events/s, p50 / p99',
    `${Math.round(keytrail.p50Ms ?? 0)} / ${Math.round(keytrail.p99Ms ?? 0)} ms`,
    'p99 ≤ 1,000 ms',
  ],
];
console.log(
  `\nnpm run bench — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, kafkajs ${kafka.version}, chdb ${chdb.version}${quick ? ', --quick' : ''}\n`,
);
console.log(markdownTable(['measure', 'value', 'target'], rows));
