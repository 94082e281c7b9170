/**
 * bench/query — the query API over a realistic workspace: decisions generated inside ClickHouse
 * into the same tables and views the projector fills (10,000 keys, 10 of them hot, 1M end users,
 * 30 days), served by the real API in this process on embedded chdb. Prints p50/p99 per route at
 * 1 and 32 concurrent clients, and the billing export's rows/s and RSS growth. Nothing is asserted.
 *   npx tsx bench/query.ts [--decisions 100000000] [--requests 200] [--data DIR] [--only TEXT]
 * --data keeps the seeded database in DIR and reuses it on the next run (seeding 100M decisions
 * takes about half an hour; --seed-only stops after seeding); --only runs the routes whose name contains TEXT. --load-rate sets the
 * events/s a producer sends while the routes are measured again (0 skips that phase): a real
 * broker fed by a gateways process (bench/queryLoad.ts), and Keytrail's projector writing into the same embedded database, in this process, once
 * per --max-batch value (default 50000,5000: the projector's largest insert).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerApiRoutes } from '@keytrail/api';
import {
  countAuthDecisions,
  countRunningMerges,
  countRunningMutations,
  createEmbeddedDriver,
  insertSyntheticDecisions,
  insertSyntheticKeys,
  migrate,
  type SyntheticWorkspace,
} from '@keytrail/clickhouse';
import { createLogger } from '@keytrail/core';
import { createEventCodec } from '@keytrail/events';
import { adminAuthenticator, createHttpApp } from '@keytrail/http';
import { createKafka, createLocalBroker, ensureTopics, topicNames } from '@keytrail/kafka';
import { createProjector, projectorGroupId } from '@keytrail/projector';
import { createTokenService } from '@keytrail/tokens';
import { sealingKey } from '@keytrail/webhooks';
import { Registry } from 'prom-client';

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '100000000' },
    requests: { type: 'string', default: '200' },
    data: { type: 'string' },
    only: { type: 'string' },
    'load-rate': { type: 'string', default: '20000' },
    'max-batch': { type: 'string', default: '50000,5000' },
    'seed-only': { type: 'boolean', default: false },
  },
});
const DECISIONS = Number(values.decisions);
const REQUESTS = Number(values.requests);
const TOKEN = 'kt_admin_bench_query_0123456789abcdef';
const DAY = 86_400_000;
const dir = values.data ?? mkdtempSync(join(tmpdir(), 'kt-bench-query-'));
// A reused database keeps the shape (and the clock) it was seeded with.
const shapeFile = join(dir, 'bench-shape.json');
const reused = existsSync(shapeFile);
const shape: SyntheticWorkspace = reused
  ? (JSON.parse(readFileSync(shapeFile, 'utf8')) as SyntheticWorkspace)
  : {
      workspaceId: 'ws_bench',
      keys: 10_000,
      endUsers: 1_000_000,
      startMs: Date.now() - 30 * DAY,
      spanMs: 30 * DAY,
    };
const now = shape.startMs + shape.spanMs;
const ch = createEmbeddedDriver({ path: dir });
await migrate(ch);
const seedStarted = Date.now();
if (!reused) {
  await insertSyntheticKeys(ch, shape);
  const CHUNK = 5_000_000;
  for (let first = 0; first < DECISIONS; first += CHUNK) {
    await insertSyntheticDecisions(ch, shape, first, Math.min(CHUNK, DECISIONS - first), DECISIONS);
    process.stderr.write(`\rseeded ${Math.min(first + CHUNK, DECISIONS).toLocaleString('en')} decisions`);
  }
  process.stderr.write(`\n`);
  if (values.data) writeFileSync(shapeFile, JSON.stringify(shape));
}
const seedSeconds = (Date.now() - seedStarted) / 1000;
if (values['seed-only']) {
  process.stderr.write(`seeded in ${seedSeconds.toFixed(0)} s; measure with --data ${dir}\n`);
  await ch.close();
  process.exit(0);
}
const rows = await countAuthDecisions(ch, shape.workspaceId);

// Idle means idle: right after a seed the engine merges its parts for minutes (and a migration's
// MATERIALIZE rewrites them), and idle figures taken beside that work would flatter the under-load
// ratios. Wait for none to run, three checks apart (a reused database settles in seconds).
const mergesWaitStarted = Date.now();
for (let quiet = 0; quiet < 3 && Date.now() - mergesWaitStarted < 20 * 60_000; ) {
  const running = (await countRunningMerges(ch)) + (await countRunningMutations(ch));
  quiet = running === 0 ? quiet + 1 : 0;
  if (running > 0) process.stderr.write(`\rwaiting for ${running} background merge(s) and mutation(s)…`);
  await new Promise((r) => setTimeout(r, 1_000));
}
process.stderr.write(
  `\rmerges and mutations settled after ${((Date.now() - mergesWaitStarted) / 1000).toFixed(0)} s\n`,
);

const logger = createLogger('bench-query', 'warn');
const tokens = createTokenService({ ch, adminToken: TOKEN, logger, mode: 'single-process' });
await tokens.start();
const app = createHttpApp({ logger, authenticate: adminAuthenticator(TOKEN), readiness: {} });
await registerApiRoutes(app, {
  ch,
  tokens,
  cursorSecret: TOKEN,
  webhooks: { sealingKey: sealingKey(TOKEN.padEnd(16, '.')), allowPrivate: false },
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const headers = { authorization: `Bearer ${TOKEN}` };

const iso = (ms: number) => new Date(ms).toISOString();
const ws = `/v1/workspaces/${shape.workspaceId}`;
const month = `from=${iso(now - 30 * DAY)}&to=${iso(now)}`;
const day = `from=${iso(now - DAY)}&to=${iso(now)}`;
let i = 0;
const routes: [string, () => string, string][] = [
  [
    'key usage, 30 days hourly (hot key)',
    () => `${ws}/keys/key_${i % 10}/usage?${month}&granularity=hour`,
    '≤ 25 ms',
  ],
  [
    'key usage, 30 days hourly (cold key)',
    () => `${ws}/keys/key_${100 + (i % 9000)}/usage?${month}&granularity=hour`,
    '≤ 25 ms',
  ],
  ['request lookup', () => `${ws}/requests/req_${Math.floor((i * 7919) % rows)}`, '≤ 50 ms'],
  ['keys list (page of 100 of 10,000)', () => `${ws}/keys?limit=100`, '≤ 100 ms'],
  ['decisions page, 1 day (hot key)', () => `${ws}/keys/key_${i % 10}/decisions?${day}&limit=100`, ''],
  ['activity, 1 day (hot key)', () => `${ws}/keys/key_${i % 10}/activity?${day}`, ''],
  ['top keys, 30 days', () => `${ws}/usage?${month}&group_by=key_id&limit=10`, ''],
  ['probes by IP, 1 day', () => `${ws}/probes?${day}&group_by=client_ip`, ''],
  [
    'end-user usage, 30 days daily',
    // A new end user each request, in every phase: the engine's query condition cache remembers
    // which granules matched one end user, and a repeated one would be answered from it.
    () => `${ws}/end-users/eu_${(i * 7919) % shape.endUsers}/usage?${month}&granularity=day`,
    '',
  ],
];

async function measure(
  path: () => string,
  clients: number,
  total: number,
): Promise<{ p50: number; p99: number; errors: number }> {
  const times: number[] = [];
  let errors = 0;
  let left = total;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) {
        i++;
        const started = performance.now();
        const response = await fetch(`${url}${path()}`, { headers });
        await response.arrayBuffer();
        times.push(performance.now() - started);
        if (response.status !== 200 && response.status !== 404) errors++;
      }
    }),
  );
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), errors };
}

const table: string[][] = [];
const selectedRoutes = routes.filter(([name]) => name.includes(values.only ?? ''));
for (const [name, path, target] of selectedRoutes) {
  process.stderr.write(`measuring ${name}…\n`);
  await measure(path, 1, 5); // warm-up
  const one = await measure(path, 1, REQUESTS);
  const many = await measure(path, 32, REQUESTS);
  table.push([
    name,
    one.p50.toFixed(1),
    one.p99.toFixed(1),
    many.p50.toFixed(1),
    many.p99.toFixed(1),
    String(one.errors + many.errors),
    target,
  ]);
}

/** The first instant of the UTC month `ms` falls in, `ahead` months later. */
const monthStart = (ms: number, ahead: number) => {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + ahead, 1)).toISOString();
};

