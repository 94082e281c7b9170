/**
 * bench/dashboard — how fast each dashboard page is ready on the demo's data, and how much it
 * fetches. Starts `keytrail up --demo` (its own process, a managed broker, embedded ClickHouse),
 * signs Debian's chromium in with the demo's admin token, then opens every page `--runs` times
 * (first a warm-up) and prints, per page: time from navigation to every section loaded (p50 and
 * the slowest run), API requests and the bytes they brought (transferSize). Nothing is asserted.
 *   npx tsx bench/dashboard.ts [--runs 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { markdownTable } from './table.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const TOKEN = 'kt_admin_bench_dashboard_0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'kt-bench-dashboard-'));
const port = 18_000 + Math.floor(Math.random() * 1000);

console.log('starting keytrail up --demo (about a minute)…');
const up = spawn(
  process.execPath,
  [join(import.meta.dirname, '../services/cli/bin/keytrail.js'), 'up', '--demo'],
  {
    env: {
      ...process.env,
      KEYTRAIL_DATA_DIR: dataDir,
      KEYTRAIL_PORT: String(port),
      KEYTRAIL_ADMIN_TOKEN: TOKEN,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let output = '';
await new Promise<void>((resolve, reject) => {
  up.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (/Dashboard: http:\/\/\S+#\/signin/.test(output)) resolve();
  });
  up.on('exit', (code) => reject(new Error(`keytrail up exited ${code}:\n${output}`)));
});
const url = `http://127.0.0.1:${port}`;
const key = /Where (key_\d+_\d+) was used from/.exec(output)?.[1] ?? 'key_1_1';

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  // The bench's own probes run as strings, which the page's CSP (no eval) would refuse.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${url}/#/signin`);
  // Page scripts as strings: this file is type-checked without the DOM library.
  await page.evaluate(`sessionStorage.setItem('keytrail.token', ${JSON.stringify(TOKEN)})`);
  const pages: [string, string][] = [
    ['overview', 'overview'],
    ['keys', 'keys'],
    ['key page', `key&key=${key}`],
    // The simulator's end users are eu_0, eu_1, …: every demo workspace has eu_1.
    ['end-user page', 'end-user&end_user=eu_1'],
    ['probes', 'probes'],
    ['alerts', 'alerts'],
    ['billing', 'billing'],
  ];
  const rows: string[][] = [];
  for (const [name, hash] of pages) {
    const [path, extra] = hash.split('&');
    const times: number[] = [];
    let requests = 0;
    let bytes = 0;
    for (let run = 0; run <= RUNS; run++) {
      // A fresh document each run: navigation start is time 0, nothing cached in the page.
      await page.goto('about:blank');
      await page.goto(`${url}/#/${path}?ws=ws_1&range=24h${extra ? `&${extra}` : ''}`, {
        waitUntil: 'commit',
      });
      await page.locator('main h1').waitFor();
      await page.waitForFunction(`
        document.querySelectorAll('[aria-busy="true"]').length === 0 &&
        ![...document.querySelectorAll('main p')].some((p) => p.textContent === 'Loading…') &&
        [...document.querySelectorAll('figure.chart')].every((f) => f.querySelector('canvas'))`);
      const measured = (await page.evaluate(`(() => {
        const api = performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.startsWith('/v1/'));
        return { ready: performance.now(), requests: api.length, bytes: api.reduce((s, e) => s + e.transferSize, 0) };
      })()`)) as { ready: number; requests: number; bytes: number };
      if (run === 0) continue; // warm-up: the engine's caches
      times.push(measured.ready);
      requests = measured.requests;
      bytes = measured.bytes;
    }
    times.sort((a, b) => a - b);
    rows.push([
      name,
      times[Math.floor(times.length / 2)]!.toFixed(0),
      times.at(-1)!.toFixed(0),
      String(requests),
      (bytes / 1024).toFixed(1),
    ]);
  }
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}; demo data (20,000 decisions, 3 workspaces), ${RUNS} runs per page after a warm-up\n`,
  );
  const head = ['page', 'ready p50 ms', 'ready max ms', 'API requests', 'API KiB'];
  console.log(markdownTable(head, rows));
} finally {
  await browser.close();
  up.kill('SIGTERM');
  await new Promise((resolve) => up.on('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
