/**
 * bench/projector — Kafka → queryable rows in embedded ClickHouse, five ways, same events:
 *   keytrail      the projector (deterministic batches, dedup, DLQ checks, rollups via views)
 *   keytrail-compressed  the same, reading batches sent with --compression (default zstd)
 *   kafka-engine  ClickHouse's own Kafka table engine (inside chdb) + a view into the same raw table
 *   bulk          the same rows inserted straight from memory as RowBinary: no Kafka at all
 *                 (the ceiling the issue set, what the projector wrote before its container path)
 *   bulk-container  the same bodies inserted straight from memory as Avro containers: no Kafka,
 *                 no dedup, no checks (the projector's write path alone: the ceiling now)
 * Each runs in its own process (chdb is one engine per process) on a fresh database with every
 * migration (so every contender feeds the same rollups). Prints a table; nothing is asserted.
 *
 *   npx tsx bench/projector.ts [--events 300000] [--steady-rate 20000] [--steady-seconds 10]
 *                              [--only keytrail,kafka-engine,bulk,bulk-container] [--partitions-per-insert N]
 *                              [--cpu-prof <folder>] [--compression zstd] [--partitions 3]
 *   BENCH_NODE_FLAGS="--max-semi-space-size=64" passes Node flags to each contender's process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AUTH_DECISIONS_LAYOUT,
  type AuthDecisionRow,
  countAuthDecisions,
  createEmbeddedDriver,
  insertAuthDecisionContainer,
  insertAuthDecisions,
  migrate,
  toDateTime64Text,
} from '@keytrail/clickhouse';
import {
  createLogger,
  DEFAULT_KAFKA_COMPRESSION,
  type KafkaCompression,
  kafkaZstdLevel,
} from '@keytrail/core';
import {
  type AuthDecision,
  authDecisionKey,
  createContainerBuilder,
  createEventCodec,
  eventFromJson,
  HEADER_LENGTH,
} from '@keytrail/events';
import {
  compressionType,
  createKafka,
  createLocalBroker,
  ensureTopics,
  topicNames,
  waitForTopicLeaders,
} from '@keytrail/kafka';
import { createProjector, projectorGroupId } from '@keytrail/projector';
import { generateTraffic } from '@keytrail/simulator';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    'steady-rate': { type: 'string', default: '20000' },
    'steady-seconds': { type: 'string', default: '10' },
    /** Partitions of the bench's topics (a fetch's partitions share an insert; see --partitions-per-insert). */
    partitions: { type: 'string', default: '3' },
    /** The projector's partitionsPerInsert (default: every partition a fetch brings). */
    'partitions-per-insert': { type: 'string' },
    /** Run only these contenders (comma-separated: keytrail, keytrail-compressed, kafka-engine, bulk, bulk-container). */
    only: { type: 'string', default: 'keytrail,keytrail-compressed,kafka-engine,bulk,bulk-container' },
    compression: { type: 'string', default: DEFAULT_KAFKA_COMPRESSION },
    /** Write each contender's CPU profile into this folder (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
    child: { type: 'string' },
    brokers: { type: 'string' },
    prefix: { type: 'string' },
  },
});
const EVENTS = Number(values.events);
const START = Date.UTC(2026, 10, 21);

/** The bench's events: seeded simulator traffic (auth decisions only), valid and realistic. */
function decisions(count: number, seed = 42, startMs = START): AuthDecision[] {
  const codec = createEventCodec();
  const out: AuthDecision[] = [];
  for (const json of generateTraffic({
    seed,
    startMs,
    decisions: count,
    probeAttack: true,
    ratePerSecond: 2000,
  })) {
    if (json.type !== 'auth_decision') continue;
    const parsed = eventFromJson(json, codec, startMs + 86_400_000);
    if (parsed.ok) out.push(parsed.value.event as AuthDecision);
  }
  return out;
}

function peakRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * Waits until `target` rows are queryable. Also returns the sustained rate: rows that became
 * queryable after the first ones did, over that time (start-up and group join left out).
 */
