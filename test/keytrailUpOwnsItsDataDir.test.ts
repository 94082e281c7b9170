import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@keytrail/core';
import { processAlive } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import { freePort, spawnKeytrail, tempDir, waitFor } from './kit/index.ts';

const TOKEN = 'kt_admin_owns_data_dir_0123456789abcdef';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

function decisions(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    type: 'auth_decision',
    event_id: `0193cccc-0000-7000-8000-${(from + i).toString(16).padStart(12, '0')}`,
    workspace_id: 'ws_own',
    occurred_at: Date.UTC(2026, 10, 22, 4, 0) + (from + i) * 1_000,
    request_id: `req_${from + i}`,
    key_id: 'key_own',
    outcome: 'ALLOWED',
  }));
}

/** POSTs until a 202 (the same event ids each time: a client's safe retry); returns the refusals. */
async function sendUntilAccepted(url: string, events: unknown[]): Promise<Response[]> {
  const refusals: Response[] = [];
  for (;;) {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events }),
    }).catch(() => undefined);
    if (response?.status === 202) return refusals;
    if (response && response.status !== 503) throw new Error(`ingest answered ${response.status}`);
    if (response) refusals.push(response);
    await sleep(500);
  }
}

async function counted(url: string): Promise<number> {
  const response = await fetch(
    `${url}/v1/workspaces/ws_own/keys/key_own/usage?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&granularity=day`,
    { headers },
  );
  const body = (await response.json()) as { buckets: { total: number }[] };
  return body.buckets.reduce((n, b) => n + b.total, 0);
}

function javaProcessesUsing(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('kafka.Kafka') && line.includes(dir));
}

describe('keytrail up owns its data directory and its managed broker', () => {
  it('refuses a second start, restarts a killed broker with exact counts, and answers /readyz within 1 s throughout', async () => {
    const dataDir = tempDir('owns');
    const env = { KEYTRAIL_DATA_DIR: dataDir, KEYTRAIL_ADMIN_TOKEN: TOKEN, KEYTRAIL_LOG_LEVEL: 'info' };
    delete process.env.KEYTRAIL_KAFKA_BROKERS;
    const first = spawnKeytrail(['up'], { ...env, KEYTRAIL_PORT: String(await freePort()) });
    const url = (await first.waitForOutput(/Keytrail is up at (http:\/\/\S+)/))[1]!;
    const brokerPid = () => Number(readFileSync(join(dataDir, 'kafka', 'broker.pid'), 'utf8').split(' ')[0]);
    const originalBroker = brokerPid();

    // A second start on the same directory is refused at once and touches nothing.
    const second = spawnKeytrail(['up'], { ...env, KEYTRAIL_PORT: String(await freePort()) });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(
      new RegExp(`in use by keytrail up \\(pid ${first.child.pid}, ${url.replace(/\./g, '\\.')}`),
    );
    expect(second.output()).not.toMatch(/Stopping a stale Kafka broker/);
    expect(processAlive(originalBroker)).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await sendUntilAccepted(url, decisions(0, 500));
    await waitFor('first 500 counted', async () => (await counted(url)) === 500, 60_000);

    // The managed broker dies under a running keytrail up.
    process.kill(originalBroker, 'SIGKILL');
    const statuses: number[] = [];
    const probing = (async () => {
      for (let i = 0; i < 40; i++) {
        const started = Date.now();
        const response = await fetch(`${url}/readyz`);
        expect(Date.now() - started, '/readyz within 1 s').toBeLessThan(1_000);
        statuses.push(response.status);
        await sleep(250);
      }
    })();
    const refusals = await sendUntilAccepted(url, decisions(500, 500));
    await probing;
    expect(statuses).toContain(503);
    // While the broker was away ingest said so: 503 with Retry-After and the error shape.
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refusals[0]!.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
    await first.waitForOutput(/managed Kafka broker running again/, 60_000);
    expect(brokerPid()).not.toBe(originalBroker);
    await waitFor('all 1,000 counted exactly', async () => (await counted(url)) === 1_000, 90_000);
    await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200);
    // Connection errors while the broker was down: a few lines with counts, not one per attempt.
    const refusedLines = first
      .output()
      .split('\n')
      .filter((l) => /ECONNREFUSED|Connection error/.test(l));
    expect(refusedLines.length, refusedLines.slice(0, 5).join('\n')).toBeLessThanOrEqual(20);
    console.log(`ingest refused ${refusals.length} times; /readyz statuses: ${statuses.join(' ')}`);

    // Ctrl-C stops everything it started, the restarted broker included.
    expect(await first.terminate('SIGINT')).toBe(0);
    expect(javaProcessesUsing(dataDir)).toEqual([]);
  });
});
