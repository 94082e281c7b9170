import { createHttpDriver, migrate } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  expectExactCounts,
  groupLag,
  makeDecisions,
  produceDecisions,
  startChdbHttpServer,
  startProjector,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

describe('a projector whose consumer fails for good', () => {
  it('standalone: a failure kafkajs does not restart (at partition takeover) gets a fresh consumer, readyz 503 meanwhile, exact counts', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('consumer-fails');
    const { kafka, topics } = await createTestKafka(prefix);
    try {
      await migrate(ch);
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
    } finally {
      await ch.close();
      await server.close();
    }
  });
});
