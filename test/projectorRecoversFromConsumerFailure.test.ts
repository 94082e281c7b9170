import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  startProjector,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

describe('a projector whose consumer fails for good', () => {
  it('standalone: a failure kafkajs does not restart (at partition takeover) gets a fresh consumer, readyz 503 meanwhile, exact counts', async () => {
    await withProjectorFixture('consumer-fails', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(20_000, { seed: 31 });
      await produceDecisions(kafka, topics, events);
      // The retry-window rebuild at takeover fails three times with an error no retry fixes
      // (as "No active streaming query" did): the consumer crashes for good each time.
      server.failNext(/FROM seen_event_ids/, 3, 49, 'LOGICAL_ERROR injected by the test');
      const projector = await startProjector({
        clickhouseUrl: server.url,
        topicPrefix: prefix,
        env: { KEYTRAIL_PROJECTOR_MAX_BATCH: '2000' },
      });
      await projector.waitForOutput(/starting a fresh consumer/);
      const whileDown = await fetch(`${projector.url}/readyz`);
      expect(whileDown.status).toBe(503);
      await waitFor(
        'caught up',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        60_000,
      );
      expect(await projector.metric('keytrail_projector_consumer_restarts_total')).toBeGreaterThanOrEqual(1);
      await waitFor('ready again', async () => (await fetch(`${projector.url}/readyz`)).status === 200);
      expect(await projector.metric('keytrail_projector_consuming')).toBe(1);
      expect(await projector.terminate()).toBe(0);
      await expectExactCounts(ch, expected);
    });
  });

  it('an insert error no retry can fix fails fast with a clear line, is not retried in place, and resumes exactly once the cause is gone', async () => {
    await withProjectorFixture('insert-fatal', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(6_000, { seed: 33 });
      await produceDecisions(kafka, topics, events);
      // Two inserts answered as if a bad migration had broken the statement.
      server.failNext(/INSERT INTO auth_decisions/, 2, 62, 'Syntax error: injected by the test');
      const projector = await startProjector({
        clickhouseUrl: server.url,
        topicPrefix: prefix,
        env: { KEYTRAIL_PROJECTOR_MAX_BATCH: '2000' },
      });
      await projector.waitForOutput(/ClickHouse refused the insert and no retry can fix it/);
      await waitFor(
        'caught up',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        60_000,
      );
      // Failed fast: never retried in place as if it were transient.
      expect(await projector.metric('keytrail_projector_insert_retries_total')).toBe(0);
      expect(projector.output()).not.toMatch(/insert failed \(transient\)/);
      expect(await projector.terminate()).toBe(0);
      await expectExactCounts(ch, expected);
    });
  });
});
