import { describe, expect, it } from 'vitest';
import { fromThreadError, packTopicMessages, toThreadError, unpackTopic } from './wire.ts';

describe('the producer thread wire format', () => {
  it('packs a batch into one transferable buffer per topic and unpacks the same messages', () => {
    const decisions = [
      { key: 'key_1', value: Buffer.from([1, 2, 3]) },
      { key: null, value: Buffer.from('') },
      { key: 'key_2', value: null },
      { value: Buffer.from('a longer value, ✓ utf-8') },
      { key: 'schema', value: 'canonical JSON as a string' },
    ];
    const { topics, transfer } = packTopicMessages([
      { topic: 'keytrail.auth-decisions', messages: decisions },
      { topic: 'keytrail.key-lifecycle', messages: [] },
    ]);
    expect(topics.map((t) => t.topic)).toEqual(['keytrail.auth-decisions', 'keytrail.key-lifecycle']);
    expect(transfer).toHaveLength(4);
    expect(new Set(transfer).size).toBe(4);
    // What arrives on the other side, after a real structured clone with the transfer list.
    const cloned = structuredClone(topics, { transfer });
    expect(topics[0]!.values.byteLength).toBe(0); // moved, not copied
    expect(unpackTopic(cloned[0]!)).toEqual([
      { key: 'key_1', value: Buffer.from([1, 2, 3]) },
      { key: null, value: Buffer.from('') },
      { key: 'key_2', value: null },
      { key: null, value: Buffer.from('a longer value, ✓ utf-8') },
      { key: 'schema', value: Buffer.from('canonical JSON as a string') },
    ]);
    expect(unpackTopic(cloned[1]!)).toEqual([]);
  });

  it('carries what callers read of an error: name, message, retriable', () => {
    const original = Object.assign(new Error('Connection error: ECONNREFUSED'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: true,
    });
    const back = fromThreadError(structuredClone(toThreadError(original)));
    expect(back).toBeInstanceOf(Error);
    expect(back).toMatchObject({
      name: 'KafkaJSNumberOfRetriesExceeded',
      message: 'Connection error: ECONNREFUSED',
      retriable: true,
    });
    expect(toThreadError('not an error')).toMatchObject({
      name: 'Error',
      message: 'not an error',
      retriable: false,
    });
  });
});
