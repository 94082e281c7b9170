import { countAuthDecisions, createHttpDriver, migrate } from '@keytrail/clickhouse';
import { createEventCodec } from '@keytrail/events';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  groupLag,
  makeDecisions,
  readDeadLetters,
  startChdbHttpServer,
  startProjector,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

describe('poison messages go to the DLQ and the partition keeps moving', () => {
  it('dead-letters undecodable, unknown-schema and invalid events with their bytes and reasons', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('dlq');
    // One partition: the poison sits between good messages in the same log.
    const { kafka, topics } = await createTestKafka(prefix, 1);
    const codec = createEventCodec();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await migrate(ch);
      const { events } = makeDecisions(30);
      const good = events.map((e) => codec.encode('auth_decision', e));
      const unknownFingerprint = Buffer.from(good[0]!);
      unknownFingerprint.writeBigUInt64LE(0xdeadbeefn, 2);
      const invalid = codec.encode('auth_decision', {
        ...events[1]!,
        event_id: '01936b2e-1f00-7000-8000-00000000dead',
        workspace_id: '',
        latency_ms: -5,
      });
      // A newer writer's schema the projector has never seen (an enum symbol added).
      const newerSchema = structuredClone(codec.reader('auth_decision').schema) as {
        fields: { name: string; type: { symbols?: string[] } }[];
      };
      newerSchema.fields.find((f) => f.name === 'outcome')!.type.symbols!.push('IP_BLOCKED');
      const newer = createEventCodec({
        readers: { auth_decision: { version: 2, schema: newerSchema as never } },
      });
      const unknownSymbol = newer.encode('auth_decision', {
        ...events[2]!,
        event_id: '01936b2e-1f00-7000-8000-00000000beef',
        outcome: 'IP_BLOCKED' as never,
      });
      const poison = [
        { key: 'p1', value: Buffer.from('{"not":"avro"}'), reason: 'BAD_MAGIC' },
        { key: 'p2', value: unknownFingerprint, reason: 'UNKNOWN_FINGERPRINT' },
        { key: 'p3', value: invalid, reason: 'INVALID_EVENT' },
        { key: 'p4', value: good[3]!.subarray(0, 15), reason: 'BAD_BODY' },
        { key: 'p5', value: unknownSymbol, reason: 'UNKNOWN_FINGERPRINT' },
      ];
      await producer.connect();
      await producer.send({
        topic: topics.authDecisions,
        messages: [
          ...good.slice(0, 10).map((value) => ({ key: 'g', value })),
          ...poison.map(({ key, value }) => ({ key, value, headers: { 'x-origin': 'test' } })),
          ...good.slice(10).map((value) => ({ key: 'g', value })),
        ],
      });

      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'partition past the poison',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );
      expect(await countAuthDecisions(ch)).toBe(30);

      const letters = await readDeadLetters(kafka, topics.dlq, 5);

      expect(letters.map((l) => l.key)).toEqual(poison.map((p) => p.key));
      letters.forEach((letter, i) => {
        expect(letter.value.equals(poison[i]!.value), `bytes of ${letter.key}`).toBe(true);
        expect(letter.headers).toMatchObject({
          'keytrail-dlq-reason': poison[i]!.reason,
          'keytrail-original-topic': topics.authDecisions,
          'keytrail-original-partition': '0',
          'keytrail-original-offset': String(10 + i),
          'x-origin': 'test',
        });
      });
      expect(letters[2]!.headers['keytrail-dlq-detail']).toMatch(/workspace_id.*latency_ms/);
      for (const reason of ['BAD_MAGIC', 'INVALID_EVENT', 'BAD_BODY']) {
        expect(await projector.metric('keytrail_projector_dlq_total', { reason })).toBe(1);
      }
      expect(await projector.metric('keytrail_projector_dlq_total', { reason: 'UNKNOWN_FINGERPRINT' })).toBe(
        2,
      );
      await projector.terminate();
    } finally {
      await producer.disconnect();
      await ch.close();
      await server.close();
    }
  });
});
