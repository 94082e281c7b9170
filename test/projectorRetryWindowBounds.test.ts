import { countAuthDecisions } from '@keytrail/clickhouse';
import { createLogger } from '@keytrail/core';
import { authDecisionKey, createEventCodec } from '@keytrail/events';
import { createIdempotentProducer } from '@keytrail/kafka';
import { createProjector, projectorGroupId } from '@keytrail/projector';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { groupLag, makeDecisions, waitFor, withProjectorFixture } from './kit/index.ts';

const HOUR = 3_600_000;

describe('the retry window', () => {
  it('counts a retry once inside the window (by Kafka time), twice past it or past the id cap', async () => {
    await withProjectorFixture(
      'window',
      async ({ ch, prefix, kafka, topics }) => {
        const codec = createEventCodec();
        const { events } = makeDecisions(300, { seed: 61 });
        const base = Date.now() - 10 * HOUR;
        const message = (i: number, at: number) => ({
          key: authDecisionKey(events[i]!),
          value: codec.encode('auth_decision', events[i]!),
          timestamp: String(at), // the Kafka time the window is judged by
        });
        const producer = createIdempotentProducer(kafka);
        await producer.connect();
        await producer.send({
          topic: topics.authDecisions,
          acks: -1,
          messages: [
            ...events.map((_, i) => message(i, base + i)),
            message(299, base + 30 * 60_000), // inside the 1 h window: counted once
            message(298, base + 2 * HOUR), // past the window: counted again
            message(0, base + 31 * 60_000), // inside the window, but past the id cap: counted again
          ],
        });
        await producer.disconnect();
        const projector = createProjector({
          kafka,
          ch,
          codec,
          topics,
          logger: createLogger('window-test', 'warn'),
          metrics: new Registry(),
          groupId: projectorGroupId(prefix),
          dedupWindowHours: 1,
          dedupMaxIdsPerPartition: 100,
          maxBatchEvents: 100, // the retries come in a later batch, after the cap has forgotten 0–199
        });
        await projector.start();
        try {
          await waitFor(
            'projected',
            async () => (await groupLag(kafka, projectorGroupId(prefix), topics.authDecisions)) === 0,
            60_000,
          );
        } finally {
          await projector.stop();
        }
        // All three retries share their originals' partition, one partition for the test.
        expect(await countAuthDecisions(ch)).toBe(300 + 2);
      },
      { partitions: 1 },
    );
  });
});
