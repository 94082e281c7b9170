import { countAuthDecisions, createHttpDriver, migrate } from '@keytrail/clickhouse';
import { createKafka, createLocalBroker, ensureTopics, topicNames } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  spawnKeytrail,
  startChdbHttpServer,
  startProjector,
  tempDir,
  uniquePrefix,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

describe('the projector waits out outages without losing or doubling anything', () => {
  it('ClickHouse unreachable: pauses, retries, commits nothing, reports not ready, then resumes', async () => {
    await withProjectorFixture('ch-outage', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(30_000, { seed: 5 });
      const projector = await startProjector({
        clickhouseUrl: server.url,
        topicPrefix: prefix,
        env: { KEYTRAIL_PROJECTOR_MAX_BATCH: '2000' },
      });
      await waitFor('ready', async () => (await readyStatus(projector.url)) === 200);
      await produceDecisions(kafka, topics, events.slice(0, 10_000));
      await waitFor(
        'first part committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );

      await server.stop();
      await produceDecisions(kafka, topics, events.slice(10_000));
      await waitFor(
        'not ready while ClickHouse is away',
        async () => (await readyStatus(projector.url)) === 503,
      );
      await waitFor(
        'retrying the insert',
        async () => (await projector.metric('keytrail_projector_insert_retries_total')) >= 2,
      );
      // Nothing was committed past what ClickHouse holds.
      expect(await groupLag(kafka, `${prefix}projector`, topics.authDecisions)).toBe(20_000);
      expect(projector.child.exitCode).toBeNull();

      await server.start();
      await waitFor(
        'everything committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        60_000,
      );
      await waitFor('ready again', async () => (await readyStatus(projector.url)) === 200);
      await projector.terminate();
      await expectExactCounts(ch, expected);
    });
  });

  it('broker restart: reconnects to the restarted broker and counts everything once', async () => {
    const broker = createLocalBroker({ dataDir: tempDir('outage-broker') });
    await broker.start();
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('broker-outage');
    const kafka = createKafka({ brokers: broker.brokers, clientId: 'outage-test' });
    const topics = topicNames(prefix);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topics, { partitions: 3, replicationFactor: 1 });
    await admin.disconnect();
    const projector = spawnKeytrail(['projector'], {
      KEYTRAIL_KAFKA_BROKERS: broker.brokers.join(','),
      KEYTRAIL_CLICKHOUSE_URL: server.url,
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_PORT: '0',
      KEYTRAIL_PROJECTOR_MAX_BATCH: '2000',
    });
    try {
      await migrate(ch);
      const { events, expected } = makeDecisions(20_000, { seed: 6 });
      await produceDecisions(kafka, topics, events.slice(0, 8_000));
      await waitFor('first part projected', async () => (await countAuthDecisions(ch)) === 8_000, 60_000);

      await broker.stop();
      await new Promise((r) => setTimeout(r, 10_000));
      await broker.start();
      await produceDecisions(kafka, topics, events.slice(8_000));
      await waitFor(
        'everything committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        120_000,
        250,
      );
      expect(projector.child.exitCode).toBeNull();
      await projector.terminate();
      await expectExactCounts(ch, expected);
    } finally {
      await projector.terminate();
      await ch.close();
      await server.close();
      await broker.stop();
    }
  });
});
