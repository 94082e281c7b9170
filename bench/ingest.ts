/**
 * bench/ingest — POST /v1/events under load: `keytrail ingest` (its own process) on a managed
 * Kafka broker, autocannon sending batches of 100 events; then, in the same run, kafkajs alone
 * (Keytrail's producer settings and codec) sending the same events already encoded, as many per
 * request as the connections' requests together hold (what ingest's group commit can reach): the
 * ceiling of any kafkajs-based ingest here.
 * Prints a table and a `bench-result` JSON line (bench/all.ts); nothing is asserted.
 *   npx tsx bench/ingest.ts [--seconds 15] [--connections 32] [--batch 100] [--cpu-prof <folder>]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AuthDecision, authDecisionKey, createEventCodec, eventFromJson } from '@keytrail/events';
import {
  createIdempotentProducer,
  createKafka,
  createLocalBroker,
  ensureTopics,
  freePort,
  topicNames,
} from '@keytrail/kafka';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    batch: { type: 'string', default: '100' },
    /** Write the ingest process's CPU profile into this folder (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
  },
});
const BATCH = Number(values.batch);
const TOKEN = 'kt_admin_bench_ingest_0123456789abcdef';

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-ingest-'));
const broker = createLocalBroker({ dataDir, heap: '1g' });
await broker.start();
const prefix = `bench.ingest.${Date.now()}.`;
const admin = createKafka({ brokers: broker.brokers, clientId: 'bench-ingest' }).admin();
await admin.connect();
await ensureTopics(admin, topicNames(prefix), { partitions: 3, replicationFactor: 1 });
await admin.disconnect();

const port = await freePort();
const ingest = spawn(
  process.execPath,
  [
    ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
    join(import.meta.dirname, '../services/cli/bin/keytrail.js'),
    'ingest',
  ],
  {
    env: {
      ...process.env,
      KEYTRAIL_KAFKA_BROKERS: broker.brokers.join(','),
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_PORT: String(port),
      KEYTRAIL_ADMIN_TOKEN: TOKEN,
      KEYTRAIL_INGEST_RATE_LIMIT: '1000000',
      KEYTRAIL_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let out = '';
ingest.stdout!.on('data', (d) => (out += d));
try {
  const deadline = Date.now() + 60_000;
  while (!/running at/.test(out)) {
    if (Date.now() > deadline || ingest.exitCode !== null) throw new Error(`ingest did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const body = JSON.stringify({
    events: Array.from({ length: BATCH }, (_, i) => ({
      type: 'auth_decision',
      workspace_id: 'ws_bench',
      occurred_at: '2026-11-22T04:00:00Z',
      request_id: `req_${i}`,
      key_id: `key_${i % 16}`,
      key_prefix: 'pf_live_a1b2',
      outcome: i % 10 === 0 ? 'INVALID_KEY' : 'ALLOWED',
      method: 'POST',
      route: '/v1/apps/:appId/generate',
      latency_ms: 12.5,
      client_ip: '203.0.113.9',
      cost: 1000,
    })),
  });
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/events`,
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
    connections: Number(values.connections),
    duration: Number(values.seconds),
  });
  const ok = result['2xx'];
  const seconds = result.duration;

  // The ceiling, same run: kafkajs alone, the same events pre-encoded. Ingest's publisher sends
  // what concurrent requests bring as one Kafka request (a group commit), so the fair ceiling is
  // kafkajs sending the most those connections could bring at once, one request at a time.
  const codec = createEventCodec();
  const perRequest = (JSON.parse(body) as { events: unknown[] }).events.map((json) => {
    const parsed = eventFromJson(json, codec);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const event = parsed.value.event as AuthDecision;
    return { key: authDecisionKey(event), value: codec.encode('auth_decision', event) };
  });
  const encoded = Array.from({ length: Number(values.connections) }, () => perRequest).flat();
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-ingest-ceiling' });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const topic = topicNames(prefix).authDecisions;
  let ceilingEvents = 0;
  const ceilingStarted = Date.now();
  const ceilingEnd = ceilingStarted + Number(values.seconds) * 1000;
  while (Date.now() < ceilingEnd) {
    await producer.sendBatch({ topicMessages: [{ topic, messages: encoded }], acks: -1 });
    ceilingEvents += encoded.length;
  }
  const ceilingPerSecond = ceilingEvents / ((Date.now() - ceilingStarted) / 1000);
  await producer.disconnect();
  const ingestPerSecond = (ok * BATCH) / seconds;
  console.log(
    `\nbench/ingest — keytrail ingest, batches of ${BATCH}, ${values.connections} connections, ${seconds.toFixed(0)} s, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB\n`,
  );
  console.log('| measure | value |');
  console.log('|---|---:|');
  console.log(`| requests/s (202) | ${Math.round(ok / seconds).toLocaleString('en')} |`);
  console.log(
    `| events/s acknowledged by Kafka | ${Math.round((ok * BATCH) / seconds).toLocaleString('en')} |`,
  );
  console.log(`| latency p50 / p99 (ms) | ${result.latency.p50} / ${result.latency.p99} |`);
  console.log(`| non-2xx / errors / timeouts | ${result.non2xx} / ${result.errors} / ${result.timeouts} |`);
  console.log(`| ingest peak RSS (MiB) | ${peakRssMiB(ingest.pid!)} |`);
  console.log(
    `| events/s through kafkajs alone, pre-encoded, ${encoded.length} a request (the ceiling) | ${Math.round(ceilingPerSecond).toLocaleString('en')} |`,
  );
  console.log(`| ingest / kafkajs alone | ${(ingestPerSecond / ceilingPerSecond).toFixed(2)}× |`);
  console.log(
    `bench-result ${JSON.stringify({ bench: 'ingest', batch: BATCH, ingestPerSecond, ceilingPerSecond, p99Ms: result.latency.p99 })}`,
  );
} finally {
  ingest.kill('SIGTERM');
  await new Promise((r) => ingest.once('exit', r));
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
