import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbeddedDriver } from '@keytrail/clickhouse';
import { sleep } from '@keytrail/core';
import { createRandom } from '@keytrail/simulator';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  freePort,
  type KeytrailProcess,
  makeDecisions,
  spawnKeytrail,
  tempDir,
  testBrokers,
  testSeed,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

const TOKEN = 'kt_admin_kills_ingest_0123456789abcdef';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const TOTAL = 30_000;
const BATCH = 500;
const KILLS = 3;
// The race this hunts failed two runs in five: the scenario repeats (KEYTRAIL_FAULT_RUNS; CI runs it
// twice in `npm test` and once more on Kafka 4.x, keeping the whole suite inside its 15 minutes).
const RUNS = Number(process.env.KEYTRAIL_FAULT_RUNS ?? 2);

/** Sum of every key's day totals in ws_a and ws_b, through the API. */
async function countedThroughApi(url: string): Promise<number> {
  let total = 0;
  for (const ws of ['ws_a', 'ws_b'])
    for (let key = 0; key < 8; key++) {
      const response = await fetch(
        `${url}/v1/workspaces/${ws}/keys/key_${key}/usage?from=2026-11-19T00:00:00Z&to=2026-11-24T00:00:00Z&granularity=day`,
        { headers },
      );
      if (response.status !== 200) throw new Error(`usage answered ${response.status}`);
      const body = (await response.json()) as { buckets: { total: number }[] };
      total += body.buckets.reduce((n, b) => n + b.total, 0);
    }
  return total;
}

describe('keytrail up SIGKILLed while ingest batches are in flight', () => {
  it.each(Array.from({ length: RUNS }, (_, i) => i + 1))(
    'run %i: every batch re-sent until 202, /readyz and the API answering throughout, every count exact',
    async (run) => {
      const random = createRandom(testSeed(`kills during ingest, run ${run}`) + run);
      const dataDir = tempDir('kills-ingest');
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = {
        KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
        KEYTRAIL_TOPIC_PREFIX: uniquePrefix('kills-ingest'),
        KEYTRAIL_DATA_DIR: dataDir,
        KEYTRAIL_PORT: String(port),
        KEYTRAIL_ADMIN_TOKEN: TOKEN,
        KEYTRAIL_PROJECTOR_MAX_BATCH: '2000',
        KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      };
      const { events, expected } = makeDecisions(TOTAL, { seed: 40 + run });
      // Each process's log (debug: one line per batch insert, with its token and kept rows) stays
      // in the data folder, so a failed count can be traced to the batch that caused it.
      let starts = 0;
      const start = async () => {
        const proc = spawnKeytrail(['up'], { ...env, KEYTRAIL_LOG_LEVEL: 'debug' });
        const log = join(dataDir, `keytrail-${starts++}.log`);
        proc.child.once('exit', () => writeFileSync(log, proc.output()));
        await proc.waitForOutput(/Keytrail is up at/);
        return proc;
      };
      let current: KeytrailProcess = await start();
      let sending = true;
      const unexpected: string[] = [];

      // Probes and queries throughout: each answers (or the process is down), never with a 5xx but 503.
      const observe = async (path: string, ok: number[]) => {
        while (sending) {
          const response = await fetch(`${url}${path}`, { headers }).catch(() => undefined);
          if (response && !ok.includes(response.status)) unexpected.push(`${path} → ${response.status}`);
          await sleep(200);
        }
      };
      const observers = Promise.all([
        observe('/readyz', [200, 503]),
        observe(
          '/v1/workspaces/ws_a/keys/key_1/usage?from=2026-11-19T00:00:00Z&to=2026-11-24T00:00:00Z&granularity=hour',
          [200, 503],
        ),
      ]);

      // The client: each batch is re-sent, with the same event ids, until it gets a 202.
      let resent = 0;
      const client = (async () => {
        for (let i = 0; i < TOTAL; i += BATCH) {
          const body = JSON.stringify({
            events: events.slice(i, i + BATCH).map((e) => ({ type: 'auth_decision', ...e })),
          });
          for (;;) {
            const response = await fetch(`${url}/v1/events`, { method: 'POST', headers, body }).catch(
              () => undefined,
            );
            if (response?.status === 202) break;
            if (response && response.status !== 503) unexpected.push(`/v1/events → ${response.status}`);
            resent++;
            await sleep(200);
          }
        }
      })();

      // The killer: SIGKILL at random moments while batches are in flight, restart on the same data.
      for (let k = 0; k < KILLS; k++) {
        await sleep(random.int(300, 2_500));
        current.child.kill('SIGKILL');
        await current.exited;
        current = await start();
      }
      await client;
      await waitFor(
        'every event counted through the API',
        async () => (await countedThroughApi(url)) === TOTAL,
        120_000,
        500,
      );
      sending = false;
      await observers;
      expect(unexpected).toEqual([]);
      expect(await current.terminate()).toBe(0);
      console.log(`run ${run}: ${KILLS} kills, ${resent} batch sends without a 202`);

      const ch = createEmbeddedDriver({ path: join(dataDir, 'clickhouse') });
      try {
        await expectExactCounts(ch, expected);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${insertsRedoneWithOtherRows(dataDir)}`, { cause: err });
      } finally {
        await ch.close();
      }
    },
  );
});

/**
 * What the logs of a failed run say about its inserts: a token inserted again with other rows
 * would leave the tables that took the first attempt apart from those that took the redo.
 */
function insertsRedoneWithOtherRows(dataDir: string): string {
  // token → "kept/dropped" of each attempt → the logs it was seen in
  const byToken = new Map<string, Map<string, string[]>>();
  for (const file of readdirSync(dataDir).filter((f) => f.startsWith('keytrail-') && f.endsWith('.log')))
    for (const line of readFileSync(join(dataDir, file), 'utf8').split('\n')) {
      if (!line.includes('"inserting batch"')) continue;
      let entry: { token: string; kept: number; dropped: number };
      try {
        entry = JSON.parse(line);
      } catch {
        continue; // the last line of a process killed while it wrote
      }
      const attempts = byToken.get(entry.token) ?? new Map<string, string[]>();
      const rows = `kept ${entry.kept}, dropped ${entry.dropped}`;
      attempts.set(rows, [...(attempts.get(rows) ?? []), file]);
      byToken.set(entry.token, attempts);
    }
  const differing = [...byToken].filter(([, attempts]) => attempts.size > 1);
  return `Logs in ${dataDir}: ${byToken.size} batches; ${
    differing.length === 0
      ? 'no token was inserted twice with other rows'
      : differing
          .map(
            ([token, attempts]) =>
              `${token}: ${[...attempts].map(([rows, files]) => `${rows} in ${files.join(', ')}`).join(' / ')}`,
          )
          .join('; ')
  }`;
}