async function waitForCount(
  count: () => Promise<number>,
  target: number,
  timeoutMs = 600_000,
): Promise<{ sustainedPerSecond?: number }> {
  const deadline = Date.now() + timeoutMs;
  let first: { at: number; rows: number } | undefined;
  for (;;) {
    const rows = await count();
    const now = Date.now();
    if (rows > 0) first ??= { at: now, rows };
    if (rows >= target) {
      const seconds = (now - first!.at) / 1000;
      return seconds > 0 ? { sustainedPerSecond: (target - first!.rows) / seconds } : {};
    }
    if (now > deadline) throw new Error(`only ${rows} of ${target} rows after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Result {
  name: string;
  events: number;
  seconds: number;
  /** From start (group join and start-up included) to the last row queryable. */
  eventsPerSecond: number;
  /** From the first rows queryable to the last: the rate once running. */
  sustainedPerSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
  peakRssMb: number;
  /** CPU time of the contender's process (all its threads, ClickHouse's included) per event. */
  cpuMicrosPerEvent: number;
  note?: string;
}

/** CPU time (user + system, every thread) since `since`, in µs. */
function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

// ───────────────────────────── children ─────────────────────────────

/** `compression`: the codec the topic's batches were sent with (the parent's and the steady producer's). */
async function runKeytrail(
  brokers: string[],
  prefix: string,
  compression: KafkaCompression,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-keytrail-'));
  const ch = createEmbeddedDriver({ path: dir });
  await migrate(ch);
  const kafka = createKafka({ brokers, clientId: 'bench-keytrail' });
  const topics = topicNames(prefix);
  const rss = peakRss();
  const projector = createProjector({
    kafka,
    ch,
    codec: createEventCodec(),
    topics,
    logger: createLogger('bench', 'warn'),
    metrics: new Registry(),
    groupId: projectorGroupId(prefix),
    ...(values['partitions-per-insert']
      ? { partitionsPerInsert: Number(values['partitions-per-insert']) }
      : {}),
  });
  const started = Date.now();
  const cpu = process.cpuUsage();
  await projector.start();
  const { sustainedPerSecond } = await waitForCount(() => countAuthDecisions(ch), EVENTS);
  const seconds = (Date.now() - started) / 1000;
  const cpuPerEvent = cpuMicros(cpu) / EVENTS;

  // Steady state: another process produces at a fixed rate (as gateways or ingest would; on this
  // process's event loop its sends would delay the projector); measure Kafka timestamp → row
  // inserted (queryable).
  const rate = Number(values['steady-rate']);
  const steadyEvents = rate * Number(values['steady-seconds']);
  await runSteadyProducer(brokers, topics.authDecisions, compression);
  await waitForCount(() => countAuthDecisions(ch, 'ws_steady'), steadyEvents);
  const [latency] = await ch.query<{ q: number[] }>(
    `SELECT quantiles(0.5, 0.99)(dateDiff('millisecond', kafka_timestamp, ingested_at)) AS q
     FROM auth_decisions WHERE workspace_id = 'ws_steady'`,
  );
  await projector.stop();
  const peak = rss.stop();
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    name: compression === 'none' ? 'keytrail projector' : `keytrail projector, ${compression} batches`,
    events: EVENTS,
    seconds,
    eventsPerSecond: EVENTS / seconds,
    sustainedPerSecond,
    p50Ms: latency!.q[0],
    p99Ms: latency!.q[1],
    peakRssMb: peak / 2 ** 20,
    cpuMicrosPerEvent: cpuPerEvent,
    note: `latency at ${rate.toLocaleString('en')} events/s steady`,
  };
}

const ROW_COLUMNS = AUTH_DECISIONS_LAYOUT.names;

/** A raw-table row as JSONEachRow, for the Kafka engine (it cannot read Keytrail's Avro framing). */
function jsonRow(row: AuthDecisionRow): string {
  const entries = AUTH_DECISIONS_LAYOUT.columns.map((c) => {
    const value = c.value(row);
    return [
      c.name,
      c.type.includes('DateTime64') && typeof value === 'number' ? toDateTime64Text(value) : value,
    ];
  });
  return JSON.stringify(Object.fromEntries(entries));
}

async function runKafkaEngine(brokers: string[], prefix: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-kafka-engine-'));
  const ch = createEmbeddedDriver({ path: dir });
  await migrate(ch);
  // The Kafka table's columns are the raw table's, read from ClickHouse itself.
  const columns = await ch.query<{ name: string; type: string }>(
    `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'auth_decisions' AND name IN {names:Array(String)} ORDER BY position`,
    { names: ROW_COLUMNS },
  );
  const rss = peakRss();
  const started = Date.now();
  const cpu = process.cpuUsage();
  // Bench-only DDL: the broker address and topic are the bench's own, not user input.
  await ch.command(
    `CREATE TABLE kafka_source (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})
     ENGINE = Kafka SETTINGS kafka_broker_list = '${brokers.join(',')}', kafka_topic_list = '${prefix}json-copy',
       kafka_group_name = 'bench-kafka-engine', kafka_format = 'JSONEachRow', kafka_max_block_size = 50000,
       kafka_flush_interval_ms = 500`,
  );
  await ch.command(
    `CREATE MATERIALIZED VIEW kafka_source_mv TO auth_decisions AS SELECT ${columns.map((c) => c.name).join(', ')} FROM kafka_source`,
  );
  const { sustainedPerSecond } = await waitForCount(() => countAuthDecisions(ch), EVENTS);
  const seconds = (Date.now() - started) / 1000;
  const cpuPerEvent = cpuMicros(cpu) / EVENTS;
  await ch.command('DROP TABLE kafka_source_mv');
  await ch.command('DROP TABLE kafka_source');
  const peak = rss.stop();
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    name: 'ClickHouse Kafka engine',
    events: EVENTS,
    seconds,
    eventsPerSecond: EVENTS / seconds,
    sustainedPerSecond,
    peakRssMb: peak / 2 ** 20,
    cpuMicrosPerEvent: cpuPerEvent,
    note: 'at-least-once; no dedup, no DLQ',
  };
}

/**
 * The same rows inserted straight from memory, no Kafka: as RowBinary encoded from the events
 * (what the projector wrote before its container path), or as one Avro container per 50,000 of
 * the bodies a producer encoded (the projector's write path without Kafka, dedup or checks).
 */
async function runBulk(format: 'rowbinary' | 'container'): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-bulk-'));
  const ch = createEmbeddedDriver({ path: dir });
  await migrate(ch);
  const codec = createEventCodec();
  const builder = createContainerBuilder(codec.reader('auth_decision').schema as never);
  const rows = decisions(EVENTS).map((event, i) => ({
    event,
    at: { partition: 0, offset: String(i), timestamp: START },
    body:
      format === 'container' ? codec.encode('auth_decision', event).subarray(HEADER_LENGTH) : Buffer.alloc(0),
  }));
  const rss = peakRss();
  const started = Date.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < rows.length; i += 50_000) {
    const batch = rows.slice(i, i + 50_000);
    if (format === 'rowbinary') await insertAuthDecisions(ch, batch);
    else await insertAuthDecisionContainer(ch, { rows: batch.length, data: builder.build(batch) });
  }
  const seconds = (Date.now() - started) / 1000;
  const cpuPerEvent = cpuMicros(cpu) / EVENTS;
  const peak = rss.stop();
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    name: format === 'rowbinary' ? 'direct bulk insert, RowBinary' : 'direct bulk insert, Avro container',
    events: rows.length,
    seconds,
    eventsPerSecond: rows.length / seconds,
    peakRssMb: peak / 2 ** 20,
    cpuMicrosPerEvent: cpuPerEvent,
    note: format === 'rowbinary' ? 'no Kafka: the ceiling as the issue set it' : 'no Kafka: the ceiling now',
  };
}

/**
 * The steady load, in a process of its own: `--steady-rate` events/s for `--steady-seconds`, in
 * sends every 100 ms, all encoded before the first send.
 */
async function produceSteadily(
  brokers: string[],
  topic: string,
  compression: KafkaCompression,
): Promise<void> {
  const rate = Number(values['steady-rate']);
  const codec = createEventCodec();
  const messages = decisions(rate * Number(values['steady-seconds']), 7, Date.now()).map((e) => {
    const event = { ...e, workspace_id: 'ws_steady' };
    return { key: authDecisionKey(event), value: codec.encode('auth_decision', event) };
  });
  const kafka = createKafka({ brokers, clientId: 'bench-steady', zstdLevel: kafkaZstdLevel() });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const tick = 100;
  const perTick = Math.ceil((rate * tick) / 1000);
  const started = Date.now();
  for (let i = 0, n = 0; i < messages.length; i += perTick, n++) {
    await producer.send({
      topic,
      compression: compressionType(compression),
      messages: messages.slice(i, i + perTick),
    });
    await new Promise((r) => setTimeout(r, Math.max(0, started + (n + 1) * tick - Date.now())));
  }
  await producer.disconnect();
}

function runSteadyProducer(brokers: string[], topic: string, compression: KafkaCompression): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        new URL(import.meta.url).pathname,
        '--child=steady',
        `--brokers=${brokers.join(',')}`,
        `--prefix=${topic}`,
        `--steady-rate=${values['steady-rate']}`,
        `--steady-seconds=${values['steady-seconds']}`,
        `--compression=${compression}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    proc.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`steady producer exited ${code}`)),
    );
  });
}

