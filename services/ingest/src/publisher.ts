import { KeytrailError } from '@keytrail/core';
import {
  authDecisionKey,
  createBatchEncoder,
  type EventCodec,
  type KeytrailEvent,
  keyLifecycleKey,
} from '@keytrail/events';
import type { BatchProducer, KeyedMessage, Topics } from '@keytrail/kafka';

export interface EventPublisher {
  /** Resolves once Kafka has acknowledged every event (acks from all in-sync replicas). */
  publish(events: readonly KeytrailEvent[]): Promise<void>;
}

interface Waiting {
  decisions: KeyedMessage[];
  lifecycle: KeyedMessage[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

// One Kafka request carries at most this much (a topic accepts 16 MiB per batch; leave headroom).
const MAX_GROUP_BYTES = 8 * 1024 * 1024;

/**
 * Encodes events (Avro single-object) and sends them to their topics. The idempotent producer
 * allows one request in flight, so calls that arrive while one is in flight are sent together in
 * the next request (a group commit); each call resolves when its own events are acknowledged.
 */
export function createEventPublisher(options: {
  producer: BatchProducer;
  codec: EventCodec;
  topics: Topics;
}): EventPublisher {
  const { producer, codec, topics } = options;
  const queue: Waiting[] = [];
  let sending = false;

  const pump = async (): Promise<void> => {
    if (sending || queue.length === 0) return;
    sending = true;
    const group: Waiting[] = [];
    let bytes = 0;
    while (queue.length > 0 && (group.length === 0 || bytes < MAX_GROUP_BYTES)) {
      const next = queue.shift()!;
      group.push(next);
      for (const m of [...next.decisions, ...next.lifecycle]) bytes += (m.value as Buffer).length;
    }
    const decisions = group.flatMap((g) => g.decisions);
    const lifecycle = group.flatMap((g) => g.lifecycle);
    try {
      await producer.sendBatch({
        topicMessages: [
          ...(decisions.length ? [{ topic: topics.authDecisions, messages: decisions }] : []),
          ...(lifecycle.length ? [{ topic: topics.keyLifecycle, messages: lifecycle }] : []),
        ],
        acks: -1,
        timeout: 30_000,
      });
      for (const g of group) g.resolve();
    } catch (cause) {
      const err = new KeytrailError('UNAVAILABLE', 'Kafka did not acknowledge the events; retry.', {
        retriable: true,
        cause,
      });
      for (const g of group) g.reject(err);
    } finally {
      sending = false;
      void pump();
    }
  };

  return {
    publish(events) {
      const decisions: KeyedMessage[] = [];
      const lifecycle: KeyedMessage[] = [];
      const encoder = createBatchEncoder(codec, events.length);
      for (const item of events) {
        if (item.kind === 'auth_decision') {
          decisions.push({
            key: authDecisionKey(item.event),
            value: encoder.encode('auth_decision', item.event),
          });
        } else {
          lifecycle.push({
            key: keyLifecycleKey(item.event),
            value: encoder.encode('key_lifecycle', item.event),
          });
        }
      }
      if (decisions.length === 0 && lifecycle.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ decisions, lifecycle, resolve, reject });
        void pump();
      });
    },
  };
}
