import { type ClickHouseDriver, isRowDataError, streamRecentEventIds } from '@keytrail/clickhouse';
import { errorMessage, isTransient, type Logger, retry } from '@keytrail/core';
import type { EventCodec } from '@keytrail/events';
import { createIdempotentProducer, groupLiveness, type SchemaRegistry, type Topics } from '@keytrail/kafka';
import type { Admin, Consumer, ConsumerConfig, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { type PendingBatch, planAwareAssigner } from './assigner.ts';
import { createProjectorMetrics, type ProjectorMetrics } from './metrics.ts';
import { sendDeadLetters } from './sink/deadLetter.ts';
import type { DeadLetter } from './sink/decode.ts';
import { dropRepeats, type IdentifiedRow, rememberRows } from './sink/dedupe.ts';
import { insertIsolatingRefusedRows } from './sink/isolate.ts';
import {
  type BatchPlan,
  type BatchSlice,
  dedupToken,
  formatPlanMetadata,
  nextBatchEnd,
  parsePlanMetadata,
} from './sink/plan.ts';
import { DEFAULT_MAX_IDS_PER_PARTITION, RecentIds } from './sink/recentIds.ts';
import { createSinks, insertSettings, type Sink, type SinkBatch } from './sink/sinks.ts';

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
  /**
   * Most partitions one insert takes (default: every partition a fetch brings). Each insert
   * through the raw table and its views pays a fixed cost, so batches of several partitions
   * keep event → queryable low; 1 gives each partition inserts of its own.
   */
  partitionsPerInsert?: number;
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

/** One partition's slice of a batch, with what its eachBatch call needs to finish it. */
interface Part {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  state: PartitionState;
  heartbeat: () => Promise<void>;
}

/** Parts of one topic waiting to be inserted as one batch. */
interface Gathering {
  owner: Consumer;
  sink: Sink;
  /** "new:topic", or "plan:token" for a batch re-formed from its plan. */
  key: string;
  parts: Part[];
  events: number;
  /** A batch re-formed from its plan: its slices, all of which must be here. */
  planned: BatchSlice[] | null;
  timer: NodeJS.Timeout | undefined;
  waiting: { resolve(written: boolean): void; reject(err: unknown): void }[];
}

/**
 * How long a new batch waits for other partitions' parts after its first: kafkajs hands over a
 * fetch's partitions at once, so a few milliseconds gather them, against an insert's fixed cost
 * of tens of milliseconds (bench/README.md, "event → queryable").
 */
const GATHER_MS = 5;
/** How long a re-formed batch waits for every partition it spans before each waits for redelivery. */
const PLANNED_WAIT_MS = 2_000;

/**
 * Consumes auth decisions and lifecycle events into ClickHouse with an exactly-once effect:
 * deterministic batches, an insert deduplication token per batch, offsets committed after the insert.
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { kafka, ch, codec, topics, logger } = options;
  const { groupId } = options;
  const maxBatchEvents = options.maxBatchEvents ?? 50_000;
  const partitionsPerInsert = options.partitionsPerInsert ?? Number.POSITIVE_INFINITY;
  const metrics: ProjectorMetrics = createProjectorMetrics(options.metrics);
  /** Registry keys of fingerprints no producer registered. */
  const unregistered = new Set<string>();
  const sinks = createSinks(topics, { codec, registry: options.registry, unregistered });

  const consumerConfig: ConsumerConfig = {
    groupId,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 250,
    ...groupLiveness(options.sessionTimeoutMs),
    // A batch interrupted after its plan is re-formed whole, so its partitions go to one member.
    partitionAssigners: [planAwareAssigner((subscribed) => pendingBatches(subscribed))],
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
  /** Open gatherings by consumer and batch ("new:topic", or "plan:token" for a re-formed one). */
  const gatherings = new WeakMap<Consumer, Map<string, Gathering>>();

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
      plan: entry ? parsePlanMetadata(entry.offset, entry.metadata, partition) : null,
      recent,
    };
    partitions.set(key, state);
    return state;
  };

  /** The batches of several partitions whose plans are committed and not yet done (the assignor's input). */
  const pendingBatches = async (subscribed: readonly string[]): Promise<PendingBatch[]> => {
    const committed = await admin.fetchOffsets({ groupId, topics: [...subscribed] });
    const batches = new Map<string, PendingBatch>();
    for (const { topic, partitions: entries } of committed)
      for (const entry of entries) {
        const plan = parsePlanMetadata(entry.offset, entry.metadata, entry.partition);
        if (!plan || plan.slices.length < 2) continue;
        batches.set(dedupToken(topic, plan.slices), {
          topic,
          partitions: plan.slices.map((s) => s.partition),
        });
      }
    return [...batches.values()];
  };

  /** Commits through the consumer that fetched the batch (a replaced one never commits for its successor). */
  const commit = (
    owner: Consumer,
    topic: string,
    offsets: readonly { partition: number; offset: bigint; metadata: string | null }[],
  ) =>
    owner.commitOffsets(
      offsets.map(({ partition, offset, metadata }) => ({
        topic,
        partition,
        offset: offset.toString(),
        metadata,
      })) as never,
    );

  /**
   * Writes one batch: a slice of messages from each of `parts` (one topic), as one insert. The
   * steps, and what a crash after each one leaves behind:
   *  1. Commit the plan in every partition (offset = its first, metadata = its last and every
   *     slice of the batch), in one request. Crash → nothing written; the batch is re-formed
   *     whole by the member the plan-aware assignor gives its partitions to, and redone.
   *  2. Decode and validate every message (writer schemas this process lacks are first read from
   *     the registry topic; the rest is pure).              Crash → nothing written.
   *  3. Send dead letters to the DLQ.                        Crash → they are sent again (DLQ is at-least-once).
   *  4. Drop client retries, per partition: event ids an earlier batch of the partition wrote
   *     (its window, rebuilt from seen_event_ids on takeover) and repeats inside its slice.
   *     Pure: crash → nothing written.
   *  5. Insert the rows, partition by partition in one container, with the batch's
   *     deduplication token, into the raw table and through every materialized view; rows
   *     ClickHouse refuses are split off under derived tokens and dead-lettered.
   *                                                          Crash → the redo's inserts are discarded by ClickHouse.
   *  6. Commit offset = last + 1, no plan, in every partition. Crash → the batch is redone; steps 3–5 are no-ops or repeats.
   *  Step 5 is retried with capped backoff while ClickHouse is away (the partitions wait); an
   *  error no retry fixes stops the consumer, which is started again with backoff.
   */
  const flush = async (
    owner: Consumer,
    sink: Sink,
    unordered: readonly Part[],
    plannedSlices: readonly BatchSlice[] | null,
  ): Promise<void> => {
    const parts = [...unordered].sort((a, b) => a.partition - b.partition);
    const topic = parts[0]!.topic;
    const partitionsOf = parts.map((p) => p.partition);
    // A re-formed batch keeps the slices it was planned with; a new one is what the parts hold.
    const slices: BatchSlice[] = plannedSlices
      ? [...plannedSlices]
      : parts.map((p) => ({
          partition: p.partition,
          first: BigInt(p.messages[0]!.offset),
          last: BigInt(p.messages.at(-1)!.offset),
        }));
    const sliceOf = (partition: number) => slices.find((s) => s.partition === partition)!;

    // 1. Commit the plan.
    await commit(
      owner,
      topic,
      parts.map(({ partition }) => ({
        partition,
        offset: sliceOf(partition).first,
        metadata: formatPlanMetadata(sliceOf(partition).last, slices),
      })),
    );
    // 2. Decode and validate (auth decisions: only what the gate is unsure of); writer schemas
    //    not shipped here are learnt from the registry.
    const prepared: SinkBatch[] = [];
    for (const part of parts) {
      const batch = await retryTransient(
        'reading the schema registry',
        { topic, partition: part.partition },
        () => sink.prepare(part.partition, part.messages),
      );
      if (batch.decodedInJs > 0) metrics.decodedInJs.inc({ topic }, batch.decodedInJs);
      // 3. Dead letters.
      await sendDeadLetters(producer, topics.dlq, topic, part.partition, batch.deadLetters);
      for (const letter of batch.deadLetters) metrics.deadLetters.inc({ reason: letter.reason });
      prepared.push(batch);
    }
    // 4. Drop client retries, each partition against its own window.
    const keptByPart = parts.map((part, i) => {
      const { kept, dropped } = dropRepeats(prepared[i]!.rows, part.state.recent);
      if (dropped > 0) metrics.retriesDropped.inc({ topic }, dropped);
      return kept;
    });
    const kept = keptByPart.flat();
    // 5. Insert, retried with capped backoff while ClickHouse is away (the partitions wait). Rows
    //    ClickHouse refuses on their own are split off deterministically and dead-lettered.
    const token = dedupToken(topic, slices);
    // What a redo must repeat exactly: the same token with other rows would leave tables apart.
    logger.debug(
      { token, kept: kept.length, deadLetters: prepared.map((b) => b.deadLetters.length) },
      'inserting batch',
    );
    const timer = metrics.insertSeconds.startTimer();
    const refused = await retry(
      async () => {
        if (stopping) throw new Error('projector stopping; batch left uncommitted');
        // Stay in the group while ClickHouse is away (kafkajs heartbeats only when asked). A failed
        // heartbeat (a rebalance, a member the coordinator forgot) is kafkajs' to handle: it leaves
        // this loop at once instead of being retried as if it were an insert failure.
        await parts[0]!.heartbeat().catch((err: unknown) => {
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
        // Transient failures only (ClickHouse away, timeouts, memory): the partitions wait.
        isRetriable: (err) => !stopping && !(err instanceof GroupMembershipError) && isTransient(err),
        onRetry: (err, attempt, delay) => {
          insertFailing = true;
          metrics.insertRetries.inc();
          logger.warn(
            { err, attempt, delay, topic, partitions: partitionsOf },
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
          { err, topic, partitions: partitionsOf },
          'ClickHouse refused the insert and no retry can fix it; the consumer restarts with backoff',
        );
      insertFailing = true;
      throw err;
    });
    const refusedRows = new Set(refused.map((r) => r.row));
    for (const part of parts) {
      const letters = refusedLetters(
        refused.filter((r) => r.row.at.partition === part.partition),
        part.messages,
      );
      if (letters.length === 0) continue;
      await sendDeadLetters(producer, topics.dlq, topic, part.partition, letters);
      metrics.deadLetters.inc({ reason: 'REFUSED_BY_CLICKHOUSE' }, letters.length);
      logger.warn(
        { topic, partition: part.partition, refused: letters.length, err: letters[0]!.detail },
        'ClickHouse refused rows on their own; dead-lettered',
      );
    }
    timer();
    insertFailing = false;
    // 6. Commit past the batch; only now do its ids join the windows.
    await commit(
      owner,
      topic,
      parts.map(({ partition }) => ({ partition, offset: sliceOf(partition).last + 1n, metadata: null })),
    );
    parts.forEach((part, i) => {
      part.state.plan = null;
      const written =
        refusedRows.size === 0 ? keptByPart[i]! : keptByPart[i]!.filter((row) => !refusedRows.has(row));
      rememberRows(written, part.state.recent);
      metrics.events.inc({ topic }, written.length);
      metrics.eventsPerSecond.record(written.length);
    });
    metrics.batchSize.observe(parts.reduce((n, p) => n + p.messages.length, 0));
  };

  /** Closes `gathering` to newcomers (a later slice opens the next one). */
  const close = (gathering: Gathering) => {
    clearTimeout(gathering.timer);
    const open = gatherings.get(gathering.owner);
    if (open?.get(gathering.key) === gathering) open.delete(gathering.key);
  };

  /** Inserts the gathering's parts as one batch and settles every part's wait with the outcome. */
  const release = (gathering: Gathering) => {
    close(gathering);
    flush(gathering.owner, gathering.sink, gathering.parts, gathering.planned).then(
      () => {
        for (const w of gathering.waiting) w.resolve(true);
      },
      (err: unknown) => {
        for (const w of gathering.waiting) w.reject(err);
      },
    );
  };

  /** A re-formed batch whose partitions did not all come: each of its slices waits for redelivery. */
  const abandon = (gathering: Gathering, planned: readonly BatchSlice[]) => {
    close(gathering);
    const here = new Set(gathering.parts.map((p) => p.partition));
    logger.warn(
      {
        topic: gathering.parts[0]?.topic,
        waitingFor: planned.filter((s) => !here.has(s.partition)).map((s) => s.partition),
      },
      'a batch interrupted after its plan waits for all of its partitions; fetching again',
    );
    for (const w of gathering.waiting) w.resolve(false);
  };

  /** Opens the gathering `key` of `owner`, inserted (or, re-formed, abandoned) when its time is up. */
  const openGathering = (
    owner: Consumer,
    sink: Sink,
    key: string,
    planned: BatchSlice[] | null,
  ): Gathering => {
    const gathering: Gathering = {
      owner,
      sink,
      key,
      parts: [],
      events: 0,
      planned,
      timer: undefined,
      waiting: [],
    };
    gathering.timer = setTimeout(
      () => (planned ? abandon(gathering, planned) : release(gathering)),
      planned ? PLANNED_WAIT_MS : GATHER_MS,
    );
    let open = gatherings.get(owner);
    if (!open) {
      open = new Map();
      gatherings.set(owner, open);
    }
    open.set(key, gathering);
    return gathering;
  };

  /**
   * Hands one partition's slice to the batch it belongs to, and resolves once that batch is
   * committed (true), or with false when its batch is a re-formed one whose other partitions did
   * not come in time: the slice then waits for Kafka to deliver it again. A new slice joins the
   * topic's open batch, which is inserted when it holds `maxBatchEvents`, `partitionsPerInsert`
   * partitions, or GATHER_MS after its first slice; a re-formed one waits for every slice its
   * plan names, and a plan of one partition is inserted at once.
   */
  const joinBatch = (owner: Consumer, sink: Sink, part: Part): Promise<boolean> => {
    const plan = part.state.plan;
    const planned = plan && plan.first === BigInt(part.messages[0]!.offset) ? plan.slices : null;
    const key = planned ? `plan:${dedupToken(part.topic, planned)}` : `new:${part.topic}`;
    const gathering = gatherings.get(owner)?.get(key) ?? openGathering(owner, sink, key, planned);
    return new Promise<boolean>((resolve, reject) => {
      gathering.parts.push(part);
      gathering.events += part.messages.length;
      gathering.waiting.push({ resolve, reject });
      const full = planned
        ? gathering.parts.length >= planned.length
        : gathering.events >= maxBatchEvents || gathering.parts.length >= partitionsPerInsert;
      if (full) release(gathering);
    });
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
      // Every partition of a fetch at once, so their slices can join one insert (joinBatch); each
      // partition's own batches stay strictly in order.
      partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const sink = sinks.get(batch.topic);
        if (!sink || batch.messages.length === 0) return;
        const offsets = batch.messages.map((m) => BigInt(m.offset));
        let start = 0;
        while (start < offsets.length && isRunning() && !isStale()) {
          const state = await loadPartition(batch.topic, batch.partition, sink);
          const end = nextBatchEnd(offsets, start, maxBatchEvents, state.plan);
          if (end < start) break; // the planned batch is not all here yet: wait for redelivery with more
          const { topic, partition } = batch;
          const messages = batch.messages.slice(start, end + 1);
          const written = await joinBatch(current, sink, { topic, partition, messages, state, heartbeat });
          if (!written) break; // its batch's other partitions did not come: wait for redelivery
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

/**
 * kafkajs' partitionsConsumedConcurrently: eachBatch calls in flight at once. Above any member's
 * partition count, so a batch re-formed from its plan can always have all of its slices in hand.
 */
const PARTITIONS_AT_ONCE = 1_024;

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
