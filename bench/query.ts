/**
 * bench/query — the query API over a realistic workspace: decisions generated inside ClickHouse
 * into the same tables and views the projector fills (10,000 keys, 10 of them hot, 1M end users,
 * 30 days), served by the real API in this process on embedded chdb. Prints p50/p99 per route at
 * 1 and 32 concurrent clients, and the billing export's rows/s and RSS growth. Nothing is asserted.
 *   npx tsx bench/query.ts [--decisions 100000000] [--requests 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { registerApiRoutes } from '@keytrail/api';
import {
  countAuthDecisions,
  createEmbeddedDriver,
  insertSyntheticDecisions,
  insertSyntheticKeys,
  migrate,
  type SyntheticWorkspace,
} from '@keytrail/clickhouse';
import { createLogger } from '@keytrail/core';
import { adminAuthenticator, createHttpApp } from '@keytrail/http';
import { createTokenService } from '@keytrail/tokens';

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '100000000' },
    requests: { type: 'string', default: '200' },
  },
});
const DECISIONS = Number(values.decisions);
const REQUESTS = Number(values.requests);
const TOKEN = 'kt_admin_bench_query_0123456789abcdef';
const DAY = 86_400_000;
const now = Date.now();
const shape: SyntheticWorkspace = {
  workspaceId: 'ws_bench',
  keys: 10_000,
  endUsers: 1_000_000,
  startMs: now - 30 * DAY,
  spanMs: 30 * DAY,
};

const dir = mkdtempSync(join(tmpdir(), 'kt-bench-query-'));
const ch = createEmbeddedDriver({ path: dir });
await migrate(ch);
const seedStarted = Date.now();
await insertSyntheticKeys(ch, shape);
const CHUNK = 5_000_000;
for (let first = 0; first < DECISIONS; first += CHUNK) {
  await insertSyntheticDecisions(ch, shape, first, Math.min(CHUNK, DECISIONS - first), DECISIONS);
  process.stderr.write(`\rseeded ${Math.min(first + CHUNK, DECISIONS).toLocaleString('en')} decisions`);
}
process.stderr.write(`\n`);
const seedSeconds = (Date.now() - seedStarted) / 1000;
const rows = await countAuthDecisions(ch, shape.workspaceId);

const logger = createLogger('bench-query', 'warn');
const tokens = createTokenService({ ch, adminToken: TOKEN, logger, mode: 'single-process' });
await tokens.start();
const app = createHttpApp({ logger, authenticate: adminAuthenticator(TOKEN), readiness: {} });
await registerApiRoutes(app, { ch, tokens, cursorSecret: TOKEN });
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
  ['request lookup', () => `${ws}/requests/req_${Math.floor((i * 7919) % DECISIONS)}`, '≤ 50 ms'],
  ['keys list (page of 100 of 10,000)', () => `${ws}/keys?limit=100`, '≤ 100 ms'],
  ['decisions page, 1 day (hot key)', () => `${ws}/keys/key_${i % 10}/decisions?${day}&limit=100`, ''],
  ['activity, 1 day (hot key)', () => `${ws}/keys/key_${i % 10}/activity?${day}`, ''],
  ['top keys, 30 days', () => `${ws}/usage?${month}&group_by=key_id&limit=10`, ''],
  ['probes by IP, 1 day', () => `${ws}/probes?${day}&group_by=client_ip`, ''],
  [
    'end-user usage, 30 days daily',
    () => `${ws}/end-users/eu_${i % 1000}/usage?${month}&granularity=day`,
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
for (const [name, path, target] of routes) {
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

// Billing export of the month, by day: rows/s and how much RSS grows while it streams.
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const watch = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
const exportStarted = performance.now();
const response = await fetch(
  `${url}${ws}/billing/export?from=${iso(now - 30 * DAY).slice(0, 10)}T00:00:00Z&to=${iso(now + DAY).slice(0, 10)}T00:00:00Z&period=month&format=csv`,
  { headers },
);
let exportRows = -1; // the header line
let exportBytes = 0;
const decoder = new TextDecoder();
for await (const chunk of response.body!) {
  exportBytes += chunk.length;
  for (const c of decoder.decode(chunk, { stream: true })) if (c === '\n') exportRows++;
}
const exportSeconds = (performance.now() - exportStarted) / 1000;
clearInterval(watch);

await app.close();
await tokens.stop();
await ch.close();
rmSync(dir, { recursive: true, force: true });

const pad = (cells: string[], widths: number[]) =>
  `| ${cells.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |`;
const header = ['route', 'p50 ms (1)', 'p99 ms (1)', 'p50 ms (32)', 'p99 ms (32)', 'errors', 'target p99'];
const widths = header.map((h, k) => Math.max(h.length, ...table.map((r) => r[k]!.length)));
console.log(
  `\nbench/query — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
console.log(
  `${rows.toLocaleString('en')} decisions over 30 days, ${shape.keys.toLocaleString('en')} keys, ${shape.endUsers.toLocaleString('en')} end users; seeded in ${seedSeconds.toFixed(0)} s; ${REQUESTS} requests per route and concurrency\n`,
);
console.log(pad(header, widths));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(pad(row, widths));
console.log(
  `\nbilling export (month, CSV): ${exportRows.toLocaleString('en')} rows, ${(exportBytes / 2 ** 20).toFixed(1)} MiB in ${exportSeconds.toFixed(2)} s = ${Math.round(exportRows / exportSeconds).toLocaleString('en')} rows/s; RSS growth ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB (target ≥ 500,000 rows/s, ≤ 100 MiB)`,
);
