import type { KafkaCompression } from '@keytrail/core';
import { authDecisionKey, createEventCodec } from '@keytrail/events';
import { createIdempotentProducer } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  makeDecisions,
  startProjector,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

// Every codec Kafka knows, producer-side, and zstd written by the broker itself (a topic's
// compression.type: the Java client's frames, which do not say their size), read end to end by
// a real `keytrail projector` into ClickHouse with exact counts.
describe('compressed record batches', () => {
  it('gzip, snappy, LZ4 and zstd from producers, and zstd from the broker, are projected exactly', async () => {
    await withProjectorFixture('compression', async ({ server, ch, prefix, kafka, topics }) => {
      const { events, expected } = makeDecisions(10_000);
      const codec = createEventCodec();
      const codecs: KafkaCompression[] = ['gzip', 'snappy', 'lz4', 'zstd'];
      const share = Math.ceil(events.length / (codecs.length + 1));
      /** Sends `part` on a producer of its own that compresses with `compression`, 500 a batch. */
      const send = async (compression: KafkaCompression, part: typeof events) => {
        const producer = createIdempotentProducer(kafka, {}, compression);
        await producer.connect();
        for (let j = 0; j < part.length; j += 500)
          await producer.send({
            topic: topics.authDecisions,
            acks: -1,
            messages: part
              .slice(j, j + 500)
              .map((e) => ({ key: authDecisionKey(e), value: codec.encode('auth_decision', e) })),
          });
        await producer.disconnect();
      };
      for (const [i, compression] of codecs.entries())
        await send(compression, events.slice(i * share, (i + 1) * share));
      // The last part uncompressed from the producer, compressed by the broker.
      const admin = kafka.admin();
      await admin.connect();
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: 2,
            name: topics.authDecisions,
            configEntries: [{ name: 'compression.type', value: 'zstd' }],
          },
        ],
      });
      // KRaft applies a config change asynchronously (Kafka 4.1 answered the old value right
      // after alterConfigs once): wait until the broker says zstd before producing.
      await waitFor('the topic compressed by the broker', async () => {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2, name: topics.authDecisions, configNames: ['compression.type'] }],
        });
        return described.resources[0]!.configEntries[0]!.configValue === 'zstd';
      });
      await admin.disconnect();
      await send('none', events.slice(codecs.length * share));

      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'every batch projected',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        60_000,
      );
      expect(await projector.metric('keytrail_projector_dlq_total')).toBe(0);
      await projector.terminate();
      await expectExactCounts(ch, expected);
    });
  });
});
