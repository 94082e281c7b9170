/**
 * bench/emitter — the cost of one record call on the caller's path, and sustained events/s
 * through one emitter into a real broker, next to kafkajs alone sending the same events already
 * encoded (the ceiling of any kafkajs-based producer on this machine). Prints a table; nothing is asserted.
 *   npx tsx bench/emitter.ts [--events 300000] [--compression zstd]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_KAFKA_COMPRESSION, type KafkaCompression, newEventId } from '@keytrail/core';
import { createEmitter } from '@keytrail/emitter';
import { authDecisionKey, createEventCodec } from '@keytrail/events';
import { fullAuthDecision } from '@keytrail/events/fixtures';
import {
  createIdempotentProducer,
  createKafka,
  createLocalBroker,
  ensureTopics,
  topicNames,
} from '@keytrail/kafka';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    /** The codec of the emitter's and the ceiling's batches (default zstd, as deployed). */
    compression: { type: 'string', default: DEFAULT_KAFKA_COMPRESSION },
  },
});
const COMPRESSION = values.compression as KafkaCompression;
const EVENTS = Number(values.events);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-emitter-'));
const broker = createLocalBroker({ dataDir, heap: '1g' });
await broker.start();
try {
  const prefix = `bench.emitter.${Date.now()}.`;
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-emitter' });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions: 3, replicationFactor: 1 });
  await admin.disconnect();
  const emitter = createEmitter({
    kafka,
    compression: COMPRESSION,
    topicPrefix: prefix,
    source: { name: 'bench' },
    maxBuffered: EVENTS + 1,
    maxBatch: Number(process.env.BENCH_MAX_BATCH ?? 2_000),
  });
  await emitter.connect();
  const input = (i: number) => ({
    workspace_id: 'ws_bench',
    request_id: `req_${i}`,
    key_id: `key_${i % 64}`,
    key_prefix: 'pf_live_a1b2',
    outcome: 'ALLOWED' as const,
    method: 'POST',
    route: '/v1/apps/:appId/generate',
    latency_ms: 12.5,
    client_ip: '203.0.113.9',
    cost: 1000,
  });
  // Warm up the JIT, then time single calls (the caller's path) in a separate pass.
  for (let i = 0; i < 20_000; i++) emitter.recordAuthDecision(input(i));
  await emitter.flush();
  const samples: number[] = [];
  for (let i = 0; i < 50_000; i++) {
    const event = input(i);
    const t0 = process.hrtime.bigint();
    emitter.recordAuthDecision(event);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  await emitter.flush();
  samples.sort((a, b) => a - b);

  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) {
    emitter.recordAuthDecision(input(i));
    if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
  }
  await emitter.flush();
  const seconds = (Date.now() - started) / 1000;
  clearInterval(rssTimer);
  const emitterCpu = process.cpuUsage(cpuBefore);
  const stats = emitter.stats();
  await emitter.close();

  // The ceiling: kafkajs alone, sending the same events already encoded, with the emitter's
  // producer settings and batch size. What is left between the two is the emitter's own work.
  const codec = createEventCodec();
  const topic = topicNames(prefix).authDecisions;
  const encoded = Array.from({ length: EVENTS }, (_, i) => {
    const event = fullAuthDecision({ ...input(i), event_id: newEventId(), rate_limit: null, quota: null });
    return { key: authDecisionKey(event), value: codec.encode('auth_decision', event) };
  });
  const producer = createIdempotentProducer(kafka, {}, COMPRESSION);
  await producer.connect();
  const batch = Number(process.env.BENCH_MAX_BATCH ?? 2_000);
  const kafkajsStarted = Date.now();
  const kafkajsCpuBefore = process.cpuUsage();
  for (let i = 0; i < EVENTS; i += batch)
    await producer.sendBatch({ topicMessages: [{ topic, messages: encoded.slice(i, i + batch) }], acks: -1 });
  const kafkajsCpu = process.cpuUsage(kafkajsCpuBefore);
  const kafkajsSeconds = (Date.now() - kafkajsStarted) / 1000;
  await producer.disconnect();
  const micros = (cpu: NodeJS.CpuUsage) => ((cpu.user + cpu.system) / EVENTS).toFixed(1);

  console.log(
    `\nbench/emitter — ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Kafka ${broker.brokers[0]}\n`,
  );
  console.log('| measure | value |');
  console.log('|---|---:|');
  console.log(`| record call p50 (µs) | ${percentile(samples, 50).toFixed(2)} |`);
  console.log(`| record call p99 (µs) | ${percentile(samples, 99).toFixed(2)} |`);
  console.log(
    `| events/s through one emitter (acknowledged) | ${Math.round(EVENTS / seconds).toLocaleString('en')} |`,
  );
  console.log(`| CPU per event through the emitter (µs) | ${micros(emitterCpu)} |`);
  console.log(
    `| events/s through kafkajs alone, events pre-encoded (the ceiling) | ${Math.round(EVENTS / kafkajsSeconds).toLocaleString('en')} |`,
  );
  console.log(`| CPU per event in kafkajs alone (µs) | ${micros(kafkajsCpu)} |`);
  console.log(`| peak RSS (MiB) | ${Math.round(peakRss / 2 ** 20)} |`);
  console.log(`| sent / dropped / invalid | ${stats.sent} / ${stats.droppedBufferFull} / ${stats.invalid} |`);
  console.log(`| emitter / kafkajs alone | ${(kafkajsSeconds / seconds).toFixed(2)}× |`);
  console.log(
    `bench-result ${JSON.stringify({ bench: 'emitter', emitterPerSecond: EVENTS / seconds, ceilingPerSecond: EVENTS / kafkajsSeconds, recordP99Micros: percentile(samples, 99) })}`,
  );
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
