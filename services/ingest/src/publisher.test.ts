import { createEventCodec, type KeytrailEvent } from '@keytrail/events';
import { fullAuthDecision } from '@keytrail/events/fixtures';
import { type BatchProducer, topicNames } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import { createEventPublisher } from './publisher.ts';

/**
 * The publisher's grouping with a producer that records each request and answers when told to:
 * what reaches a real broker is the integration suite's (test/endToEndUsage, the kills tests).
 */
function recordingProducer() {
  const requests: { decisions: number }[] = [];
  const pending: (() => void)[] = [];
  const producer: BatchProducer = {
    connect: async () => {},
    disconnect: async () => {},
    send: async () => {},
    sendBatch: ({ topicMessages }) => {
      requests.push({ decisions: topicMessages.reduce((n, t) => n + t.messages.length, 0) });
      return new Promise((resolve) => pending.push(() => resolve(undefined)));
    },
  };
  const acknowledge = () => {
    for (const ack of pending.splice(0)) ack();
  };
  return { producer, requests, acknowledge };
}

const decisions = (n: number): KeytrailEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'auth_decision',
    event: fullAuthDecision({ event_id: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}` }),
  }));

const setup = () => {
  const recording = recordingProducer();
  const publisher = createEventPublisher({
    producer: recording.producer,
    codec: createEventCodec(),
    topics: topicNames('test.'),
  });
  return { ...recording, publisher };
};

describe('event publisher grouping', () => {
  it('sends a call at once; calls that arrive during a request share the next, and each resolves on its own acknowledgement', async () => {
    const { publisher, requests, acknowledge } = setup();
    let done = 0;
    const first = publisher.publish(decisions(100)).then(() => done++);
    await new Promise((r) => setTimeout(r, 5));
    expect(requests.map((r) => r.decisions)).toEqual([100]);
    const during = [1, 2, 3].map(() => publisher.publish(decisions(50)).then(() => done++));
    await new Promise((r) => setTimeout(r, 5));
    expect(requests).toHaveLength(1);
    acknowledge();
    await first;
    await new Promise((r) => setTimeout(r, 5));
    expect(requests.map((r) => r.decisions)).toEqual([100, 150]);
    expect(done).toBe(1);
    acknowledge();
    await Promise.all(during);
    expect(done).toBe(4);
  });
});
