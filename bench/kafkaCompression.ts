/**
 * bench/kafkaCompression — which codec Keytrail's producers use, by measurement. The same
 * simulated auth decisions (Avro single-object, as ingest and the emitter write them) go to a
 * real broker once per contender, in batches of `--batch` messages (idempotent producer,
 * acks=all), and are read back by a kafkajs consumer. Contenders: no compression, producer-side
 * gzip / snappy / LZ4 / zstd (packages/kafka/src/compression.ts), and topic-side zstd and LZ4
 * (compression.type on the topic: the broker compresses, the consumer still decompresses).
 * Prints bytes per event on disk (the partitions' log segments), producer and consumer CPU per
 * event (this process), the broker's CPU per event (/proc), and produce and consume rates.
 * zstd runs at the default level and at each of --zstd-levels (contenders zstd-3, zstd-9, …).
 *   npx tsx bench/kafkaCompression.ts [--events 200000] [--batch 1000] [--only none,zstd,zstd-9,…]
 *     [--zstd-levels 3,9]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type KafkaCompression, kafkaZstdLevel } from '@keytrail/core';
import { type AuthDecision, authDecisionKey, createEventCodec, eventFromJson } from '@keytrail/events';
import {
  compressionType,
  createIdempotentProducer,
  createKafka,
  createLocalBroker,
  registerKafkaCodecs,
  waitForTopicLeaders,
} from '@keytrail/kafka';
import { generateTraffic } from '@keytrail/simulator';
import { markdownTable } from './table.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    only: { type: 'string' },
    'zstd-levels': { type: 'string', default: '3,9' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
/** zstd levels measured beside the default one, each as its own contender (zstd-3, …). */
const ZSTD_LEVELS = values['zstd-levels'].split(',').filter(Boolean).map(Number);

interface Contender {
  name: string;
  producer: KafkaCompression;
  topicSide?: 'zstd' | 'lz4';
  /** zstd level of the producer; the default level otherwise. */
  zstdLevel?: number;
}
const ALL_CONTENDERS: Contender[] = [
  { name: 'none', producer: 'none' },
  { name: 'gzip (producer)', producer: 'gzip' },
  { name: 'snappy (producer)', producer: 'snappy' },
  { name: 'lz4 (producer)', producer: 'lz4' },
  { name: 'zstd (producer)', producer: 'zstd' },
  ...ZSTD_LEVELS.map((level) => ({
    name: `zstd-${level} (producer)`,
    producer: 'zstd' as const,
    zstdLevel: level,
  })),
  { name: 'zstd (topic)', producer: 'none', topicSide: 'zstd' },
  { name: 'lz4 (topic)', producer: 'none', topicSide: 'lz4' },
];
const CONTENDERS = values.only
  ? ALL_CONTENDERS.filter((c) => values.only!.split(',').includes(c.name.split(' ')[0]!))
  : ALL_CONTENDERS;

const codec = createEventCodec();
process.stderr.write(`generating ${EVENTS.toLocaleString('en')} decisions…\n`);
const messages: { key: string; value: Buffer }[] = [];
for (const json of generateTraffic({
  seed: 42,
  startMs: Date.UTC(2026, 10, 21),
  decisions: EVENTS,
  probeAttack: true,
  ratePerSecond: 2000,
})) {
  if (json.type !== 'auth_decision') continue;
  const parsed = eventFromJson(json, codec, Date.UTC(2026, 10, 22));
  if (!parsed.ok) continue;
  const event = parsed.value.event as AuthDecision;
  messages.push({ key: authDecisionKey(event), value: codec.encode('auth_decision', event) });
}
const avroBytes = messages.reduce((s, m) => s + m.value.length + m.key.length, 0) / messages.length;

/** user + system CPU of a process from /proc, in µs (the broker's JVM, every thread). */
function processCpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6; // USER_HZ = 100 on Linux
}
const selfCpu = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};
/** Bytes of a topic's log segments on disk, every partition. */
function topicBytes(logDir: string, topic: string): number {
  let bytes = 0;
  for (const dir of readdirSync(logDir).filter((d) => d.startsWith(`${topic}-`)))
    for (const file of readdirSync(join(logDir, dir)).filter((f) => f.endsWith('.log')))
      bytes += statSync(join(logDir, dir, file)).size;
  return bytes;
}

