import { type ClickHouseDriver, isRowDataError, streamRecentEventIds } from '@keytrail/clickhouse';
import { errorMessage, isTransient, type Logger, retry } from '@keytrail/core';
import type { EventCodec } from '@keytrail/events';
import { createIdempotentProducer, type SchemaRegistry, type Topics } from '@keytrail/kafka';
import type { Admin, Batch, Consumer, ConsumerConfig, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createProjectorMetrics, type ProjectorMetrics } from './metrics.ts';
import { sendDeadLetters } from './sink/deadLetter.ts';
import type { DeadLetter } from './sink/decode.ts';
import { dropRepeats, type IdentifiedRow, rememberRows } from './sink/dedupe.ts';
import { insertIsolatingRefusedRows } from './sink/isolate.ts';
import {
  type BatchPlan,
  dedupToken,
  formatPlanMetadata,
  nextBatchEnd,
  parsePlanMetadata,
} from './sink/plan.ts';
import { DEFAULT_MAX_IDS_PER_PARTITION, RecentIds } from './sink/recentIds.ts';
import { createSinks, insertSettings, type Sink } from './sink/sinks.ts';

export interface ProjectorOptions {
  kafka: Kafka;
  ch: ClickHouseDriver;
  codec: EventCodec;
  topics: Topics;
  logger: Logger;
  metrics: Registry;
  /** The consumer group (required; `projectorGroupId(topicPrefix)` is what the CLI passes). */
  groupId: string;
  /** Most messages per ClickHouse insert (default 50,000). */
  maxBatchEvents?: number;
  /** Group session timeout: how long a dead member keeps its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** Partitions worked on at once (default 1); each partition's batches stay strictly in order. */
  partitionsConcurrently?: number;
  /** How long a re-sent event_id is recognised (default 24 h). */
  dedupWindowHours?: number;
  /** Most event ids remembered per partition (default 2,000,000): the memory bound of the window. */
  dedupMaxIdsPerPartition?: number;
  /** Where writer schemas this codec does not ship are looked up (without one, they dead-letter). */
  registry?: SchemaRegistry;
}

export interface Projector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Joined its group and ClickHouse accepts inserts. */
  isReady(): boolean;
}

/**
 * The projector's consumer group, namespaced like the topics (KEYTRAIL_TOPIC_PREFIX): deployments
 * that share a cluster under different prefixes must not share a group, or their members would be
 * handed each other's partitions.
 */
export function projectorGroupId(topicPrefix: string): string {
  return `${topicPrefix}projector`;
}

interface PartitionState {
  plan: BatchPlan | null;
  recent: RecentIds;
}

