/**
 * bench/ingest — POST /v1/events under load: `keytrail ingest` (its own process) on a managed
 * Kafka broker, autocannon sending batches of 100 events; then, in the same run, kafkajs alone
 * (Keytrail's producer settings and codec) sending the same events already encoded, as many per
 * request as the connections' requests together hold (what ingest's group commit can reach): the
 * ceiling of any kafkajs-based ingest here. Both paths first run --warmup seconds unmeasured.
 * Prints a table and a `bench-result` JSON line (bench/all.ts); nothing is asserted.
 *   npx tsx bench/ingest.ts [--seconds 15] [--connections 32] [--batch 100] [--warmup 5] [--cpu-prof <folder>]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaZstdLevel } from '@keytrail/core';
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
    /** Seconds of unmeasured load first, on both paths (the broker's and ingest's JIT warm-up). */
    warmup: { type: 'string', default: '5' },
    /** Write the ingest process's CPU profile into this folder (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
  },
});
const BATCH = Number(values.batch);
const TOKEN = 'kt_admin_bench_ingest_0123456789abcdef';

/** CPU seconds a process has used (every thread: a JVM's, or Node's worker threads), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of the ingest process, the broker and this process (autocannon, or kafkajs alone). */
function cpuNow(ingestPid: number, brokerPid: number) {
  const own = process.cpuUsage();
  return {
    ingest: cpuSeconds(ingestPid),
    broker: cpuSeconds(brokerPid),
    bench: (own.user + own.system) / 1e6,
  };
}
type CpuSample = ReturnType<typeof cpuNow>;

/** The machine's idle and total CPU ticks so far (first line of /proc/stat: every core). */
function machineTicks(): { idle: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are the time nothing ran.
  return { idle: ticks[3]! + ticks[4]!, total: ticks.slice(0, 8).reduce((a, b) => a + b, 0) };
}
const idleShare = (before: { idle: number; total: number }) => {
  const now = machineTicks();
  return (now.idle - before.idle) / (now.total - before.total);
};
/** µs of CPU per event, per process, between two samples. */
function perEvent(before: CpuSample, after: CpuSample, events: number) {
  return {
    ingest: ((after.ingest - before.ingest) * 1e6) / events,
    broker: ((after.broker - before.broker) * 1e6) / events,
    bench: ((after.bench - before.bench) * 1e6) / events,
  };
}

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
  // The ceiling's input: kafkajs alone, the same events pre-encoded. Ingest's publisher sends
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
  const kafka = createKafka({
    brokers: broker.brokers,
    clientId: 'bench-ingest-ceiling',
    zstdLevel: kafkaZstdLevel(),
  });
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const topic = topicNames(prefix).authDecisions;
  const sendFor = async (ms: number): Promise<number> => {
    let events = 0;
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: encoded }], acks: -1 });
      events += encoded.length;
    }
    return events;
  };
  const load = (seconds: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}/v1/events`,
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
      connections: Number(values.connections),
      duration: seconds,
    });

  // Warm-up, not measured: a JVM broker and a Node process both run slow and spend CPU on their
  // JIT compilers for their first seconds of load, which would count against whichever path ran first.
  const warmup = Number(values.warmup);
  if (warmup > 0) {
    await sendFor(warmup * 1000);
    await load(warmup);
  }

  const loadCpuBefore = cpuNow(ingest.pid!, broker.pid!);
  const loadTicks = machineTicks();
  const result = await load(Number(values.seconds));
  const loadIdle = idleShare(loadTicks);
  const ok = result['2xx'];
  const seconds = result.duration;
  const loadCpu = perEvent(loadCpuBefore, cpuNow(ingest.pid!, broker.pid!), ok * BATCH);

  const ceilingCpuBefore = cpuNow(ingest.pid!, broker.pid!);
  const ceilingTicks = machineTicks();
  const ceilingStarted = Date.now();
  const ceilingEvents = await sendFor(Number(values.seconds) * 1000);
  const ceilingIdle = idleShare(ceilingTicks);
  const ceilingPerSecond = ceilingEvents / ((Date.now() - ceilingStarted) / 1000);
  const ceilingCpu = perEvent(ceilingCpuBefore, cpuNow(ingest.pid!, broker.pid!), ceilingEvents);
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
  // The CPU budget: what every process on these cores spends per event, and so how many cores
  // ingest would need at 0.7× the ceiling's rate. Past the machine's cores, 0.7× cannot be had here.
  const ingestTotal = loadCpu.ingest + loadCpu.broker + loadCpu.bench;
  const ceilingTotal = ceilingCpu.bench + ceilingCpu.broker;
  console.log(
    `| CPU µs/event under ingest: ingest process / broker / autocannon = total | ${loadCpu.ingest.toFixed(1)} / ${loadCpu.broker.toFixed(1)} / ${loadCpu.bench.toFixed(1)} = ${ingestTotal.toFixed(1)} |`,
  );
  console.log(
    `| CPU µs/event under kafkajs alone: kafkajs process / broker = total | ${ceilingCpu.bench.toFixed(1)} / ${ceilingCpu.broker.toFixed(1)} = ${ceilingTotal.toFixed(1)} |`,
  );
  // Idle cores while ingest is measured mean its bound is not CPU alone (one Kafka request in flight).
  console.log(
    `| machine CPU idle under ingest / under kafkajs alone | ${(loadIdle * 100).toFixed(0)} % / ${(ceilingIdle * 100).toFixed(0)} % |`,
  );
  console.log(
    `| cores ingest would need at 0.7× the ceiling (${Math.round(0.7 * ceilingPerSecond).toLocaleString('en')} events/s), of ${cpus().length} | ${((ingestTotal * 0.7 * ceilingPerSecond) / 1e6).toFixed(2)} |`,
  );
  console.log(
    `bench-result ${JSON.stringify({ bench: 'ingest', batch: BATCH, ingestPerSecond, ceilingPerSecond, p99Ms: result.latency.p99, cpuMicrosPerEvent: ingestTotal, coresAt07: (ingestTotal * 0.7 * ceilingPerSecond) / 1e6, idleUnderIngest: loadIdle })}`,
  );
} finally {
  ingest.kill('SIGTERM');
  await new Promise((r) => ingest.once('exit', r));
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
