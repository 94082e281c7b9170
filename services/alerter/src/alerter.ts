import { errorMessage, type Logger } from '@keytrail/core';
import {
  type AlertChange,
  alertEventOf,
  alertOf,
  createDetector,
  type Detector,
  type RuleBook,
} from '@keytrail/detection';
import {
  type AlertChangeType,
  type AlertEvent,
  type AlertEventCodec,
  type DecodedEvent,
  type EventCodec,
  EventDecodeError,
  fingerprintKey,
} from '@keytrail/events';
import {
  createIdempotentProducer,
  groupLiveness,
  readWholeTopic,
  type SchemaRegistry,
  singleActiveAssigner,
  type Topics,
} from '@keytrail/kafka';
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { AlerterMetrics } from './metrics.ts';
import { type Checkpoint, formatCheckpoint, parseCheckpoint, ReplayMarks } from './replayMarks.ts';

export interface AlerterOptions {
  kafka: Kafka;
  codec: EventCodec;
  alertCodec: AlertEventCodec;
  topics: Topics;
  logger: Logger;
  metrics: AlerterMetrics;
  groupId: string;
  rulesFor(workspaceId: string): RuleBook;
  /** Where writer schemas this codec does not ship are looked up; also where the alert schema is registered. */
  registry?: SchemaRegistry;
  /** How much event time a restart reads again to rebuild windows and baselines (default 1 h). */
  lookbackMs?: number;
  /** Bounded lateness of the watermark (default 2 s). */
  latenessMs?: number;
  /** Kafka group session timeout (default 30 s): how long a dead alerter keeps its partitions. */
  sessionTimeoutMs?: number;
}

export interface Alerter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Joined its group, state rebuilt, judging events (a standby member is ready too). */
  isReady(): boolean;
  /** Holds the partitions (not a standby): the one member that also delivers webhooks. */
  isActive(): boolean;
  stats(): ReturnType<Detector['stats']> & { published: number };
}

/** The alerter's consumer group, namespaced like the topics (KEYTRAIL_TOPIC_PREFIX). */
export function alerterGroupId(topicPrefix: string): string {
  return `${topicPrefix}alerter`;
}

const CHANGE_RANK: Record<AlertChangeType, number> = { FIRED: 0, UPDATED: 1, RESOLVED: 2 };
/** How often event time moves on and changes are published (the floor of time to alert). */
const TICK_MS = 250;
const COMMIT_EVERY_MS = 1_000;