registerKafkaCodecs();
const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-compression-'));
const broker = createLocalBroker({ dataDir, heap: '1g' });
process.stderr.write('starting Kafka…\n');
await broker.start();
const rows: string[][] = [];
try {
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-compression' });
  const admin = kafka.admin();
  await admin.connect();
  const prefix = `bench.compression.${Date.now()}.`;
  for (const contender of CONTENDERS) {
    const topic = `${prefix}${contender.name.replace(/[^a-z0-9]+/g, '-')}`;
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
          configEntries: [
            { name: 'compression.type', value: contender.topicSide ?? 'producer' },
            { name: 'max.message.bytes', value: String(16 * 2 ** 20) },
          ],
        },
      ],
    });
    await waitForTopicLeaders(admin, [topic]);
    registerKafkaCodecs({ zstdLevel: contender.zstdLevel ?? kafkaZstdLevel() });
    process.stderr.write(`${contender.name}: producing…\n`);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const compression = compressionType(contender.producer);
    const cpu = process.cpuUsage();
    const brokerCpu = processCpuMicros(broker.pid!);
    const started = performance.now();
    for (let i = 0; i < messages.length; i += BATCH)
      await producer.sendBatch({
        topicMessages: [{ topic, messages: messages.slice(i, i + BATCH) }],
        acks: -1,
        compression,
      });
    const produceSeconds = (performance.now() - started) / 1000;
    const produceCpu = selfCpu(cpu) / messages.length;
    const brokerProduceCpu = (processCpuMicros(broker.pid!) - brokerCpu) / messages.length;
    await producer.disconnect();

    process.stderr.write(`${contender.name}: consuming…\n`);
    const consumer = kafka.consumer({ groupId: `${topic}.reader`, maxBytesPerPartition: 16 * 2 ** 20 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let read = 0;
    let consumeStarted = 0;
    let consumeCpu = process.cpuUsage();
    let brokerConsumeCpu = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (read === 0) {
              // From the first batch on: the group join is not the codec's cost.
              consumeStarted = performance.now();
              consumeCpu = process.cpuUsage();
              brokerConsumeCpu = processCpuMicros(broker.pid!);
            }
            read += batch.messages.length;
            if (read >= messages.length) resolve();
          },
        })
        .catch(reject);
    });
    const consumeSeconds = (performance.now() - consumeStarted) / 1000;
    const consumerCpu = selfCpu(consumeCpu) / messages.length;
    const brokerReadCpu = (processCpuMicros(broker.pid!) - brokerConsumeCpu) / messages.length;
    await consumer.disconnect();
    // Let the broker write its segments out before they are measured.
    await new Promise((r) => setTimeout(r, 1500));
    const bytes = topicBytes(join(dataDir, 'logs'), topic) / messages.length;
    rows.push([
      contender.name,
      bytes.toFixed(1),
      produceCpu.toFixed(1),
      brokerProduceCpu.toFixed(1),
      Math.round(messages.length / produceSeconds).toLocaleString('en'),
      consumerCpu.toFixed(1),
      brokerReadCpu.toFixed(1),
      Math.round(messages.length / consumeSeconds).toLocaleString('en'),
    ]);
  }
  await admin.disconnect();
} finally {
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(
  `\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}; ${messages.length.toLocaleString('en')} decisions of ${avroBytes.toFixed(0)} bytes (Avro + key), batches of ${BATCH}, 3 partitions; zstd (producer) is level ${kafkaZstdLevel()}, the default\n`,
);
const head = [
  'codec',
  'bytes/event on disk',
  'producer CPU µs/event',
  'broker CPU µs/event (produce)',
  'produce events/s',
  'consumer CPU µs/event',
  'broker CPU µs/event (fetch)',
  'consume events/s',
];
console.log(markdownTable(head, rows));
console.log(
  `bench-result ${JSON.stringify({ bench: 'kafkaCompression', bytesPerEvent: Object.fromEntries(rows.map((r) => [r[0], Number(r[1])])) })}`,
);
