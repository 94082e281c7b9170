import { describe, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  startProjector,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

describe('a client retry (same event_id, a separate Kafka message) is counted once', () => {
  it('within a run, and after a restart rebuilt the window from ClickHouse', async () => {
    await withProjectorFixture('retries', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, retries, expected } = makeDecisions(20_000, { retries: 500 });
      // Originals, then retries of some of them, one of each again inside one send.
      await produceDecisions(kafka, topics, [...events, ...retries.slice(0, 250), ...retries.slice(0, 10)]);
      const first = await startProjector({
        clickhouseUrl: server.url,
        topicPrefix: prefix,
        env: { KEYTRAIL_PROJECTOR_MAX_BATCH: '3000' },
      });
      await waitFor(
        'first pass committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );
      const dropped = await first.metric('keytrail_projector_dedup_dropped_total');
      if (dropped !== 260) throw new Error(`expected 260 retries dropped, metrics say ${dropped}`);
      // The other metrics the projector promises are there and moving.
      const text = await (await fetch(`${first.url}/metrics`)).text();
      for (const name of [
        'keytrail_projector_lag',
        'keytrail_projector_batch_size_count',
        'keytrail_projector_insert_seconds_count',
        'keytrail_projector_events_per_second',
        'keytrail_projector_dlq_total',
      ]) {
        if (!text.includes(name)) throw new Error(`/metrics lacks ${name}`);
      }
      if ((await first.metric('keytrail_projector_events_per_second')) <= 0)
        throw new Error('events_per_second stayed 0');
      await first.terminate();

      // A new process knows nothing in memory: the window comes back from ClickHouse.
      await produceDecisions(kafka, topics, retries.slice(250));
      const second = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'second pass committed',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );
      await second.terminate();
      await expectExactCounts(ch, expected);
    });
  });
});
