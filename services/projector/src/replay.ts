import {
  applyRetention,
  type ClickHouseDriver,
  classifyTables,
  dropDatabase,
  exchangeTables,
  migrate,
  type RetentionSettings,
  recreateDatabase,
  type TableRoles,
} from '@keytrail/clickhouse';
import { type Logger, sleep } from '@keytrail/core';
import type { EventCodec } from '@keytrail/events';
import type { SchemaRegistry, Topics } from '@keytrail/kafka';
import type { Admin, Kafka } from 'kafkajs';

import { dropRepeats, rememberRows } from './sink/dedupe.ts';
import { dedupToken } from './sink/plan.ts';
import { DEFAULT_MAX_IDS_PER_PARTITION, RecentIds } from './sink/recentIds.ts';
import { createSinks, insertSettings } from './sink/sinks.ts';

export type ReplayPhase = 'rebuild' | 'waiting-for-projectors' | 'catch-up' | 'switch' | 'done';

export interface ReplayProgress {
  phase: ReplayPhase;
  /** Messages read so far, and how many the phase must read. */
  done: number;
  total: number;
  eventsPerSecond: number;
}

export interface ReplayOptions {
  kafka: Kafka;
  /** The serving database; fresh tables are built in `<database>_replay` beside it. */
  ch: ClickHouseDriver;
  codec: EventCodec;
  topics: Topics;
  logger: Logger;
  retention: RetentionSettings;
  /** The live projectors' group (projectorGroupId of the prefix). */
  projectorGroupId: string;
  maxBatchEvents?: number;
  /** Keep the old tables in `<database>_replay` instead of dropping them. */
  keepOld?: boolean;
  /** Where writer schemas not shipped here are looked up, as the projector does. */
  registry?: SchemaRegistry;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayResult {
  events: number;
  deadLetters: number;
  retriesDropped: number;
  /** The projection tables exchanged with their rebuilt twins. */
  tables: string[];
  /** Keytrail's own state (tokens, …), left as it was. */
  kept: string[];
}

/**
 * What a replay rebuilds and what it leaves alone, in the serving database. Fails on a table in
 * neither list (tableRoles.ts): replaying it would either wipe state or leave a projection stale.
 */
export async function replayPlan(ch: ClickHouseDriver): Promise<TableRoles> {
  const roles = await classifyTables(ch, ch.database);
  if (roles.unclassified.length > 0) {
    throw new Error(
      `replay does not know whether to rebuild or keep ${roles.unclassified.join(', ')}: list each in PROJECTION_TABLES or OWN_STATE_TABLES (packages/clickhouse/src/tableRoles.ts)`,
    );
  }
  return roles;
}

type Positions = Map<string, bigint>; // "topic:partition" → offset

async function endOffsets(admin: Admin, topics: string[]): Promise<{ low: Positions; high: Positions }> {
  const low: Positions = new Map();
  const high: Positions = new Map();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      low.set(`${topic}:${p.partition}`, BigInt(p.low));
      high.set(`${topic}:${p.partition}`, BigInt(p.high));
    }
  }
  return { low, high };
}

/**
 * `keytrail replay`: rebuilds every projection from the retained topics into fresh tables while
 * the current ones keep serving, then switches over.
 *
 *  1. Create `<db>_replay` and migrate it.
 *  2. Rebuild: read both topics from their start to their current end into the fresh tables (the
 *     same decoding, validation and retry dropping as the projector; dead letters are counted, not
 *     re-sent).
 *  3. Wait until the live projectors have stopped (their consumer group is empty).
 *  4. Catch up to where they committed, so nothing they wrote is missing.
 *  5. Move their group to exactly where the replay ended (no event twice, none lost), exchange every
 *     projection table with its fresh twin, and drop the old ones. Restarted projectors continue
 *     from there. Keytrail's own state (API tokens and their use) is in no topic, so its tables
 *     are never exchanged: they stay in the serving database as they were (`replayPlan`).
 */
