import { createHttpDriver, migrate } from '@keytrail/clickhouse';
import { type AuthDecision, createEventCodec } from '@keytrail/events';
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

/**
 * The projector passes auth-decision bodies to ClickHouse as one Avro container per batch, and
 * decodes in JS only what its gate is unsure of. One batch here mixes every kind of record the
 * two paths must agree on: plain ones (passed through), valid ones the gate leaves to the general
 * path (a non-ASCII id), client retries (the same id twice, once with other contents), and
 * records that must be dead-lettered (invalid, cut short), with their bytes and headers.
 */
describe('one container per batch: valid, unusual, repeated and invalid records together', () => {
  it('stores each valid event once, exactly, and dead-letters the rest with their reasons', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('bodies');
    const { kafka, topics } = await createTestKafka(prefix, 1);
    const codec = createEventCodec();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await migrate(ch);
      const { events } = makeDecisions(40);
      const encode = (event: AuthDecision) => codec.encode('auth_decision', event);
      const unusual: AuthDecision = {
        ...events[0]!,
        event_id: '01936b2e-1f00-7000-8000-0000000000e1',
        workspace_id: 'ws_ünïcode',
        request_id: 'req_ü',
      };
      const invalid = encode({
        ...events[1]!,
        event_id: '01936b2e-1f00-7000-8000-00000000dead',
        latency_ms: -5,
      });
      const refusalWith200 = encode({
        ...events[2]!,
        event_id: '01936b2e-1f00-7000-8000-00000000dea2',
        outcome: 'INVALID_KEY',
        http_status: 200,
      });
      const cutShort = encode(events[3]!).subarray(0, 40);
      // Sent in this order, in one request: one batch, one container.
      const messages = [
        ...events.slice(0, 20).map((e) => ({ key: 'g', value: encode(e) })),
        { key: 'u', value: encode(unusual) },
        { key: 'x1', value: invalid, headers: { 'x-origin': 'test' } },
        { key: 'r1', value: encode(events[5]!) }, // a retry: same bytes
        { key: 'x2', value: refusalWith200, headers: { 'x-origin': 'test' } },
        { key: 'r2', value: encode({ ...events[6]!, latency_ms: 999 }) }, // same id, other contents
        { key: 'x3', value: cutShort, headers: { 'x-origin': 'test' } },
        ...events.slice(20).map((e) => ({ key: 'g', value: encode(e) })),
      ];
      await producer.connect();
      await producer.send({ topic: topics.authDecisions, messages });

      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'partition past the batch',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
      );

      // Every valid event once, with its own contents and position (the first copy of a retry).
      const stored = await ch.query<{
        event_id: string;
        workspace_id: string;
        request_id: string;
        latency_ms: number | null;
        cost: number;
        kafka_offset: number;
      }>(
        `SELECT toString(event_id) AS event_id, workspace_id, request_id, latency_ms, cost, kafka_offset
         FROM auth_decisions ORDER BY kafka_offset`,
      );
      const expected = [...events.slice(0, 20), unusual, ...events.slice(20)];
      expect(stored.map((r) => r.event_id)).toEqual(expected.map((e) => e.event_id));
      const offsetOf = (event: AuthDecision) => messages.findIndex((m) => m.value.equals(encode(event)));
      stored.forEach((row, i) => {
        const event = expected[i]!;
        expect(row).toEqual({
          event_id: event.event_id,
          workspace_id: event.workspace_id,
          request_id: event.request_id,
          latency_ms: event.latency_ms,
          cost: event.cost,
          kafka_offset: offsetOf(event),
        });
      });
      expect(stored.find((r) => r.event_id === events[6]!.event_id)?.latency_ms).toBe(events[6]!.latency_ms);
      // The rollups saw the same events once each.
      const [usage] = await ch.query<{ requests: number }>(
        'SELECT sum(requests) AS requests FROM key_usage_minute',
      );
      expect(usage?.requests).toBe(expected.length);
      expect(
        await projector.metric('keytrail_projector_dedup_dropped_total', { topic: topics.authDecisions }),
      ).toBe(2);
      // Only the unusual record and the three bad ones were decoded in JS; 42 went on as written.
      expect(
        await projector.metric('keytrail_projector_decoded_in_js_total', { topic: topics.authDecisions }),
      ).toBe(4);

      const letters = await readDeadLetters(kafka, topics.dlq, 3);
      expect(letters.map((l) => l.key)).toEqual(['x1', 'x2', 'x3']);
      const reasons = ['INVALID_EVENT', 'INVALID_EVENT', 'BAD_BODY'];
      letters.forEach((letter, i) => {
        const original = messages.findIndex((m) => m.key === letter.key);
        expect(letter.value.equals(messages[original]!.value)).toBe(true);
        expect(letter.headers).toMatchObject({
          'keytrail-dlq-reason': reasons[i],
          'keytrail-original-offset': String(original),
          'x-origin': 'test',
        });
      });
      expect(letters[0]!.headers['keytrail-dlq-detail']).toMatch(/latency_ms/);
      expect(letters[1]!.headers['keytrail-dlq-detail']).toMatch(/http_status/);
      await projector.terminate();
    } finally {
      await producer.disconnect();
      await ch.close();
      await server.close();
    }
  });
});