// Billing export of the months the data spans: rows/s and how much RSS grows while it streams.
async function measureBillingExport(round: 'first' | 'again'): Promise<string> {
  process.stderr.write('measuring the billing export…\n');
  const before = process.memoryUsage();
  const rssBefore = before.rss;
  let rssPeak = rssBefore;
  // The JavaScript side of the growth (heap, and buffers outside it), to tell it from the engine's.
  let jsPeak = before.heapUsed + before.external;
  const watch = setInterval(() => {
    const now = process.memoryUsage();
    rssPeak = Math.max(rssPeak, now.rss);
    jsPeak = Math.max(jsPeak, now.heapUsed + now.external);
  }, 20);
  const started = performance.now();
  const response = await fetch(
    `${url}${ws}/billing/export?from=${monthStart(now - 30 * DAY, 0)}&to=${monthStart(now, 1)}&period=month&format=csv`,
    { headers },
  );
  let lines = -1; // the header line
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    // indexOf, not a loop over every byte: this client shares the event loop with the server.
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(watch);
  return `billing export (month, CSV, ${round}): ${lines.toLocaleString('en')} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s = ${Math.round(lines / seconds).toLocaleString('en')} rows/s; RSS growth ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB, of which JavaScript heap and buffers ${((jsPeak - before.heapUsed - before.external) / 2 ** 20).toFixed(0)} MiB (target ≥ 500,000 rows/s, ≤ 100 MiB)`;
}
// Twice: the first export after the engine opened also pays its first reads of these parts (the
// engine's allocations, which it keeps); the second shows what an export itself adds.
const billing =
  !values.only || 'billing export'.includes(values.only)
    ? `${await measureBillingExport('first')}\n${await measureBillingExport('again')}`
    : '';

