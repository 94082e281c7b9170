import { createProducerThread } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import { createTestKafka, readTopic, uniquePrefix } from './kit/index.ts';

describe('the producer thread', () => {
  it('delivers every message once, in order per key, and starts again after a disconnect', async () => {
    const prefix = uniquePrefix('producer-thread');
    const { kafka, topics } = await createTestKafka(prefix);
    const sent: { key: string; value: number }[] = [];
    const batchOf = (from: number, size: number) =>
      Array.from({ length: size }, (_, i) => {
        const message = { key: `key_${(from + i) % 7}`, value: from + i };
        sent.push(message);
        return { key: message.key, value: Buffer.from(String(message.value)) };
      });

    const producer = createProducerThread(kafka)!;
    expect(producer).toBeDefined();
    await producer.connect();
    // Calls made back to back, not awaited one by one: the thread keeps the order they were made in.
    await Promise.all(
      Array.from({ length: 10 }, (_, b) =>
        producer.sendBatch({
          topicMessages: [{ topic: topics.authDecisions, messages: batchOf(b * 500, 500) }],
          acks: -1,
        }),
      ),
    );
    await producer.disconnect();
    // A disconnected thread is gone; connecting again starts a new one.
    await producer.connect();
    await producer.send({ topic: topics.authDecisions, messages: batchOf(5_000, 100), acks: -1 });
    await producer.disconnect();
    // As kafkajs' own producer: a send after disconnect fails (and starts no thread).
    await expect(
      producer.send({ topic: topics.authDecisions, messages: [{ key: 'late', value: Buffer.from('x') }] }),
    ).rejects.toThrow('The producer is disconnected');

    const read = await readTopic(kafka, topics.authDecisions, sent.length);
    expect(read).toHaveLength(sent.length);
    const byKey = new Map<string, number[]>();
    for (const m of read) {
      const key = m.key!.toString();
      byKey.set(key, [...(byKey.get(key) ?? []), Number(m.value!.toString())]);
    }
    for (const [key, values] of byKey)
      expect(values, key).toEqual(sent.filter((s) => s.key === key).map((s) => s.value));
  });

  it('is only for clients createKafka made (their options are what the thread connects with)', async () => {
    const kafkajs = (await import('kafkajs')).default;
    expect(createProducerThread(new kafkajs.Kafka({ brokers: ['127.0.0.1:9'] }))).toBeUndefined();
  });
});
