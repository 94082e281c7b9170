import { join } from 'node:path';
import { createEmbeddedDriver } from '@keytrail/clickhouse';
import { sleep } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  expectExactCounts,
  freePort,
  groupLag,
  type KeytrailProcess,
  makeDecisions,
  produceDecisions,
  spawnKeytrail,
  tempDir,
  testBrokers,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

const TOTAL = 120_000;
const SESSION_TIMEOUT_MS = 6_000;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

/**
 * Freezes the process (SIGSTOP) longer than its group session while it projects, as a long GC
 * pause or a suspended VM does: the coordinator forgets the member, and kafkajs' consumer fails
 * with "The coordinator is not aware of this member", which it does not restart by itself.
 * Returns the /readyz statuses seen until the projector caught up again.
 */
async function freezeMidProjection(proc: KeytrailProcess, url: string): Promise<Set<number>> {
  await waitFor(
    'projecting',
    async () => (await metric(url, 'keytrail_projector_events_total')) >= 10_000,
    60_000,
    20,
  );
  proc.child.kill('SIGSTOP');
  await sleep(SESSION_TIMEOUT_MS + 4_000);
  proc.child.kill('SIGCONT');
  const statuses = new Set<number>();
  const deadline = Date.now() + 90_000;
  const polling = (async () => {
    while (Date.now() < deadline) {
      // No time bound here: right after SIGCONT the process first works off what piled up while
      // it was frozen. The 1 s bound with a dependency down is asserted in keytrailUpOwnsItsDataDir.
      statuses.add((await fetch(`${url}/readyz`)).status);
      if ((await metric(url, 'keytrail_projector_events_total')) >= TOTAL) return;
      await sleep(100);
    }
  })();
  await polling;
  if (Date.now() >= deadline)
    throw new Error(`not caught up 90 s after the freeze:\n${proc.output().slice(-3000)}`);
  return statuses;
}

describe('keytrail up frozen past its group session', () => {
  it('all-in-one: keytrail up frozen past its session mid-batch recovers, exact counts', async () => {
    const dataDir = tempDir('freeze-up');
    const prefix = uniquePrefix('freeze-up');
    const { kafka, topics } = await createTestKafka(prefix);
    const { events, expected } = makeDecisions(TOTAL, { seed: 32 });
    await produceDecisions(kafka, topics, events);
    const up = spawnKeytrail(['up'], {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_DATA_DIR: dataDir,
      KEYTRAIL_PORT: String(await freePort()),
      KEYTRAIL_ADMIN_TOKEN: 'kt_admin_freeze_0123456789abcdef',
      KEYTRAIL_PROJECTOR_MAX_BATCH: '2000',
      KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      KEYTRAIL_LOG_LEVEL: 'info',
    });
    const url = (await up.waitForOutput(/Keytrail is up at (http:\/\/\S+)/))[1]!;
    await freezeMidProjection(up, url);
    await waitFor(
      'caught up',
      async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      60_000,
    );
    // Recovered by kafkajs' own re-join or by a fresh consumer, whichever the pause led to.
    expect(up.output()).toMatch(/not aware of this member/);
    await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200);
    expect(await up.terminate()).toBe(0);
    const ch = createEmbeddedDriver({ path: join(dataDir, 'clickhouse') });
    try {
      await expectExactCounts(ch, expected);
    } finally {
      await ch.close();
    }
  });
});
