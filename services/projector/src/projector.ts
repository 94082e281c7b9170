import { type ClickHouseDriver, insertAuthDecisions, insertKeyLifecycle } from '@keytrail/clickhouse';
import { type Logger, retry } from '@keytrail/core';
import type { EventCodec, EventKind } from '@keytrail/events';
import type { Topics } from '@keytrail/kafka';
import { type Admin, type Batch, type Consumer, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createProjectorMetrics, type ProjectorMetrics } from './metrics.ts';
import { sendDeadLetters } from './sink/deadLetter.ts';
import { decodeBatch } from './sink/decode.ts';
import {
  type BatchPlan,
  dedupToken,
  formatPlanMetadata,
  nextBatchEnd,
  parsePlanMetadata,
} from './sink/plan.ts';

export interface ProjectorOptions {
  kafka: Kafka;
  ch: ClickHouseDriver;
  codec: EventCodec;
  topics: Topics;
  logger: Logger;
  metrics: Registry;
  groupId?: string;
  /** Most messages per ClickHouse insert (default 50,000). */
  maxBatchEvents?: number;
}

export interface Projector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Joined its group and ClickHouse accepts inserts. */
  isReady(): boolean;
}

export const DEFAULT_PROJECTOR_GROUP = 'keytrail-projector';

type Sink = {
  kind: EventKind;
  insert: (
    ch: ClickHouseDriver,
    rows: never[],
    options: { settings: Record<string, string | number> },
  ) => Promise<void>;
};

/**
 * Consumes auth decisions and lifecycle events into ClickHouse with an exactly-once effect:
 * deterministic batches, an insert deduplication token per batch, offsets committed after the insert.
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { kafka, ch, codec, topics, logger } = options;
  const groupId = options.groupId ?? DEFAULT_PROJECTOR_GROUP;
  const maxBatchEvents = options.maxBatchEvents ?? 50_000;
  const metrics: ProjectorMetrics = createProjectorMetrics(options.metrics);
  const sinks = new Map<string, Sink>([
    [topics.authDecisions, { kind: 'auth_decision', insert: insertAuthDecisions as Sink['insert'] }],
    [topics.keyLifecycle, { kind: 'key_lifecycle', insert: insertKeyLifecycle as Sink['insert'] }],
  ]);

  const consumer: Consumer = kafka.consumer({
    groupId,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 250,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const admin: Admin = kafka.admin();
  /** Plans read from Kafka, per "topic:partition"; dropped on every rebalance. */
  const plans = new Map<string, BatchPlan | null>();
  let joined = false;
  let insertFailing = false;
  let stopping = false;

  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    plans.clear();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    logger.error({ err: payload.error }, 'projector consumer crashed; kafkajs restarts it');
  });

  const loadPlan = async (topic: string, partition: number): Promise<BatchPlan | null> => {
    const key = `${topic}:${partition}`;
    if (plans.has(key)) return plans.get(key) ?? null;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const entry = committed?.partitions.find((p) => p.partition === partition);
    const plan = entry ? parsePlanMetadata(entry.offset, entry.metadata) : null;
    plans.set(key, plan);
    return plan;
  };

  const commit = (topic: string, partition: number, offset: bigint, metadata: string | null) =>
    consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata } as never]);

  /**
   * Writes one batch. The steps, and what a crash after each one leaves behind:
   *  1. Commit the plan (offset = first, metadata = last).  Crash → nothing written; the plan is redone.
   *  2. Decode and validate every message (pure).           Crash → nothing written.
   *  3. Send dead letters to the DLQ.                        Crash → they are sent again (DLQ is at-least-once).
   *  4. Insert rows with the batch's deduplication token.   Crash → the redo's insert is discarded by ClickHouse.
   *  5. Commit offset = last + 1, no plan.                   Crash → the batch is redone; steps 3–4 are no-ops or repeats.
   */
  const flush = async (batch: Batch, sink: Sink, startIndex: number, endIndex: number): Promise<void> => {
    const { topic, partition } = batch;
    const messages = batch.messages.slice(startIndex, endIndex + 1);
    const first = BigInt(messages[0]!.offset);
    const last = BigInt(messages.at(-1)!.offset);

    // 1. Commit the plan.
    await commit(topic, partition, first, formatPlanMetadata(last));
    // 2. Decode and validate.
    const { rows, deadLetters } = decodeBatch(codec, sink.kind, partition, messages);
    // 3. Dead letters.
    await sendDeadLetters(producer, topics.dlq, topic, partition, deadLetters);
    for (const letter of deadLetters) metrics.deadLetters.inc({ reason: letter.reason });
    // 4. Insert, retried with capped backoff while ClickHouse is away (the partition waits).
    const token = dedupToken(topic, partition, first, last);
    const timer = metrics.insertSeconds.startTimer();
    await retry(
      async () => {
        if (stopping) throw new Error('projector stopping; batch left uncommitted');
        await sink.insert(ch, rows as never[], { settings: { insert_deduplication_token: token } });
      },
      {
        initialDelayMs: 200,
        maxDelayMs: 5_000,
        isRetriable: (err) => !stopping && (err as { retriable?: boolean }).retriable !== false,
        onRetry: (err, attempt, delay) => {
          insertFailing = true;
          metrics.insertRetries.inc();
          logger.warn({ err, attempt, delay, topic, partition }, 'ClickHouse insert failed; retrying');
        },
      },
    );
    timer();
    insertFailing = false;
    // 5. Commit past the batch.
    await commit(topic, partition, last + 1n, null);
    plans.set(`${topic}:${partition}`, null);
    metrics.events.inc({ topic }, rows.length);
    metrics.batchSize.observe(messages.length);
  };

  return {
    async start() {
      await Promise.all([consumer.connect(), producer.connect(), admin.connect()]);
      await consumer.subscribe({ topics: [topics.authDecisions, topics.keyLifecycle], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const sink = sinks.get(batch.topic);
          if (!sink || batch.messages.length === 0) return;
          const offsets = batch.messages.map((m) => BigInt(m.offset));
          let start = 0;
          while (start < offsets.length && isRunning() && !isStale()) {
            const plan = await loadPlan(batch.topic, batch.partition);
            const end = nextBatchEnd(offsets, start, maxBatchEvents, plan);
            if (end < start) break; // the planned batch is not all here yet: wait for redelivery with more
            await flush(batch, sink, start, end);
            resolveOffset(batch.messages[end]!.offset);
            await heartbeat();
            start = end + 1;
          }
          metrics.lag.set(
            { topic: batch.topic, partition: String(batch.partition) },
            Number(batch.offsetLag()),
          );
        },
      });
    },
    async stop() {
      stopping = true;
      await consumer.disconnect().catch((err) => logger.warn({ err }, 'consumer disconnect failed'));
      await Promise.all([producer.disconnect(), admin.disconnect()]).catch(() => {});
    },
    isReady: () => joined && !insertFailing,
  };
}
