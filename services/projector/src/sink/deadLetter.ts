import type { Producer } from 'kafkajs';
import type { DeadLetter } from './decode.ts';

export const DLQ_HEADERS = {
  reason: 'keytrail-dlq-reason',
  detail: 'keytrail-dlq-detail',
  topic: 'keytrail-original-topic',
  partition: 'keytrail-original-partition',
  offset: 'keytrail-original-offset',
} as const;

/** Sends dead letters with their original key and bytes, and why, to the DLQ topic. */
export async function sendDeadLetters(
  producer: Producer,
  dlqTopic: string,
  sourceTopic: string,
  partition: number,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: letters.map(({ message, reason, detail }) => ({
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.detail]: detail.slice(0, 2000),
        [DLQ_HEADERS.topic]: sourceTopic,
        [DLQ_HEADERS.partition]: String(partition),
        [DLQ_HEADERS.offset]: message.offset,
      },
    })),
  });
}