// ───────────────────────────── parent ─────────────────────────────

function runChild(child: string, brokers: string[], prefix: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
        ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
        '--import',
        'tsx',
        new URL(import.meta.url).pathname,
        `--child=${child}`,
        `--brokers=${brokers.join(',')}`,
        `--prefix=${prefix}`,
        `--events=${EVENTS}`,
        `--steady-rate=${values['steady-rate']}`,
        `--steady-seconds=${values['steady-seconds']}`,
        ...(values['partitions-per-insert']
          ? [`--partitions-per-insert=${values['partitions-per-insert']}`]
          : []),
        `--compression=${values.compression}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Result);
      else reject(new Error(`${child} exited ${code}: ${out.slice(-2000)}`));
    });
  });
}

async function main(): Promise<void> {
  if (values.child === 'steady') {
    await produceSteadily(values.brokers!.split(','), values.prefix!, values.compression as KafkaCompression);
    return;
  }
  if (values.child) {
    const brokers = values.brokers!.split(',');
    const result =
      values.child === 'keytrail'
        ? await runKeytrail(brokers, values.prefix!, 'none')
        : values.child === 'keytrail-compressed'
          ? await runKeytrail(brokers, `${values.prefix!}c.`, values.compression as KafkaCompression)
          : values.child === 'kafka-engine'
            ? await runKafkaEngine(brokers, values.prefix!)
            : await runBulk(values.child === 'bulk-container' ? 'container' : 'rowbinary');
    console.log(JSON.stringify(result));
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-broker-'));
  const broker = createLocalBroker({ dataDir, heap: '1g' });
  process.stderr.write('starting Kafka…\n');
  await broker.start();
  try {
    const prefix = `bench.${Date.now()}.`;
    const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench' });
    const topics = topicNames(prefix);
    const admin = kafka.admin();
    await admin.connect();
    const partitions = Number(values.partitions);
    await ensureTopics(admin, topics, { partitions, replicationFactor: 1 });
    // The same events again, in batches compressed with --compression, for keytrail-compressed.
    const compressedTopics = topicNames(`${prefix}c.`);
    await ensureTopics(admin, compressedTopics, { partitions, replicationFactor: 1 });
    await admin.createTopics({
      topics: [{ topic: `${prefix}json-copy`, numPartitions: partitions }],
      waitForLeaders: false,
    });
    await waitForTopicLeaders(admin, [`${prefix}json-copy`]);
    await admin.disconnect();

    process.stderr.write(`generating ${EVENTS.toLocaleString('en')} events…\n`);
    const events = decisions(EVENTS);
    const codec = createEventCodec();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // 1,000 a send: one partition (--partitions 1) must still take each batch whole (1 MB).
    for (let i = 0; i < events.length; i += 1_000) {
      const chunk = events.slice(i, i + 1_000);
      await producer.send({
        topic: topics.authDecisions,
        messages: chunk.map((e) => ({
          key: authDecisionKey(e),
          value: codec.encode('auth_decision', e),
        })),
      });
      await producer.send({
        topic: compressedTopics.authDecisions,
        compression: compressionType(values.compression as KafkaCompression),
        messages: chunk.map((e) => ({
          key: authDecisionKey(e),
          value: codec.encode('auth_decision', e),
        })),
      });
      // The Kafka engine's copy: the same rows as JSONEachRow (it cannot read our Avro framing).
      await producer.send({
        topic: `${prefix}json-copy`,
        messages: chunk.map((e, j) => ({
          key: authDecisionKey(e),
          value: jsonRow({ event: e, at: { partition: 0, offset: String(i + j), timestamp: Date.now() } }),
        })),
      });
    }
    await producer.disconnect();

    const results = new Map<string, Result>();
    for (const child of values.only.split(',')) {
      process.stderr.write(`running ${child}…\n`);
      results.set(child, await runChild(child, broker.brokers, prefix));
    }
    const fmt = (n: number | undefined, digits = 0) =>
      n === undefined ? '—' : n.toLocaleString('en', { maximumFractionDigits: digits });
    console.log(
      `\nbench/projector — ${EVENTS.toLocaleString('en')} auth decisions, embedded ClickHouse (chdb), ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB\n`,
    );
    console.log(
      '| path | events/s from start | sustained events/s | seconds | CPU µs/event | p50 ms | p99 ms | peak RSS MiB | note |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const r of results.values()) {
      console.log(
        `| ${r.name} | ${fmt(r.eventsPerSecond)} | ${fmt(r.sustainedPerSecond)} | ${fmt(r.seconds, 2)} | ${fmt(r.cpuMicrosPerEvent, 1)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.peakRssMb)} | ${r.note ?? ''} |`,
      );
    }
    const keytrail = results.get('keytrail');
    const ratios = ['kafka-engine', 'bulk', 'bulk-container'].flatMap((other) => {
      const them = results.get(other);
      return keytrail && them
        ? [`keytrail / ${them.name}: ${(keytrail.eventsPerSecond / them.eventsPerSecond).toFixed(2)}×`]
        : [];
    });
    const compressed = results.get('keytrail-compressed');
    if (keytrail && compressed)
      ratios.push(
        `sustained with ${values.compression} batches / uncompressed: ${((compressed.sustainedPerSecond ?? 0) / (keytrail.sustainedPerSecond ?? 1)).toFixed(2)}×`,
      );
    if (ratios.length > 0) console.log(`\n${ratios.join('   ')}`);
    console.log(
      `bench-result ${JSON.stringify({ bench: 'projector', results: Object.fromEntries(results) })}`,
    );
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
