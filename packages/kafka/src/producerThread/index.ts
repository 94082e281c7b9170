import { Worker } from 'node:worker_threads';
import { DEFAULT_KAFKA_COMPRESSION, type KafkaCompression, waitAtMost } from '@keytrail/core';
import type { Kafka } from 'kafkajs';
import { clientOptions, type IdempotentProducerOverrides } from '../client.ts';
import type { ProducerThreadData, ToParent, ToThread } from './protocol.ts';
import { fromThreadError, packTopicMessages, type TopicMessages } from './wire.ts';

export type { KeyedMessage, TopicMessages } from './wire.ts';

/** What Keytrail's producers call, whichever thread sends: kafkajs' Producer has the same shape. */
export interface BatchProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: { topicMessages: TopicMessages[]; acks?: number; timeout?: number }): Promise<unknown>;
  send(record: TopicMessages & { acks?: number; timeout?: number }): Promise<unknown>;
}

export interface ProducerThreadOptions {
  overrides?: IdempotentProducerOverrides;
  compression?: KafkaCompression;
}

/** How long `disconnect` waits for kafkajs to close before the thread is stopped. */
const DISCONNECT_TIMEOUT_MS = 10_000;

const NOT_CONNECTED = {
  name: 'KafkaJSError',
  message: 'The producer is disconnected',
  retriable: false,
} as const;

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * An idempotent producer (createIdempotentProducer) that runs on a worker thread of its own. The
 * caller's thread packs each batch (keys, and the values copied into one transferred buffer) and
 * the thread does the rest: record encoding, CRC-32C, compression, the network and the retries,
 * about two thirds of the emitter's CPU (bench/emitter), off the caller's event loop.
 * Works for clients made by createKafka (their options are what the thread connects with);
 * `undefined` for any other kafkajs client. `connect` starts the thread; the thread takes calls
 * one at a time in the order they were made (one request in flight, as the idempotent producer
 * requires). If it dies, its pending calls fail and the next call starts a new thread, connected
 * again if this was; after `disconnect`, sends fail until `connect` (no thread runs).
 */
export function createProducerThread(
  kafka: Kafka,
  options: ProducerThreadOptions = {},
): BatchProducer | undefined {
  const known = clientOptions(kafka);
  if (!known) return undefined;
  // The thread only produces: consumers' group membership is the calling thread's to record.
  const { logger, groupMembersFile: _consumersOnly, ...client } = known;
  const data: ProducerThreadData = {
    client,
    overrides: options.overrides ?? {},
    compression: options.compression ?? client.compression ?? DEFAULT_KAFKA_COMPRESSION,
    logs: logger !== undefined,
  };
  let worker: Worker | undefined;
  /** Connected by the caller and not disconnected since: a replacement thread connects first. */
  let connected = false;
  let nextId = 1;
  const pending = new Map<number, { thread: Worker; resolve: () => void; reject: (err: Error) => void }>();

  const start = (): Worker => {
    if (worker) return worker;
    const started = new Worker(new URL('./boot.mjs', import.meta.url), { workerData: data });
    const failAll = (err: Error) => {
      if (worker === started) worker = undefined;
      for (const [id, call] of pending) {
        if (call.thread !== started) continue;
        pending.delete(id);
        call.reject(err);
      }
    };
    started.on('message', onMessage);
    started.on('error', (err) => failAll(err));
    started.on('exit', (code) => failAll(new Error(`the producer thread exited (code ${code})`)));
    worker = started;
    // Its answer is not awaited: a failed connect fails the send queued behind it.
    if (connected) started.postMessage({ type: 'connect', id: 0 } satisfies ToThread);
    return started;
  };

  const onMessage = (message: ToParent) => {
    if (message.type === 'log') {
      logger?.[message.level](message.fields as object, message.line);
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.type === 'done') call.resolve();
    else call.reject(fromThreadError(message.error));
  };

  const call = (
    message: Distributive<ToThread>,
    transfer: ArrayBuffer[] = [],
    target: Worker | undefined = connected || message.type === 'connect' ? start() : undefined,
  ): Promise<void> => {
    // As kafkajs does: a send before connect (or after disconnect) fails, and starts no thread.
    if (!target) return Promise.reject(fromThreadError(NOT_CONNECTED));
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { thread: target, resolve, reject });
      target.postMessage({ ...message, id }, transfer);
    });
  };

  const sendBatch: BatchProducer['sendBatch'] = ({ topicMessages, acks, timeout }) => {
    const { topics, transfer } = packTopicMessages(topicMessages);
    return call(
      {
        type: 'send',
        topics,
        ...(acks !== undefined ? { acks } : {}),
        ...(timeout !== undefined ? { timeout } : {}),
      },
      transfer,
    );
  };

  return {
    async connect() {
      await call({ type: 'connect' });
      connected = true;
    },
    async disconnect() {
      connected = false;
      const running = worker;
      if (!running) return;
      worker = undefined; // a call from now on starts a new thread
      try {
        // kafkajs closes its connections; a thread that does not answer in time is stopped anyway.
        await waitAtMost(call({ type: 'disconnect' }, [], running), DISCONNECT_TIMEOUT_MS);
      } finally {
        await running.terminate();
      }
    },
    sendBatch,
    send: ({ topic, messages, acks, timeout }) =>
      sendBatch({
        topicMessages: [{ topic, messages }],
        ...(acks !== undefined ? { acks } : {}),
        ...(timeout !== undefined ? { timeout } : {}),
      }),
  };
}
