/**
 * The producer thread's own side: one idempotent producer (createIdempotentProducer, the same as
 * in any other thread), driven by messages from the thread that made it. Loaded by boot.mjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '@keytrail/core';
import { createIdempotentProducer, createKafka } from '../client.ts';
import type { ProducerThreadData, ToParent, ToThread } from './protocol.ts';
import { toThreadError, unpackTopic } from './wire.ts';

const data = workerData as ProducerThreadData;
const port = parentPort!;
const post = (message: ToParent) => port.postMessage(message);

// kafkajs' log lines go to the parent's logger (a logger cannot cross threads).
const forward =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (fields: unknown, line?: string): void =>
    post({ type: 'log', level, fields: structuredSafe(fields), line: line ?? '' });
const logger = data.logs
  ? ({
      debug: forward('debug'),
      info: forward('info'),
      warn: forward('warn'),
      error: forward('error'),
    } as Logger)
  : undefined;

const kafka = createKafka({ ...data.client, ...(logger ? { logger } : {}) });
const producer = createIdempotentProducer(kafka, data.overrides, data.compression);

// One call at a time, in the order posted: a send never overtakes the connect before it. A
// disconnect does not wait its turn: it is how a caller gives up on a send retrying through an
// outage (kafkajs then fails that send).
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToThread) => {
  const answer = (run: Promise<void>) =>
    run.then(
      () => post({ type: 'done', id: message.id }),
      (err: unknown) => post({ type: 'failed', id: message.id, error: toThreadError(err) }),
    );
  if (message.type === 'disconnect') void answer(producer.disconnect());
  else queue = queue.then(() => answer(handle(message)));
});

async function handle(message: Exclude<ToThread, { type: 'disconnect' }>): Promise<void> {
  switch (message.type) {
    case 'connect':
      return producer.connect();
    case 'send':
      await producer.sendBatch({
        topicMessages: message.topics.map((t) => ({ topic: t.topic, messages: unpackTopic(t) })),
        ...(message.acks !== undefined ? { acks: message.acks } : {}),
        ...(message.timeout !== undefined ? { timeout: message.timeout } : {}),
      });
      return;
  }
}

/** Log fields as plain data: anything postMessage cannot clone becomes its string form. */
function structuredSafe(fields: unknown): unknown {
  try {
    structuredClone(fields);
    return fields;
  } catch {
    try {
      return JSON.parse(JSON.stringify(fields, (_k, v) => (typeof v === 'function' ? undefined : v)));
    } catch {
      return { detail: String(fields) };
    }
  }
}
