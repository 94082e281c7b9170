import { countAuthDecisions, createHttpDriver, migrate } from '@keytrail/clickhouse';
import {
  authDecisionKey,
  createEventCodec,
  fingerprintKey,
  fingerprintOf,
  listSchemaFiles,
  writerRegistrations,
} from '@keytrail/events';
import { createSchemaRegistry } from '@keytrail/kafka';
import type avro from 'avsc';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  freePort,
  groupLag,
  makeDecisions,
  readTopic,
  spawnKeytrail,
  startChdbHttpServer,
  startProjector,
  testBrokers,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

/** auth_decision v2: an added field with a default, an added KeyType and an added Outcome symbol. */
function authDecisionV2(): avro.Schema {
  const schema = structuredClone(
    listSchemaFiles().find((f) => f.kind === 'auth_decision' && f.version === 1)!.schema,
  ) as { fields: { name: string; type: unknown }[] };
  schema.fields.push({ name: 'tls_version', type: ['null', 'string'], default: null } as never);
  (schema.fields.find((f) => f.name === 'key_type')!.type as { symbols: string[] }).symbols.push(
    'SERVICE_ACCOUNT',
  );
  (schema.fields.find((f) => f.name === 'outcome')!.type as { symbols: string[] }).symbols.push('IP_BLOCKED');
  return schema as avro.Schema;
}

describe('schema evolution through the keytrail.schemas registry', () => {
  it('a v2 producer, registered, is projected by a v1 projector; an unregistered writer still dead-letters', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('registry');
    const { kafka, topics } = await createTestKafka(prefix);
    const registry = createSchemaRegistry({ kafka, topic: topics.schemas });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await migrate(ch);
      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      // The projector is running v1 when the v2 producer appears: it registers, then sends.
      const v2 = createEventCodec({ readers: { auth_decision: { version: 2, schema: authDecisionV2() } } });
      await registry.register(writerRegistrations(v2));
      const { events } = makeDecisions(1_000, { seed: 51 });
      const v2Events = events.map((e, i) => ({
        ...e,
        tls_version: 'TLSv1.3',
        key_type: i % 10 === 0 ? 'SERVICE_ACCOUNT' : e.key_type,
        outcome: i % 100 === 1 ? 'IP_BLOCKED' : e.outcome,
      }));
      // A v3 writer nobody registered.
      const v3Schema = authDecisionV2() as { fields: unknown[] };
      v3Schema.fields.push({ name: 'ja3', type: ['null', 'string'], default: null });
      const v3 = createEventCodec({ readers: { auth_decision: { version: 3, schema: v3Schema as never } } });
      await producer.connect();
      await producer.send({
        topic: topics.authDecisions,
        acks: -1,
        messages: [
          ...v2Events.map((e, i) => ({
            key: authDecisionKey(events[i]!),
            value: v2.encode('auth_decision', e as never),
          })),
          ...events.slice(0, 5).map((e) => ({
            key: authDecisionKey(e),
            value: v3.encode('auth_decision', {
              ...e,
              event_id: e.event_id.replace('0193', '0194'),
            } as never),
          })),
        ],
      });
      await waitFor(
        'projected',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) === 0,
        60_000,
      );
      // Every v2 record projected, except those with an Outcome the v1 reader has no symbol
      // for (no enum default): counted as UNRESOLVABLE dead letters, not dropped silently.
      expect(await countAuthDecisions(ch)).toBe(990);
      expect(await projector.metric('keytrail_projector_dlq_total', { reason: 'UNRESOLVABLE' })).toBe(10);
      expect(await projector.metric('keytrail_projector_dlq_total', { reason: 'UNKNOWN_FINGERPRINT' })).toBe(
        5,
      );
      // The KeyType symbol v1 lacks became the enum's default, as Avro's resolution rules say.
      const [unknownKeyType] = await ch.query<{ n: number }>(
        "SELECT count() AS n FROM auth_decisions WHERE key_type = 'UNKNOWN'",
      );
      expect(unknownKeyType!.n).toBe(events.filter((_, i) => i % 10 === 0 && i % 100 !== 1).length);
      expect(await projector.terminate()).toBe(0);
    } finally {
      await producer.disconnect();
      await registry.close();
      await ch.close();
      await server.close();
    }
  });

  it('what keytrail ingest (v1) writes is read by a v2 reader that learns v1 from the registry', async () => {
    const prefix = uniquePrefix('registry-v1');
    const { kafka, topics } = await createTestKafka(prefix);
    const token = 'kt_admin_registry_0123456789abcdef';
    const ingest = spawnKeytrail(['ingest'], {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_PORT: String(await freePort()),
      KEYTRAIL_ADMIN_TOKEN: token,
      KEYTRAIL_LOG_LEVEL: 'info',
    });
    const url = (await ingest.waitForOutput(/keytrail ingest running at (http:\/\/[^"\s]+)/))[1]!;
    const registry = createSchemaRegistry({ kafka, topic: topics.schemas });
    try {
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: Array.from({ length: 20 }, (_, i) => ({
            type: 'auth_decision',
            workspace_id: 'ws_1',
            occurred_at: '2026-11-22T04:00:00Z',
            request_id: `req_${i}`,
            key_id: 'key_1',
            outcome: 'ALLOWED',
          })),
        }),
      });
      expect(response.status).toBe(202);
      // A v2-only reader: it ships no v1 schema and learns it from the registry ingest wrote to.
      const v2Reader = createEventCodec({
        writers: [{ kind: 'auth_decision', version: 2, schema: authDecisionV2() }],
      });
      const messages = await readTopic(kafka, topics.authDecisions, 20);
      for (const message of messages) {
        const fingerprint = fingerprintOf(message.value!)!;
        if (v2Reader.knows(fingerprint)) continue;
        const canonical = await registry.lookup(fingerprintKey(fingerprint));
        expect(canonical, 'ingest registered its writer schema').toBeDefined();
        v2Reader.registerCanonical(canonical!);
      }
      const decoded = messages.map(
        (m) => v2Reader.decode(m.value!).event as unknown as Record<string, unknown>,
      );
      expect(decoded.map((e) => e.request_id).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `req_${i}`).sort(),
      );
      expect(decoded.every((e) => e.tls_version === null && e.outcome === 'ALLOWED')).toBe(true);
    } finally {
      await registry.close();
      await ingest.terminate();
    }
  });
});
