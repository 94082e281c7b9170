import { countAuthDecisions } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  spawnKeytrail,
  startProjector,
  testBrokers,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

describe('keytrail replay', () => {
  it('rebuilds every projection into fresh tables while the current ones serve, then switches over with equal counts', async () => {
    await withProjectorFixture('replay', async ({ server, ch, prefix, kafka, topics }) => {
      const all = makeDecisions(60_000, { seed: 13, retries: 300 });
      const firstPart = all.events.slice(0, 40_000);
      await produceDecisions(kafka, topics, [
        ...firstPart,
        ...all.retries.filter((r) => firstPart.includes(r)),
      ]);
      const projector = await startProjector({
        clickhouseUrl: server.url,
        topicPrefix: prefix,
        env: { KEYTRAIL_PROJECTOR_MAX_BATCH: '5000' },
      });
      await waitFor(
        'live projector caught up',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );
      const before = await countAuthDecisions(ch);
      expect(before).toBe(40_000);

      const replay = spawnKeytrail(['replay'], {
        KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
        KEYTRAIL_CLICKHOUSE_URL: server.url,
        KEYTRAIL_TOPIC_PREFIX: prefix,
        KEYTRAIL_PROJECTOR_MAX_BATCH: '5000',
      });
      // More traffic while the replay runs: the live projector writes it to the current tables.
      await produceDecisions(kafka, topics, all.events.slice(40_000, 50_000));
      await replay.waitForOutput(/waiting for the projectors to stop/);
      // The current tables kept serving throughout.
      await waitFor(
        'live projector has the new traffic',
        async () => (await countAuthDecisions(ch)) === 50_000,
      );
      await projector.terminate();

      expect(await replay.exited, replay.output()).toBe(0);
      expect(replay.output()).toMatch(/rebuild: 100% \(\d[\d,]* of \d[\d,]* messages/);
      expect(replay.output()).toMatch(
        /replay done: 50000 events projected, \d+ retries dropped, 0 dead letters; switched \d+ tables/,
      );
      // After the switch the fresh tables hold exactly the first 50,000 events, retries once
      // (events depend only on their index and seed, so a shorter run gives their expectations).
      await expectExactCounts(ch, makeDecisions(50_000, { seed: 13 }).expected);

      // Restarted projectors go on from where the replay ended: nothing twice, nothing lost.
      await produceDecisions(kafka, topics, all.events.slice(50_000));
      const after = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'projector after replay caught up',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );
      await after.terminate();
      await expectExactCounts(ch, all.expected);
    });
  });
});
