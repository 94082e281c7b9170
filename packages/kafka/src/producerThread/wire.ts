/**
 * How a batch crosses to the producer thread: per topic, the message keys as strings and the
 * values copied once into one buffer, which postMessage then transfers instead of cloning (a
 * batch of 2,000 decisions is one ArrayBuffer of about 560 KB and a list of short strings,
 * instead of 2,000 buffers cloned one by one). Pure: no thread, no Kafka.
 */

/** A message as Keytrail's producers send it: a key (or none) and a value. */
export interface KeyedMessage {
  key?: string | null;
  value: Buffer | string | null;
}

export interface TopicMessages {
  topic: string;
  messages: KeyedMessage[];
}

/** One topic's messages, packed. `ends[i]` is where value i ends in `values`; -1 is a null value. */
export interface PackedTopic {
  topic: string;
  keys: (string | null)[];
  ends: Int32Array;
  values: ArrayBuffer;
}

/** Packs messages; the ArrayBuffers it returns are for `postMessage`'s transfer list. */
export function packTopicMessages(topicMessages: readonly TopicMessages[]): {
  topics: PackedTopic[];
  transfer: ArrayBuffer[];
} {
  const topics: PackedTopic[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const { topic, messages } of topicMessages) {
    let bytes = 0;
    for (const m of messages)
      bytes += typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0);
    // allocUnsafeSlow: a buffer of its own (never a slice of Node's shared pool), so it can move.
    const values = Buffer.allocUnsafeSlow(bytes);
    const ends = new Int32Array(messages.length);
    const keys: (string | null)[] = new Array(messages.length);
    let at = 0;
    for (let i = 0; i < messages.length; i++) {
      const { key, value } = messages[i]!;
      keys[i] = key ?? null;
      if (value === null) {
        ends[i] = -1;
        continue;
      }
      at += typeof value === 'string' ? values.write(value, at) : value.copy(values, at);
      ends[i] = at;
    }
    topics.push({ topic, keys, ends, values: values.buffer as ArrayBuffer });
    transfer.push(values.buffer as ArrayBuffer, ends.buffer as ArrayBuffer);
  }
  return { topics, transfer };
}

/** The messages of a packed topic again, values as views of the one transferred buffer. */
export function unpackTopic(packed: PackedTopic): { key: string | null; value: Buffer | null }[] {
  const values = Buffer.from(packed.values);
  const messages = new Array<{ key: string | null; value: Buffer | null }>(packed.keys.length);
  let start = 0;
  for (let i = 0; i < packed.keys.length; i++) {
    const end = packed.ends[i]!;
    if (end < 0) {
      messages[i] = { key: packed.keys[i]!, value: null };
      continue;
    }
    messages[i] = { key: packed.keys[i]!, value: values.subarray(start, end) };
    start = end;
  }
  return messages;
}

/** An error as it crosses back from the thread: what callers read of a kafkajs error. */
export interface ThreadError {
  name: string;
  message: string;
  retriable: boolean;
  stack?: string;
}

export function toThreadError(err: unknown): ThreadError {
  const e = err as { name?: unknown; message?: unknown; retriable?: unknown; stack?: unknown };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    retriable: e?.retriable === true,
    ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}),
  };
}

export function fromThreadError(error: ThreadError): Error & { retriable: boolean } {
  const err = new Error(error.message) as Error & { retriable: boolean };
  err.name = error.name;
  err.retriable = error.retriable;
  if (error.stack) err.stack = error.stack;
  return err;
}