/**
 * Consumes auth decisions and lifecycle events into ClickHouse with an exactly-once effect:
 * deterministic batches, an insert deduplication token per batch, offsets committed after the insert.
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { kafka, ch, codec, topics, logger } = options;
  const { groupId } = options;
  const maxBatchEvents = options.maxBatchEvents ?? 50_000;
  const metrics: ProjectorMetrics = createProjectorMetrics(options.metrics);
  /** Registry keys of fingerprints no producer registered. */
  const unregistered = new Set<string>();
  const sinks = createSinks(topics, { codec, registry: options.registry, unregistered });

  const consumerConfig: ConsumerConfig = {
    groupId,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 250,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
  };
  /** The running consumer; replaced by a fresh one after a failure kafkajs does not restart. */
  let consumer: Consumer | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let failedStarts = 0;
  const producer: Producer = createIdempotentProducer(kafka);
  const admin: Admin = kafka.admin();
  const windowHours = options.dedupWindowHours ?? 24;
  const maxIds = options.dedupMaxIdsPerPartition ?? DEFAULT_MAX_IDS_PER_PARTITION;
  /** Per "topic:partition": the pending plan and the recent event ids. Dropped on every rebalance. */
  const partitions = new Map<string, PartitionState>();
  let joined = false;
  let insertFailing = false;
  let stopping = false;

  const setConsuming = (value: boolean) => {
    joined = value;
    metrics.consuming.set(value ? 1 : 0);
  };
  setConsuming(false);

  /** Transient failures of one step are retried where they happen, with what was retried logged. */
  const retryTransient = <T>(step: string, what: Record<string, unknown>, fn: () => Promise<T>) =>
    retry(fn, {
      initialDelayMs: 200,
      maxDelayMs: 5_000,
      deadlineMs: 60_000,
      isRetriable: (err) => !stopping && isTransient(err),
      onRetry: (err, attempt, delay) => {
        metrics.transientRetries.inc({ step });
        logger.warn({ err, attempt, delay, ...what }, `${step} failed (transient); retrying in ${delay} ms`);
      },
    });
  /**
   * What a member needs when it takes a partition: the plan committed with the offset, and the
   * event ids written before the committed offset (the rows of an interrupted batch do not count,
   * so the re-formed batch drops exactly what the first attempt dropped).
   */
  const loadPartition = async (topic: string, partition: number, sink: Sink): Promise<PartitionState> => {
    const key = `${topic}:${partition}`;
    const known = partitions.get(key);
    if (known) return known;
    const where = { topic, partition };
    const [committed] = await retryTransient('reading the committed plan', where, () =>
      admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const entry = committed?.partitions.find((p) => p.partition === partition);
    const committedOffset = entry && Number(entry.offset) >= 0 ? entry.offset : '0';
    // Rebuilt whole on every attempt, so a stream cut off half-way leaves no partial window.
    const recent = await retryTransient(
      'rebuilding the retry window from seen_event_ids',
      where,
      async () => {
        const ids = new RecentIds(windowHours * 3_600_000, maxIds);
        const rebuild = streamRecentEventIds(ch, {
          source: sink.source,
          partition,
          beforeOffset: committedOffset,
          windowHours,
        });
        for await (const { id, at } of rebuild) ids.add(id, at);
        return ids;
      },
    );
    const state: PartitionState = {
      plan: entry ? parsePlanMetadata(entry.offset, entry.metadata) : null,
      recent,
    };
    partitions.set(key, state);
    return state;
  };

  /** Commits through the consumer that fetched the batch (a replaced one never commits for its successor). */
  const commit = (
    owner: Consumer,
    topic: string,
    partition: number,
    offset: bigint,
    metadata: string | null,
  ) => owner.commitOffsets([{ topic, partition, offset: offset.toString(), metadata } as never]);

  /**
   * Writes one batch. The steps, and what a crash after each one leaves behind:
   *  1. Commit the plan (offset = first, metadata = last).  Crash → nothing written; the plan is redone.
   *  2. Decode and validate every message (writer schemas this process lacks are first read from
   *     the registry topic; the rest is pure).              Crash → nothing written.
   *  3. Send dead letters to the DLQ.                        Crash → they are sent again (DLQ is at-least-once).
   *  4. Drop client retries: event ids an earlier batch of this partition wrote (the partition's
   *     window, rebuilt from seen_event_ids on takeover) and repeats inside the batch. Pure: crash → nothing written.
   *  5. Insert rows with the batch's deduplication token, into the raw table and through every
   *     materialized view; rows ClickHouse refuses are split off under derived tokens and
   *     dead-lettered.                                       Crash → the redo's inserts are discarded by ClickHouse.
   *  6. Commit offset = last + 1, no plan.                   Crash → the batch is redone; steps 3–5 are no-ops or repeats.
   *  Step 5 is retried with capped backoff while ClickHouse is away (the partition waits); an
   *  error no retry fixes stops the consumer, which is started again with backoff.
   */
  const flush = async (
    owner: Consumer,
    batch: Batch,
    sink: Sink,
    state: PartitionState,
    startIndex: number,
    endIndex: number,
    heartbeat: () => Promise<void>,
  ): Promise<void> => {
    const { topic, partition } = batch;
    const messages = batch.messages.slice(startIndex, endIndex + 1);
    const first = BigInt(messages[0]!.offset);
    const last = BigInt(messages.at(-1)!.offset);

    // 1. Commit the plan.
    await commit(owner, topic, partition, first, formatPlanMetadata(last));
    // 2. Decode and validate (auth decisions: only what the gate is unsure of); writer schemas
    //    not shipped here are learnt from the registry.
    const { rows, deadLetters, decodedInJs } = await retryTransient(
      'reading the schema registry',
      { topic, partition },
      () => sink.prepare(partition, messages),
    );
    if (decodedInJs > 0) metrics.decodedInJs.inc({ topic }, decodedInJs);
    // 3. Dead letters.
    await sendDeadLetters(producer, topics.dlq, topic, partition, deadLetters);
    for (const letter of deadLetters) metrics.deadLetters.inc({ reason: letter.reason });
    // 4. Drop client retries.
    const { kept, dropped } = dropRepeats(rows, state.recent);
    if (dropped > 0) metrics.retriesDropped.inc({ topic }, dropped);
    // 5. Insert, retried with capped backoff while ClickHouse is away (the partition waits). Rows
    //    ClickHouse refuses on their own are split off deterministically and dead-lettered.
    const token = dedupToken(topic, partition, first, last);
    // What a redo must repeat exactly: the same token with other rows would leave tables apart.
    logger.debug({ token, kept: kept.length, dropped, deadLetters: deadLetters.length }, 'inserting batch');
    const timer = metrics.insertSeconds.startTimer();
    const refused = await retry(
      async () => {
        if (stopping) throw new Error('projector stopping; batch left uncommitted');
        // Stay in the group while ClickHouse is away (kafkajs heartbeats only when asked). A failed
        // heartbeat (a rebalance, a member the coordinator forgot) is kafkajs' to handle: it leaves
        // this loop at once instead of being retried as if it were an insert failure.
        await heartbeat().catch((err: unknown) => {
          throw new GroupMembershipError(err);
        });
        return insertIsolatingRefusedRows(
          kept,
          token,
          (rows, rowsToken) => sink.insert(ch, rows, { settings: insertSettings(rowsToken) }),
          isRowDataError,
        );
      },
      {
        initialDelayMs: 200,
        maxDelayMs: 5_000,
        // Transient failures only (ClickHouse away, timeouts, memory): the partition waits.
        isRetriable: (err) => !stopping && !(err instanceof GroupMembershipError) && isTransient(err),
        onRetry: (err, attempt, delay) => {
          insertFailing = true;
          metrics.insertRetries.inc();
          logger.warn(
            { err, attempt, delay, topic, partition },
            'ClickHouse insert failed (transient); retrying',
          );
        },
      },
    ).catch((err: unknown) => {
      if (err instanceof GroupMembershipError) throw err.original;
      // Not transient and not about the rows (a missing table, a syntax error after a bad
      // migration): nothing is committed, the consumer stops and is started again with backoff,
      // so the batch is retried slowly until an operator fixes the cause; nothing is dropped.
      if (!stopping)
        logger.error(
          { err, topic, partition },
          'ClickHouse refused the insert and no retry can fix it; the consumer restarts with backoff',
        );
      insertFailing = true;
      throw err;
    });
    if (refused.length > 0) {
      await sendDeadLetters(producer, topics.dlq, topic, partition, refusedLetters(refused, messages));
      metrics.deadLetters.inc({ reason: 'REFUSED_BY_CLICKHOUSE' }, refused.length);
      logger.warn(
        { topic, partition, refused: refused.length, err: refused[0]!.error },
        'ClickHouse refused rows on their own; dead-lettered',
      );
    }
    timer();
    insertFailing = false;
    // 6. Commit past the batch; only now do its ids join the window.
    await commit(owner, topic, partition, last + 1n, null);
    state.plan = null;
    const written = refused.length === 0 ? kept : kept.filter((row) => !refused.some((r) => r.row === row));
    rememberRows(written, state.recent);
    metrics.events.inc({ topic }, written.length);
    metrics.eventsPerSecond.record(written.length);
    metrics.batchSize.observe(messages.length);
  };

  /**
   * Starts a fresh consumer. kafkajs restarts its consumer by itself after a retriable failure;
   * after any other (a member the coordinator forgot during a long pause, an error escaping a
   * batch) it stops for good, so this one is replaced, with backoff, until it joins again.
   */
  const startConsumer = async (): Promise<void> => {
    const current = kafka.consumer(consumerConfig);
    consumer = current;
    current.on(current.events.GROUP_JOIN, () => {
      failedStarts = 0;
      partitions.clear();
      setConsuming(true);
    });
    current.on(current.events.CRASH, ({ payload }) => {
      setConsuming(false);
      partitions.clear();
      if (payload.restart) {
        logger.warn({ err: payload.error }, 'projector consumer failed (retriable); kafkajs restarts it');
        return;
      }
      logger.error(
        { err: payload.error },
        'projector consumer stopped on a failure kafkajs does not restart; starting a fresh consumer',
      );
      scheduleRestart();
    });
    await current.connect();
    await current.subscribe({ topics: [topics.authDecisions, topics.keyLifecycle], fromBeginning: true });
    await current.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // One partition at a time: measured faster on 2 cores than overlapping smaller batches
      // (bench/projector: 34.6k vs 25.8k events/s with 3). Each partition stays in order either way.
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const sink = sinks.get(batch.topic);
        if (!sink || batch.messages.length === 0) return;
        const offsets = batch.messages.map((m) => BigInt(m.offset));
        let start = 0;
        while (start < offsets.length && isRunning() && !isStale()) {
          const state = await loadPartition(batch.topic, batch.partition, sink);
          const end = nextBatchEnd(offsets, start, maxBatchEvents, state.plan);
          if (end < start) break; // the planned batch is not all here yet: wait for redelivery with more
          await flush(current, batch, sink, state, start, end, heartbeat);
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
  };

  const scheduleRestart = () => {
    if (stopping) return;
    const delay = Math.min(30_000, 1_000 * 2 ** failedStarts);
    failedStarts++;
    metrics.consumerRestarts.inc();
    logger.warn(`projector consumer restarting in ${delay} ms (attempt ${failedStarts})`);
    restartTimer = setTimeout(() => {
      const failed = consumer;
      void failed
        ?.disconnect()
        .catch(() => {})
        .then(() => (stopping ? undefined : startConsumer()))
        .catch((err: unknown) => {
          logger.error({ err }, `projector consumer could not start: ${errorMessage(err)}`);
          scheduleRestart();
        });
    }, delay);
    restartTimer.unref();
  };

  return {
    async start() {
      await Promise.all([producer.connect(), admin.connect()]);
      await startConsumer();
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      await consumer?.disconnect().catch((err) => logger.warn({ err }, 'consumer disconnect failed'));
      await Promise.all([producer.disconnect(), admin.disconnect()]).catch(() => {});
    },
    isReady: () => joined && !insertFailing,
  };
}

/** A heartbeat failure inside the insert loop; rethrown as its cause for kafkajs to handle. */
class GroupMembershipError extends Error {
  constructor(readonly original: unknown) {
    super(errorMessage(original));
  }
}

/** Dead letters for rows ClickHouse refused, with their original messages and its error. */
function refusedLetters(
  refused: readonly { row: IdentifiedRow; error: unknown }[],
  messages: readonly KafkaMessage[],
): DeadLetter[] {
  const byOffset = new Map(messages.map((m) => [m.offset, m]));
  return refused.map(({ row, error }) => ({
    message: byOffset.get(row.at.offset)!,
    reason: 'REFUSED_BY_CLICKHOUSE',
    detail: errorMessage(error),
  }));
}
