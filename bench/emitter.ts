/**
 * bench/emitter — the cost of one record call on the caller's path, and sustained events/s
 * through one emitter into a real broker, next to kafkajs alone sending the same events already
 * encoded (the ceiling of any kafkajs-based producer on this machine). The emitter runs twice: sending
 * from its producer thread (the default) and from the caller's thread. Prints a table; nothing is asserted.
 *   npx tsx bench/emitter.ts [--events 300000] [--compression zstd]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_KAFKA_COMPRESSION, type KafkaCompression, kafkaZstdLevel, newEventId } from '@keytrail/core';
import { createEmitter, type EmitterStats } from '@keytrail/emitter';
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
    /** Rounds of the three contenders, each round in another order; the table shows medians. */
    rounds: { type: 'string', default: '3' },
    /** The codec of the emitter's and the ceiling's batches (default zstd, as deployed). */
    compression: { type: 'string', default: DEFAULT_KAFKA_COMPRESSION },
  },
});
const COMPRESSION = values.compression as KafkaCompression;
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);

interface Run {
  seconds: number;
  cpu: NodeJS.CpuUsage;
  /** The caller's event loop: busy µs per event (the bench's own record loop included). */
  loopMicros: number;
  /** Record-call latencies (µs), emitters only. */
  samples: number[];
  peakRss: number;
  stats?: EmitterStats;
}
/** Events an emitter run records besides EVENTS: the JIT warm-up and the record-call samples. */
const WARM_UP = 20_000;
const SAMPLES = 50_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-emitter-'));
const broker = createLocalBroker({ dataDir, heap: '1g' });
await broker.start();
try {
  const prefix = `bench.emitter.${Date.now()}.`;
  const kafka = createKafka({
    brokers: broker.brokers,
    clientId: 'bench-emitter',
    zstdLevel: kafkaZstdLevel(),
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions: 3, replicationFactor: 1 });
  await admin.disconnect();
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

  /** One emitter: record-call latency, then EVENTS recorded as fast as it takes them. */
  const runEmitter = async (producerThread: boolean): Promise<Run> => {
    const emitter = createEmitter({
      kafka,
      compression: COMPRESSION,
      topicPrefix: prefix,
      source: { name: 'bench' },
      maxBuffered: EVENTS + 1,
      maxBatch: Number(process.env.BENCH_MAX_BATCH ?? 2_000),
      producerThread,
    });
    await emitter.connect();
    // Warm up the JIT, then time single calls (the caller's path) in a separate pass.
    for (let i = 0; i < WARM_UP; i++) emitter.recordAuthDecision(input(i));
    await emitter.flush();
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
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
    const loopBefore = performance.eventLoopUtilization();
    for (let i = 0; i < EVENTS; i++) {
      emitter.recordAuthDecision(input(i));
      if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
    }
    await emitter.flush();
    const seconds = (Date.now() - started) / 1000;
    const loop = performance.eventLoopUtilization(loopBefore);
    clearInterval(rssTimer);
    const cpu = process.cpuUsage(cpuBefore);
    const stats = emitter.stats();
    await emitter.close();
    return {
      seconds,
      cpu,
      loopMicros: (loop.active * 1000) / EVENTS,
      samples,
      peakRss,
      stats,
    };
  };

  // The ceiling: kafkajs alone, sending the same events already encoded, with the emitter's
  // producer settings and batch size. What is left between the two is the emitter's own work.
  const codec = createEventCodec();
  const topic = topicNames(prefix).authDecisions;
  const encoded = Array.from({ length: EVENTS }, (_, i) => {
    const event = fullAuthDecision({ ...input(i), event_id: newEventId(), rate_limit: null, quota: null });
    return { key: authDecisionKey(event), value: codec.encode('auth_decision', event) };
  });
  const batch = Number(process.env.BENCH_MAX_BATCH ?? 2_000);
  const runKafkajsAlone = async (): Promise<Run> => {
    const producer = createIdempotentProducer(kafka, {}, COMPRESSION);
    await producer.connect();
    const started = Date.now();
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    for (let i = 0; i < EVENTS; i += batch)
      await producer.sendBatch({
        topicMessages: [{ topic, messages: encoded.slice(i, i + batch) }],
        acks: -1,
      });
    const loop = performance.eventLoopUtilization(loopBefore);
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = (Date.now() - started) / 1000;
    await producer.disconnect();
    return { seconds, cpu, loopMicros: (loop.active * 1000) / EVENTS, samples: [], peakRss: 0 };
  };

  const contenders = [
    { name: 'emitter, producer thread (default)', run: () => runEmitter(true) },
    { name: "emitter, caller's thread", run: () => runEmitter(false) },
    { name: 'kafkajs alone, events pre-encoded (the ceiling)', run: runKafkajsAlone },
  ];
  const runs = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++)
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length]!;
      runs.get(contender.name)!.push(await contender.run());
    }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ceiling = runs.get(contenders[2]!.name)!;
  const micros = (cpu: NodeJS.CpuUsage) => (cpu.user + cpu.system) / EVENTS;
  console.log(
    `\nbench/emitter — ${EVENTS.toLocaleString('en')} events, batches of ${batch}, ${COMPRESSION}, ${ROUNDS} rounds (medians; ratios within each round, min–max); ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}\n`,
  );
  console.log(
    "| contender | events/s acknowledged | / kafkajs alone | CPU µs/event (process) | caller's thread µs/event | record call p50 / p99 µs | peak RSS MiB |",
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const result: Record<string, number> = {};
  for (const { name } of contenders) {
    const mine = runs.get(name)!;
    const ratios = mine.map((r, i) => ceiling[i]!.seconds / r.seconds);
    const rate = median(mine.map((r) => EVENTS / r.seconds));
    const samples = mine.flatMap((r) => r.samples).sort((a, b) => a - b);
    const record = samples.length
      ? `${percentile(samples, 50).toFixed(2)} / ${percentile(samples, 99).toFixed(2)}`
      : '—';
    const rss = Math.max(...mine.map((r) => r.peakRss));
    console.log(
      `| ${name} | ${Math.round(rate).toLocaleString('en')} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${median(mine.map((r) => micros(r.cpu))).toFixed(1)} | ${median(mine.map((r) => r.loopMicros)).toFixed(1)} | ${record} | ${rss ? Math.round(rss / 2 ** 20) : '—'} |`,
    );
    for (const r of mine)
      if (
        r.stats &&
        (r.stats.sent !== EVENTS + WARM_UP + SAMPLES || r.stats.droppedBufferFull || r.stats.invalid)
      )
        console.log(
          `  ${name}: sent ${r.stats.sent}, dropped ${r.stats.droppedBufferFull}, invalid ${r.stats.invalid}`,
        );
    result[name] = median(ratios);
    if (samples.length && !result.recordP99Micros) result.recordP99Micros = percentile(samples, 99);
  }
  console.log(
    `bench-result ${JSON.stringify({ bench: 'emitter', emitterRatio: result[contenders[0]!.name], callerThreadRatio: result[contenders[1]!.name], recordP99Micros: result.recordP99Micros, loopMicrosPerEvent: median(runs.get(contenders[0]!.name)!.map((r) => r.loopMicros)) })}`,
  );
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
