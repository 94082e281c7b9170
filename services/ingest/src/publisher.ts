import { KeytrailError } from '@keytrail/core';
import type { AuthDecision, EventCodec, KeyLifecycle, KeytrailEvent } from '@keytrail/events';
import type { Topics } from '@keytrail/kafka';
import type { Message, Producer } from 'kafkajs';

/** Partition key of an auth decision (DESIGN.md "Topics"): one key's decisions stay in order. */
export function authDecisionKey(e: AuthDecision): string {
  // event_id last: a retried event must land on the same partition as its first copy.
  return e.key_id ?? e.presented_key_hash ?? e.client_ip ?? e.event_id;
}

/** Partition key of a lifecycle event: the key (the session id for SESSION_* events). */
export function keyLifecycleKey(e: KeyLifecycle): string {
  return e.key_id;
}

export interface EventPublisher {
  /** Resolves once Kafka has acknowledged every event (acks from all in-sync replicas). */
  publish(events: readonly KeytrailEvent[]): Promise<void>;
}

/** Encodes events (Avro single-object) and sends them to their topics in one request per call. */
export function createEventPublisher(options: {
  producer: Producer;
  codec: EventCodec;
  topics: Topics;
}): EventPublisher {
  const { producer, codec, topics } = options;
  return {
    async publish(events) {
      const decisions: Message[] = [];
      const lifecycle: Message[] = [];
      for (const item of events) {
        if (item.kind === 'auth_decision') {
          decisions.push({
            key: authDecisionKey(item.event),
            value: codec.encode('auth_decision', item.event),
          });
        } else {
          lifecycle.push({
            key: keyLifecycleKey(item.event),
            value: codec.encode('key_lifecycle', item.event),
          });
        }
      }
      const topicMessages = [
        ...(decisions.length ? [{ topic: topics.authDecisions, messages: decisions }] : []),
        ...(lifecycle.length ? [{ topic: topics.keyLifecycle, messages: lifecycle }] : []),
      ];
      if (topicMessages.length === 0) return;
      try {
        await producer.sendBatch({ topicMessages, acks: -1, timeout: 30_000 });
      } catch (cause) {
        throw new KeytrailError(
          'UNAVAILABLE',
          'Kafka did not acknowledge the events; nothing was accepted, retry.',
          {
            retriable: true,
            cause,
          },
        );
      }
    },
  };
}
