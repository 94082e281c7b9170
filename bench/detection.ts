/**
 * bench/detection — detection quality through the real pipeline: labelled scenarios
 * (bench/detectionScenarios.ts) are posted to `keytrail ingest` (its own process) on a managed
 * Kafka broker, judged by the alerter (createAlerterService, embedded ClickHouse), and the alerts
 * it publishes on keytrail.alerts are scored against the labels. Event time is compressed: days
 * of traffic go through in minutes. Then a live phase sends real-time attacks and times ingest →
 * signed webhook. Two sets: "tuning" (what the defaults were chosen on) and "holdout" (other
 * seeds, other rates and sizes). Prints tables; nothing is asserted.
 *   npx tsx bench/detection.ts [--days 3] [--live 8]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAlerterService } from '@keytrail/alerter';
import { createClickHouseDriver, migrate, writeWebhookEndpoint } from '@keytrail/clickhouse';
import { createLogger } from '@keytrail/core';
import { type AlertEvent, createAlertEventCodec, createEventCodec } from '@keytrail/events';
import {
  createKafka,
  createLocalBroker,
  createSchemaRegistry,
  ensureTopics,
  freePort,
  readWholeTopic,
  topicNames,
} from '@keytrail/kafka';
import { sealingKey, sealSecrets } from '@keytrail/webhooks';
import { Registry } from 'prom-client';
import {
  type Attack,
  EXPECTED_ALERT,
  type JsonEvent,
  type ScenarioSet,
  scenarioSet,
} from './detectionScenarios.ts';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '3' },
    live: { type: 'string', default: '8' },
  },
});
const DAYS = Number(values.days);
const TOKEN = 'kt_admin_bench_detection_0123456789abcdef';
const HOUR = 3_600_000;
const MINUTE = 60_000;

// ── the scenarios ──
const startMs = Math.floor((Date.now() - DAYS * 24 * HOUR - 3 * HOUR) / HOUR) * HOUR;
const sets: ScenarioSet[] = [
  scenarioSet({
    name: 'tuning',
    seed: 101,
    workspaces: { small: 12, medium: 6, large: 2 },
    days: DAYS,
    startMs,
    enumerationRates: [20, 60, 200, 600, 20, 60, 200, 600],
    distributed: [
      [30, 1],
      [20, 1],
      [60, 1],
    ],
    leakedPerMinute: 2,
    expiredPerMinute: 30,
  }),
  scenarioSet({
    name: 'holdout',
    seed: 202,
    workspaces: { small: 10, medium: 7, large: 3 },
    days: DAYS,
    startMs,
    enumerationRates: [25, 100, 400, 30, 150, 500],
    distributed: [
      [40, 0.5],
      [25, 1],
    ],
    leakedPerMinute: 1,
    expiredPerMinute: 25,
  }),
];
const totalEvents = sets.reduce((s, set) => s + set.eventCount, 0);
console.log(
  `${sets.map((s) => `${s.name}: ${s.workspaceDays} workspace-days, ${s.attacks.length} attacks, ${s.eventCount.toLocaleString('en')} events`).join('; ')}`,
);

// ── the pipeline ──
const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-detection-'));
const broker = createLocalBroker({ dataDir: join(dataDir, 'kafka'), heap: '1g' });
await broker.start();
const prefix = `bench.detection.${Date.now()}.`;
const topics = topicNames(prefix);
const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-detection' });
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, topics, { partitions: 3, replicationFactor: 1 });
await admin.disconnect();

const port = await freePort();
const ingest = spawn(
  process.execPath,
  [join(import.meta.dirname, '../services/cli/bin/keytrail.js'), 'ingest'],
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
let ingestOut = '';
ingest.stdout!.on('data', (d) => (ingestOut += d));

// Alerts are scored from the topic, not read from the log: only warnings are printed.
process.env.KEYTRAIL_LOG_LEVEL ??= 'warn';
const logger = createLogger('bench-detection');
const ch = createClickHouseDriver({ dataDir });
await migrate(ch);
const key = sealingKey('bench-detection-sealing-key');
const registry = createSchemaRegistry({ kafka, topic: topics.schemas });
const metrics = new Registry();
const alerter = createAlerterService({
  kafka,
  ch,
  codec: createEventCodec(),
  topics,
  topicPrefix: prefix,
  logger,
  metrics,
  registry,
  sealingKey: key,
  allowPrivate: true,
});

// The live phase's webhooks arrive here.
const received: { at: number; alert: { id: string; kind: string; scope: { client_ip?: string } } }[] = [];
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (c) => {
    body += c;
  });
  request.on('end', () => {
    const parsed = JSON.parse(body) as { type: string; data: (typeof received)[number]['alert'] };
    if (parsed.type === 'alert.fired') received.push({ at: Date.now(), alert: parsed.data });
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const LIVE_WS = 'live_ws';
await writeWebhookEndpoint(ch, {
  workspace_id: LIVE_WS,
  endpoint_id: 'ep_bench',
  url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
  events: ['alert.fired'],
  sealed_secrets: sealSecrets(key, [
    { secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, expires_at: null },
  ]),
  created_at: Date.now(),
  disabled_at: null,
  disabled_reason: '',
  deleted: false,
  version: Date.now(),
});

const ingestUrl = `http://127.0.0.1:${port}/v1/events`;
async function post(events: readonly JsonEvent[]): Promise<void> {
  for (;;) {
    const response = await fetch(ingestUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    const answer = (await response.json()) as { accepted?: number; rejected?: unknown[] };
    if (response.status === 202 && answer.rejected?.length === 0) return;
    if (response.status === 202)
      throw new Error(`rejected: ${JSON.stringify(answer.rejected).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rssMiB = () =>
  Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

try {
  const deadline = Date.now() + 60_000;
  while (!/running at/.test(ingestOut)) {
    if (Date.now() > deadline || ingest.exitCode !== null)
      throw new Error(`ingest did not start:\n${ingestOut}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await alerter.start();

  // ── compressed phase: every set's hours, merged in event-time order ──
  // Batches span at most 20 s of event time, posted one after another: the alerter's watermark
  // must not see one partition run minutes ahead of another (DESIGN: bounded lateness).
  const started = Date.now();
  let sent = 0;
  let lastEventAt = 0;
  const iterators = sets.map((s) => s.hours());
  for (;;) {
    const chunks = iterators
      .map((it) => it.next())
      .filter((r) => !r.done)
      .map((r) => r.value as JsonEvent[]);
    if (chunks.length === 0) break;
    const hour = chunks.flat().sort((a, b) => a.occurred_at - b.occurred_at);
    let batch: JsonEvent[] = [];
    for (const event of hour) {
      if (batch.length > 0 && (batch.length >= 5_000 || event.occurred_at - batch[0]!.occurred_at > 20_000)) {
        await post(batch);
        sent += batch.length;
        batch = [];
      }
      batch.push(event);
      lastEventAt = Math.max(lastEventAt, event.occurred_at);
    }
    if (batch.length > 0) {
      await post(batch);
      sent += batch.length;
    }
    process.stderr.write(
      `\r  posted ${sent.toLocaleString('en')} of ${totalEvents.toLocaleString('en')} events (${Math.round(sent / ((Date.now() - started) / 1000)).toLocaleString('en')}/s); alerter watermark ${new Date(alerter.stats().watermark ?? 0).toISOString()}   `,
    );
  }
  const postSeconds = (Date.now() - started) / 1000;
  while ((alerter.stats().watermark ?? 0) < lastEventAt + MINUTE)
    await new Promise((r) => setTimeout(r, 250));
  const judgedSeconds = (Date.now() - started) / 1000;
  process.stderr.write('\n');

  // ── the live phase: real-time attacks, ingest → webhook ──
  const live: { ip: string; crossedAt: number }[] = [];
  for (let a = 0; a < Number(values.live); a++) {
    const ip = `203.0.113.${200 + a}`;
    let crossedAt = 0;
    for (let i = 0; i < 40; i++) {
      await post([
        {
          type: 'auth_decision',
          workspace_id: LIVE_WS,
          occurred_at: Date.now(),
          request_id: `req_live_${a}_${i}`,
          outcome: 'INVALID_KEY',
          http_status: 401,
          key_prefix: 'pf_live_zz',
          presented_key_hash: `live_${a}_${i}`,
          client_ip: ip,
        },
      ]);
      if (i === 19) crossedAt = Date.now(); // the 20th attempt makes the count reach the threshold
      await new Promise((r) => setTimeout(r, 100)); // 600 attempts a minute
    }
    live.push({ ip, crossedAt });
    const wait = Date.now() + 30_000;
    while (!received.some((r) => r.alert.scope.client_ip === ip) && Date.now() < wait)
      await new Promise((r) => setTimeout(r, 50));
  }

  // ── scoring ──
  const codec = createAlertEventCodec();
  const fired: AlertEvent[] = [];
  await readWholeTopic(kafka, topics.alerts, (message) => {
    const event = codec.decode(message.value!);
    if (event.change === 'FIRED') fired.push(event);
  });

  const matches = (alert: AlertEvent, attack: Attack) =>
    alert.workspace_id === attack.workspaceId &&
    alert.kind === EXPECTED_ALERT[attack.kind] &&
    alert.detected_at >= attack.startedAt - MINUTE &&
    alert.detected_at <= attack.endedAt + 15 * MINUTE &&
    (attack.scope.client_ip === undefined || alert.scope.client_ip === attack.scope.client_ip) &&
    (attack.kind !== 'DISTRIBUTED_ENUMERATION' || alert.scope.client_ip === null) &&
    (attack.scope.key_id === undefined || alert.scope.key_id === attack.scope.key_id);
  /** Another alert about the same incident (the same key or address, during it): not a false one. */
  const related = (alert: AlertEvent, attack: Attack) =>
    alert.workspace_id === attack.workspaceId &&
    alert.detected_at >= attack.startedAt - MINUTE &&
    alert.detected_at <= attack.endedAt + HOUR &&
    ((attack.scope.key_id !== undefined && alert.scope.key_id === attack.scope.key_id) ||
      (attack.scope.client_ip !== undefined && alert.scope.client_ip === attack.scope.client_ip));

  const pct = (values: number[], p: number) => {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  };
  const seconds = (ms: number) => (Number.isNaN(ms) ? '—' : (ms / 1000).toFixed(1));

  console.log(
    `\nMachine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `Pipeline: ${sent.toLocaleString('en')} events posted in ${postSeconds.toFixed(0)} s (${Math.round(sent / postSeconds).toLocaleString('en')}/s), all judged after ${judgedSeconds.toFixed(0)} s; ${(DAYS * 24).toFixed(0)} h of event time each; alerter process peak RSS ${rssMiB()} MiB; late events ${alerter.stats().late}`,
  );
  for (const set of sets) {
    const ours = fired.filter((a) => a.workspace_id.startsWith(`${set.name}_`));
    const paging = ours.filter((a) => a.severity !== 'LOW');
    const isTrue = (a: AlertEvent) => set.attacks.some((t) => matches(a, t) || related(a, t));
    const falsePaging = paging.filter((a) => !isTrue(a));
    const falseLow = ours.filter((a) => a.severity === 'LOW' && !isTrue(a));
    console.log(
      `\n${set.name}: ${set.workspaceDays} workspace-days, ${set.attacks.length} attacks, ${ours.length} alerts fired (${paging.length} paging, ${ours.length - paging.length} LOW)`,
    );
    console.log('| attack | rate | detected | time to detect (event time) |');
    console.log('| --- | --- | ---: | ---: |');
    const byKind = new Map<string, { found: number; total: number; ttd: number[] }>();
    for (const attack of set.attacks) {
      const hit = ours.filter((a) => matches(a, attack)).sort((a, b) => a.detected_at - b.detected_at)[0];
      const ttd = hit ? hit.detected_at - attack.startedAt : Number.NaN;
      console.log(
        `| ${attack.kind} | ${attack.label} | ${hit ? 'yes' : '**no**'} | ${hit ? `${seconds(ttd)} s` : '—'} |`,
      );
      const row = byKind.get(attack.kind) ?? { found: 0, total: 0, ttd: [] };
      row.total++;
      if (hit) {
        row.found++;
        row.ttd.push(ttd);
      }
      byKind.set(attack.kind, row);
    }
    console.log('\n| attack kind | recall | TTD p50 s | TTD p95 s |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [kind, row] of byKind)
      console.log(
        `| ${kind} | ${(row.found / row.total).toFixed(2)} (${row.found}/${row.total}) | ${seconds(pct(row.ttd, 50))} | ${seconds(pct(row.ttd, 95))} |`,
      );
    const enumerations = set.attacks.filter(
      (t) => t.kind === 'SINGLE_IP_ENUMERATION' || t.kind === 'DISTRIBUTED_ENUMERATION',
    );
    const ttdOf = (filter: (t: Attack) => boolean) =>
      enumerations
        .filter(filter)
        .map(
          (t) =>
            ours
              .filter((a) => matches(a, t))
              .map((a) => a.detected_at - t.startedAt)
              .sort((x, y) => x - y)[0],
        )
        .filter((v): v is number => v !== undefined);
    const fast = ttdOf((t) => t.perMinute >= 100);
    const slow = ttdOf((t) => t.perMinute < 100);
    console.log(
      `\nprecision (paging alerts): ${paging.length ? ((paging.length - falsePaging.length) / paging.length).toFixed(3) : '—'}; false paging alerts per 100 workspace-days: ${((falsePaging.length * 100) / set.workspaceDays).toFixed(2)}; LOW alerts not tied to an attack: ${falseLow.length}`,
    );
    console.log(
      `enumeration TTD: ≥ 100/min p50 ${seconds(pct(fast, 50))} s p95 ${seconds(pct(fast, 95))} s; < 100/min p50 ${seconds(pct(slow, 50))} s p95 ${seconds(pct(slow, 95))} s`,
    );
    for (const a of falsePaging.slice(0, 10))
      console.log(`  false: ${a.kind} ${a.severity} ${JSON.stringify(a.scope)} ${a.summary}`);
  }
  const latencies = live
    .map((l) => {
      const hit = received.find((r) => r.alert.scope.client_ip === l.ip);
      return hit ? hit.at - l.crossedAt : undefined;
    })
    .filter((v): v is number => v !== undefined);
  console.log(
    `\nLive: ${latencies.length}/${live.length} real-time attacks (600/min) delivered as signed webhooks; ingest → webhook after the threshold-crossing attempt: p50 ${seconds(pct(latencies, 50))} s, p95 ${seconds(pct(latencies, 95))} s (max ${seconds(Math.max(...latencies))} s)`,
  );
} finally {
  await alerter.stop().catch(() => {});
  receiver.close();
  ingest.kill('SIGTERM');
  await ch.close();
  await registry.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