export async function replayProjections(options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, ch, codec, topics, logger } = options;
  const groupId = options.projectorGroupId;
  const maxBatch = options.maxBatchEvents ?? 50_000;
  const topicList = [topics.authDecisions, topics.keyLifecycle];
  const unregistered = new Set<string>();
  const sinks = createSinks(topics, { codec, registry: options.registry, unregistered });
  const replayDb = `${ch.database}_replay`;
  const plan = await replayPlan(ch);
  const admin = kafka.admin();
  await admin.connect();
  const result: ReplayResult = {
    events: 0,
    deadLetters: 0,
    retriesDropped: 0,
    tables: [],
    kept: plan.ownState,
  };
  const recent = new Map<string, RecentIds>();
  const position: Positions = new Map();
  const started = Date.now();
  let done = 0;
  const report = (phase: ReplayPhase, total: number) =>
    options.onProgress?.({
      phase,
      done,
      total,
      eventsPerSecond: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)),
    });

  try {
    // 1. Fresh tables beside the serving ones.
    await recreateDatabase(ch, replayDb);
    const target = ch.withDatabase(replayDb);
    await migrate(target);
    await applyRetention(target, options.retention);

    const { low, high } = await endOffsets(admin, topicList);
    for (const [tp, offset] of low) position.set(tp, offset);

    /** Reads every partition from `position` up to (not including) `until`, into the fresh tables. */
    const readUntil = async (until: Positions, phase: ReplayPhase): Promise<void> => {
      let total = 0;
      for (const [tp, end] of until) total += Number(end - (position.get(tp) ?? 0n));
      done = 0;
      const remaining = () => [...until].filter(([tp, end]) => (position.get(tp) ?? 0n) < end);
      if (remaining().length === 0) return;
      const consumer = kafka.consumer({
        groupId: `${groupId}-replay-${Date.now()}`,
        maxBytesPerPartition: 16 * 1024 * 1024,
      });
      await consumer.connect();
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
        // Start each assigned partition where the replay stands (kafkajs seeks after join).
        for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
          for (const partition of partitions)
            consumer.seek({ topic, partition, offset: String(position.get(`${topic}:${partition}`) ?? 0n) });
        }
      });
      await consumer.subscribe({ topics: topicList, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const tp = `${batch.topic}:${batch.partition}`;
          const end = until.get(tp) ?? 0n;
          const from = position.get(tp) ?? 0n;
          const messages = batch.messages.filter((m) => BigInt(m.offset) >= from && BigInt(m.offset) < end);
          const sink = sinks.get(batch.topic)!;
          let window = recent.get(tp);
          if (!window) {
            window = new RecentIds(
              options.retention.dedupWindowHours * 3_600_000,
              DEFAULT_MAX_IDS_PER_PARTITION,
            );
            recent.set(tp, window);
          }
          for (let i = 0; i < messages.length; i += maxBatch) {
            const chunk = messages.slice(i, i + maxBatch);
            const { rows, deadLetters } = await sink.prepare(batch.partition, chunk);
            const { kept, dropped } = dropRepeats(rows, window);
            const first = BigInt(chunk[0]!.offset);
            const last = BigInt(chunk.at(-1)!.offset);
            await sink.insert(target, kept, {
              settings: insertSettings(
                dedupToken(batch.topic, [{ partition: batch.partition, first, last }]),
              ),
            });
            rememberRows(kept, window);
            result.events += kept.length;
            result.deadLetters += deadLetters.length;
            result.retriesDropped += dropped;
            position.set(tp, last + 1n);
            done += chunk.length;
            report(phase, total);
            await heartbeat();
          }
          // Positions are the replay's own (`position`); resolving lets kafkajs fetch on instead of
          // handing a finished partition's past-the-end messages back again and again.
          const lastOffset = batch.messages.at(-1)?.offset;
          if (lastOffset !== undefined) resolveOffset(lastOffset);
          if (remaining().length === 0) finish();
        },
      });
      await finished;
      await consumer.disconnect();
    };

    // 2. Rebuild up to the current end of both topics.
    await readUntil(high, 'rebuild');

    // 3. The live projectors must stop before the switch: they write into the current tables.
    for (;;) {
      const [group] = (await admin.describeGroups([groupId])).groups;
      if (!group || group.state === 'Empty' || group.state === 'Dead') break;
      report('waiting-for-projectors', 0);
      await sleep(1_000);
    }

    // 4. Catch up to what they committed.
    const committed: Positions = new Map(position);
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: topicList })) {
      for (const p of partitions) {
        const tp = `${topic}:${p.partition}`;
        const offset = BigInt(p.offset);
        if (offset > (committed.get(tp) ?? 0n)) committed.set(tp, offset);
      }
    }
    await readUntil(committed, 'catch-up');

    // 5. Hand the group the replay's end, then swap every table for its fresh twin.
    report('switch', 0);
    for (const topic of topicList) {
      const partitions = [...position]
        .filter(([tp]) => tp.startsWith(`${topic}:`))
        .map(([tp, offset]) => ({
          partition: Number(tp.slice(topic.length + 1)),
          offset: offset.toString(),
        }));
      await admin.setOffsets({ groupId, topic, partitions });
    }
    for (const table of plan.projections) {
      await exchangeTables(ch, ch.database, replayDb, table);
      result.tables.push(table);
    }
    if (!options.keepOld) await dropDatabase(ch, replayDb);
    await target.close();
    report('done', done);
    logger.info({ ...result }, 'replay switched over');
    return result;
  } finally {
    await admin.disconnect();
  }
}