/**
 * Detection as a Kafka consumer (DESIGN.md "Alerts"): decisions and lifecycle events in, alert
 * changes out on keytrail.alerts. One member of the group holds every partition (a workspace's
 * decisions spread over all of them); others stand by.
 *
 * What survives a restart, SIGKILL included, and how:
 * - Key history: the whole lifecycle topic is read at start (it is kept forever).
 * - Windows and baselines: the committed offset of each partition is not how far the alerter
 *   read but where a restart must start reading again (the first offset of the last `lookback`
 *   of event time), so they are rebuilt from the same events.
 * - Open alerts: the alerts topic is read at start; open ones are continued, not fired again.
 * - What was already published: the commit's metadata holds the watermark reached, and every
 *   change up to it was published before the commit; the replay publishes only what is newer,
 *   and never a change keytrail.alerts already holds.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const { kafka, codec, alertCodec, topics, logger, metrics } = options;
  const lookbackMs = options.lookbackMs ?? 3_600_000;
  const latenessMs = options.latenessMs ?? 2_000;
  const producer: Producer = createIdempotentProducer(kafka);
  const admin: Admin = kafka.admin();
  let consumer: Consumer | undefined;
  let detector: Detector = newDetector();
  /** alert id → the newest change of it on keytrail.alerts. */
  let published = new Map<string, { change: AlertChangeType; updatedAt: number }>();
  /** Changes detection found that Kafka does not have yet. */
  let outbox: AlertChange[] = [];
  /** Changes up to this event time were published by an earlier run. */
  let resumeWatermark = Number.NEGATIVE_INFINITY;
  const marks = new Map<string, ReplayMarks>();
  /** Per partition: nothing left to read at the last fetch (so a quiet stream may move event time). */
  const caughtUp = new Map<string, boolean>();
  let newestEventAt: number | undefined;
  let newestEventSeenAt = 0;
  let ready = false;
  let active = false;
  let stopping = false;
  let tickTimer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastCommitAt = 0;
  /** Serializes batches and the quiet-stream tick: detection state has one writer. */
  let work: Promise<void> = Promise.resolve();

  function newDetector(): Detector {
    return createDetector({ rulesFor: options.rulesFor, latenessMs });
  }

  const serially = (step: () => Promise<void>): Promise<void> => {
    const next = work.then(step);
    work = next.catch(() => {});
    return next;
  };

  /** What the alert topic and the committed checkpoints say, loaded into a fresh detector. */
  async function rebuildState(beforeJoin: boolean): Promise<void> {
    const started = Date.now();
    detector = newDetector();
    published = new Map();
    outbox = [];
    marks.clear();
    caughtUp.clear();
    const latest = new Map<string, AlertEvent>();
    await readWholeTopic(kafka, topics.alerts, (message) => {
      if (!message.value) return;
      try {
        const event = alertCodec.decode(message.value);
        const known = latest.get(event.alert_id);
        if (!known || isNewer(event.updated_at, event.change, known.updated_at, known.change))
          latest.set(event.alert_id, event);
      } catch (err) {
        logger.warn(`keytrail.alerts offset ${message.offset}: ${errorMessage(err)}; skipped`);
      }
    });
    for (const [id, event] of latest)
      published.set(id, { change: event.change, updatedAt: event.updated_at });

    const checkpoints = await committedCheckpoints();
    const reached = [...checkpoints.values()].map((c) => c.watermark).filter((w) => w !== undefined);
    resumeWatermark = reached.length > 0 ? Math.min(...reached) : Number.NEGATIVE_INFINITY;
    const open = [...latest.values()].filter((e) => e.status === 'FIRING').map(alertOf);
    detector.restore(open, Number.isFinite(resumeWatermark) ? resumeWatermark : undefined);

    let history = 0;
    const lifecycleEnds = await readWholeTopic(kafka, topics.keyLifecycle, (message) => {
      const decoded = decodeQuietly(message.value);
      if (decoded?.kind === 'key_lifecycle') {
        detector.history(decoded.event);
        history++;
      }
    });
    if (beforeJoin) await setStartOffsets(checkpoints, lifecycleEnds);
    metrics.firing.set(open.length);
    logger.info(
      `alerter state rebuilt in ${Date.now() - started} ms: ${latest.size} alerts known (${open.length} open), ${history} lifecycle events, resuming after ${Number.isFinite(resumeWatermark) ? new Date(resumeWatermark).toISOString() : 'nothing'}`,
    );
  }

  async function committedCheckpoints(): Promise<Map<string, Checkpoint & { offset: string }>> {
    const result = new Map<string, Checkpoint & { offset: string }>();
    const committed = await admin.fetchOffsets({
      groupId: options.groupId,
      topics: [topics.authDecisions, topics.keyLifecycle],
    });
    for (const { topic, partitions } of committed)
      for (const p of partitions)
        if (Number(p.offset) >= 0)
          result.set(`${topic}/${p.partition}`, { ...parseCheckpoint(p.metadata), offset: p.offset });
    return result;
  }

  /**
   * A partition with no commit yet starts at what a new alerter should judge: decisions of the
   * last `lookback` (by broker timestamp), lifecycle events after the history just read.
   */
  async function setStartOffsets(
    checkpoints: Map<string, unknown>,
    lifecycleEnds: Map<number, string>,
  ): Promise<void> {
    const decisions = (
      await admin.fetchTopicOffsetsByTimestamp(topics.authDecisions, Date.now() - lookbackMs)
    )
      .filter((p) => !checkpoints.has(`${topics.authDecisions}/${p.partition}`))
      .map((p) => ({ partition: p.partition, offset: p.offset }));
    const lifecycle = [...lifecycleEnds]
      .filter(([partition]) => !checkpoints.has(`${topics.keyLifecycle}/${partition}`))
      .map(([partition, offset]) => ({ partition, offset }));
    for (const [topic, partitions] of [
      [topics.authDecisions, decisions],
      [topics.keyLifecycle, lifecycle],
    ] as const) {
      if (partitions.length === 0) continue;
      try {
        await admin.setOffsets({ groupId: options.groupId, topic, partitions });
      } catch (err) {
        // The group has a live member (a standby): it started from its own commits, or will.
        logger.warn(`alerter start offsets of ${topic} not set: ${errorMessage(err)}`);
      }
    }
  }

  function decodeQuietly(value: Buffer | null): DecodedEvent | undefined {
    if (!value) return undefined;
    try {
      return codec.decode(value);
    } catch {
      return undefined;
    }
  }

  /** Decodes a message, learning a writer schema from the registry when this codec lacks it. */
  async function decode(value: Buffer | null): Promise<DecodedEvent | undefined> {
    if (!value) return undefined;
    try {
      return codec.decode(value);
    } catch (err) {
      if (
        err instanceof EventDecodeError &&
        err.reason === 'UNKNOWN_FINGERPRINT' &&
        err.fingerprint !== undefined &&
        options.registry
      ) {
        const canonical = await options.registry.lookup(fingerprintKey(err.fingerprint));
        if (canonical) {
          codec.registerCanonical(canonical);
          return decodeQuietly(value);
        }
      }
      return undefined;
    }
  }

  /** Publish only what no earlier run published: see the guarantees above. */
  function isNew(change: AlertChange): boolean {
    if (change.alert.updated_at <= resumeWatermark) return false;
    const known = published.get(change.alert.id);
    if (!known) return change.change === 'FIRED'; // an update of an alert nobody was told of: a replay artefact
    return isNewer(change.alert.updated_at, change.change, known.updatedAt, known.change);
  }

  /**
   * Publishes what detection found, oldest first. Changes wait in `outbox` until Kafka has them:
   * a broker outage delays alerts, it does not lose them (and nothing is committed meanwhile).
   */
  async function publish(changes: AlertChange[]): Promise<void> {
    for (const change of changes) {
      if (!isNew(change)) continue;
      outbox.push(change);
      // Known from now on: a later change of the alert follows it out of the outbox, in order.
      published.set(change.alert.id, { change: change.change, updatedAt: change.alert.updated_at });
    }
    if (outbox.length === 0) return;
    const events = outbox.map(alertEventOf);
    await producer.send({
      topic: topics.alerts,
      acks: -1,
      messages: events.map((e) => ({
        key: e.alert_id,
        value: alertCodec.encode(e),
        timestamp: String(Date.now()),
      })),
    });
    outbox = [];
    for (const e of events) {
      metrics.alerts.inc({ kind: e.kind, change: e.change });
      logger.info(
        { alert_id: e.alert_id, workspace_id: e.workspace_id, kind: e.kind },
        `alert ${e.change}: ${e.summary}`,
      );
    }
  }

  /** Moves event time up to the watermark, publishes what changed, then (at most once a second) commits where a restart starts. */
  async function advanceAndCommit(owner: Consumer): Promise<void> {
    await publish(detector.advance());
    const stats = detector.stats();
    metrics.late.set(stats.late);
    metrics.firing.set(stats.firing);
    if (stats.watermark === undefined) return;
    metrics.watermarkLag.set(Math.max(0, (Date.now() - stats.watermark) / 1000));
    if (Date.now() - lastCommitAt < COMMIT_EVERY_MS) return;
    const commits: { topic: string; partition: number; offset: string; metadata: string }[] = [];
    for (const [key, partitionMarks] of marks) {
      const cut = key.lastIndexOf('/');
      commits.push({
        topic: key.slice(0, cut),
        partition: Number(key.slice(cut + 1)),
        offset: partitionMarks.replayFrom(stats.watermark - lookbackMs).toString(),
        metadata: formatCheckpoint({ watermark: stats.watermark }),
      });
    }
    if (commits.length > 0) await owner.commitOffsets(commits as never);
    lastCommitAt = Date.now();
  }

  /** Hands one partition's batch to detection; event time moves on the next tick, not per batch. */
  async function eachBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const partition = `${batch.topic}/${batch.partition}`;
    const partitionMarks = marks.get(partition) ?? new ReplayMarks(BigInt(batch.messages[0]?.offset ?? '0'));
    marks.set(partition, partitionMarks);
    for (const message of batch.messages) {
      if (stopping) return;
      const decoded = await decode(message.value);
      if (!decoded) {
        metrics.undecodable.inc();
        continue;
      }
      metrics.events.inc({ topic: batch.topic });
      partitionMarks.saw(decoded.event.occurred_at, BigInt(message.offset));
      if (decoded.kind === 'auth_decision') detector.decision(partition, decoded.event);
      else detector.lifecycle(partition, decoded.event);
      if (newestEventAt === undefined || decoded.event.occurred_at > newestEventAt) {
        newestEventAt = decoded.event.occurred_at;
        newestEventSeenAt = Date.now();
      }
    }
    caughtUp.set(partition, batch.offsetLag() === '0');
    await heartbeat();
  }

  /**
   * Every tick: event time moves up to the watermark and what changed is published. Ticks, not
   * batches, move it: one fetch hands over every partition's batch, and all of them must be in
   * before the watermark moves, or the later partitions' events would count as late.
   * In a quiet stream no event moves the watermark, so the last events of a burst would wait for
   * the next one: once every partition was read to its end and nothing came for a second, event
   * time moves on with the wall clock from the newest event.
   */
  function startTicking(owner: Consumer): void {
    tickTimer = setInterval(() => {
      if (!ready || ticking) return;
      ticking = true;
      serially(async () => {
        const quietFor = Date.now() - newestEventSeenAt;
        if (newestEventAt !== undefined && quietFor >= 1_000 && [...caughtUp.values()].every(Boolean))
          detector.quietUntil(newestEventAt + quietFor);
        await advanceAndCommit(owner);
      })
        .catch((err: unknown) => logger.warn({ err }, 'alerter tick failed; the next one retries'))
        .finally(() => {
          ticking = false;
        });
    }, TICK_MS);
    tickTimer.unref();
  }

  async function startConsumer(): Promise<void> {
    const fresh = kafka.consumer({
      groupId: options.groupId,
      partitionAssigners: [singleActiveAssigner],
      ...groupLiveness(options.sessionTimeoutMs),
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 16 * 1024 * 1024,
    });
    consumer = fresh;
    // A member that gains partitions rebuilds its state from the topics before judging them:
    // after any rebalance the group resumes at the committed offsets, the replay starts.
    let builtForFirstJoin = true;
    fresh.on(fresh.events.GROUP_JOIN, ({ payload }) => {
      const assigned = Object.values(payload.memberAssignment).some((p) => p.length > 0);
      active = assigned;
      metrics.active.set(assigned ? 1 : 0);
      const firstJoin = builtForFirstJoin;
      builtForFirstJoin = false;
      if (!assigned || firstJoin) {
        ready = true;
        return;
      }
      ready = false;
      serially(async () => {
        await rebuildState(false);
        ready = true;
      }).catch((err: unknown) => logger.error({ err }, 'alerter state could not be rebuilt'));
    });
    await fresh.connect();
    await fresh.subscribe({ topics: [topics.authDecisions, topics.keyLifecycle], fromBeginning: false });
    await fresh.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: (payload) => serially(() => eachBatch(payload)),
    });
    startTicking(fresh);
  }

  return {
    async start() {
      await admin.connect();
      await producer.connect();
      await options.registry?.register([alertCodec.registration]);
      // Offsets are set before the first join, while no member can hold them.
      await rebuildState(true);
      await startConsumer();
    },
    async stop() {
      stopping = true;
      clearInterval(tickTimer);
      await consumer?.disconnect().catch(() => {});
      await work;
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
    isReady: () => ready,
    isActive: () => active && ready,
    stats: () => ({ ...detector.stats(), published: published.size }),
  };
}

function isNewer(at: number, change: AlertChangeType, thanAt: number, thanChange: AlertChangeType): boolean {
  return at > thanAt || (at === thanAt && CHANGE_RANK[change] > CHANGE_RANK[thanChange]);
}
