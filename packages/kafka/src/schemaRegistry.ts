import { randomBytes } from 'node:crypto';
import type { Logger } from '@keytrail/core';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { createIdempotentProducer } from './client.ts';
import type { BatchProducer } from './producerThread/index.ts';

/** One writer schema: the registry topic's key (fingerprint, wire bytes in hex) and its canonical JSON. */
export interface RegisteredSchema {
  key: string;
  canonical: string;
}

/** Sends registrations on a connected producer (acks from all replicas): what `register` does. */
export async function sendSchemaRegistrations(
  producer: Pick<BatchProducer, 'send'>,
  topic: string,
  schemas: readonly RegisteredSchema[],
): Promise<void> {
  if (schemas.length === 0) return;
  await producer.send({
    topic,
    acks: -1,
    messages: schemas.map((s) => ({ key: s.key, value: s.canonical })),
  });
}

export interface SchemaRegistry {
  /** Publishes schemas a producer is about to write with (idempotent: the topic is compacted by key). */
  register(schemas: readonly RegisteredSchema[]): Promise<void>;
  /**
   * The canonical JSON registered under `key`, reading the topic up to its current end first when
   * the key is not known yet; undefined when no producer registered it.
   */
  lookup(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * The schema registry DESIGN.md fixes: a compacted topic, fingerprint → writer schema. Producers
 * register before their first send; readers that meet an unknown fingerprint look it up here.
 * Reading uses a throw-away consumer group per process (kafkajs has no group-less consumer) that
 * never commits: every process reads the whole topic, which holds one record per schema version.
 */
export function createSchemaRegistry(options: {
  kafka: Kafka;
  topic: string;
  logger?: Logger;
  /** How long a lookup waits to read up to the topic's end (default 15 s). */
  lookupTimeoutMs?: number;
}): SchemaRegistry {
  const { kafka, topic } = options;
  const known = new Map<string, string>();
  let readUpTo = -1n; // highest offset read + 1 is readUpTo + 1
  let producer: Producer | undefined;
  let reader: Promise<{ consumer: Consumer; admin: Admin }> | undefined;
  const registered = new Set<string>();

  const startReader = () =>
    (reader ??= (async () => {
      const admin = kafka.admin();
      await admin.connect();
      const consumer = kafka.consumer({
        groupId: `keytrail-schema-reader-${randomBytes(6).toString('hex')}`,
        maxWaitTimeInMs: 100,
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const key = message.key?.toString('utf8');
          if (key && message.value) known.set(key, message.value.toString('utf8'));
          readUpTo = BigInt(message.offset);
        },
      });
      return { consumer, admin };
    })().catch((err: unknown) => {
      reader = undefined;
      throw err;
    }));

  return {
    async register(schemas) {
      const fresh = schemas.filter((s) => !registered.has(s.key));
      if (fresh.length === 0) return;
      producer ??= createIdempotentProducer(kafka);
      await producer.connect();
      await sendSchemaRegistrations(producer, topic, fresh);
      for (const s of fresh) {
        registered.add(s.key);
        known.set(s.key, s.canonical);
      }
    },
    async lookup(key) {
      const hit = known.get(key);
      if (hit !== undefined) return hit;
      const { admin } = await startReader();
      const [end] = await admin.fetchTopicOffsets(topic);
      const high = BigInt(end?.high ?? '0');
      const deadline = Date.now() + (options.lookupTimeoutMs ?? 15_000);
      while (readUpTo + 1n < high) {
        if (Date.now() > deadline)
          throw Object.assign(new Error(`schema registry ${topic}: not read to its end in time`), {
            retriable: true,
          });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const found = known.get(key);
      if (found === undefined) options.logger?.warn(`schema registry ${topic} has no schema ${key}`);
      return found;
    },
    async close() {
      await producer?.disconnect().catch(() => {});
      const started = await reader?.catch(() => undefined);
      await started?.consumer.disconnect().catch(() => {});
      await started?.admin.disconnect().catch(() => {});
    },
  };
}