// The idle figures now: a load phase can take long on two cores, and is the part a run can lose.
const pad = (cells: string[], widths: number[]) =>
  `| ${cells.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |`;
const header = ['route', 'p50 ms (1)', 'p99 ms (1)', 'p50 ms (32)', 'p99 ms (32)', 'errors', 'target p99'];
const widths = header.map((h, k) => Math.max(h.length, ...table.map((r) => r[k]!.length)));
console.log(
  `\nbench/query — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
console.log(
  `${rows.toLocaleString('en')} decisions over 30 days, ${shape.keys.toLocaleString('en')} keys, ${shape.endUsers.toLocaleString('en')} end users; ${reused ? 'reused' : `seeded in ${seedSeconds.toFixed(0)} s`}; ${REQUESTS} requests per route and concurrency\n`,
);
console.log(pad(header, widths));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(pad(row, widths));
if (billing) console.log(`\n${billing}`);

/** Milliseconds all cores have been idle since boot (os.cpus()). */
const machineIdle = () => cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);

// The same routes (one client) while the gateways process sends LOAD_RATE events/s to a real broker and
// Keytrail's projector writes them into this database: the all-in-one case.
const LOAD_RATE = Number(values['load-rate']);
async function measureUnderLoad(maxBatch: number): Promise<{ rows: string[][]; note: string }> {
  // A workspace of its own per phase and run, so the lag figures count this phase's events only.
  const loadWorkspace = `ws_load_${maxBatch}_${Date.now()}`;
  const brokerDir = mkdtempSync(join(tmpdir(), 'kt-bench-query-broker-'));
  const broker = createLocalBroker({ dataDir: brokerDir, heap: '1g' });
  process.stderr.write('starting Kafka for the load phase…\n');
  await broker.start();
  const prefix = `benchq.${Date.now()}.`;
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'bench-query' });
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions: 3, replicationFactor: 1 });
  await admin.disconnect();
  const projector = createProjector({
    kafka,
    ch,
    codec: createEventCodec(),
    topics,
    logger: createLogger('bench-query-projector', 'warn'),
    metrics: new Registry(),
    groupId: projectorGroupId(prefix),
    maxBatchEvents: maxBatch,
  });
  await projector.start();
  const loadStarted = Date.now();
  const cpuAtStart = process.cpuUsage();
  const idleAtStart = machineIdle();
  // The gateways: a process of their own (bench/queryLoad.ts), as they would be other machines.
  const gateways = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'queryLoad.ts'),
      ...['--brokers', broker.brokers.join(','), '--topic', topics.authDecisions],
      ...['--workspace', loadWorkspace, '--rate', String(LOAD_RATE)],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let report = '';
  gateways.stdout.on('data', (chunk: Buffer) => (report += chunk.toString()));
  const gatewaysExited = new Promise<void>((resolve) => gateways.once('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, 5_000)); // past the group join and the first backlog
  const rows: string[][] = [];
  for (const [name, path] of selectedRoutes) {
    process.stderr.write(`measuring ${name} under load…\n`);
    const loaded = await measure(path, 1, REQUESTS);
    const idle = table.find((r) => r[0] === name)!;
    rows.push([
      name,
      loaded.p50.toFixed(1),
      loaded.p99.toFixed(1),
      `${(loaded.p99 / Number(idle[2])).toFixed(1)}×`,
    ]);
  }
  gateways.kill('SIGTERM');
  await gatewaysExited;
  const { sent } = JSON.parse(report) as { sent: number };
  const seconds = (Date.now() - loadStarted) / 1000;
  // How busy the cores were: this process (API, projector, ClickHouse) and the machine.
  const used = process.cpuUsage(cpuAtStart);
  const processShare = (used.user + used.system) / 1e6 / seconds / cpus().length;
  const machineShare = 1 - (machineIdle() - idleAtStart) / 1000 / seconds / cpus().length;
  const [lag] = await ch.query<{ rows: number; q: number[] }>(
    `SELECT count() AS rows, quantiles(0.5, 0.99)(dateDiff('millisecond', kafka_timestamp, ingested_at)) AS q
     FROM auth_decisions WHERE workspace_id = {ws:String}`,
    { ws: loadWorkspace },
  );
  await projector.stop();
  await broker.stop();
  rmSync(brokerDir, { recursive: true, force: true });
  return {
    rows,
    note: `load: ${sent.toLocaleString('en')} events sent in ${seconds.toFixed(0)} s (${Math.round(sent / seconds).toLocaleString('en')}/s), ${lag!.rows.toLocaleString('en')} projected by the end; Kafka → queryable p50 ${Math.round(lag!.q[0]!)} ms, p99 ${Math.round(lag!.q[1]!)} ms; projector max batch ${maxBatch.toLocaleString('en')}; CPU busy ${Math.round(machineShare * 100)} % of both cores (this process ${Math.round(processShare * 100)} %; the broker and the gateways process most of the rest)`,
  };
}
// One load phase per projector batch bound (--max-batch 50000,5000): the longest insert a query
// can wait behind.
const underLoad: Awaited<ReturnType<typeof measureUnderLoad>>[] = [];
if (LOAD_RATE > 0)
  for (const maxBatch of values['max-batch'].split(',').map(Number))
    underLoad.push(await measureUnderLoad(maxBatch));

await app.close();
await tokens.stop();
await ch.close();
if (!values.data) rmSync(dir, { recursive: true, force: true });

for (const phase of underLoad) {
  if (phase.rows.length === 0) continue;
  const loadHeader = ['route', 'p50 ms', 'p99 ms', 'p99 / idle p99'];
  const loadWidths = loadHeader.map((h, k) => Math.max(h.length, ...phase.rows.map((r) => r[k]!.length)));
  console.log(`\nunder load, 1 client, target p99 ≤ 4× idle — ${phase.note}\n`);
  console.log(pad(loadHeader, loadWidths));
  console.log(`|${loadWidths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of phase.rows) console.log(pad(row, loadWidths));
}
