import { createLogger } from '@keytrail/core';
import { createEventCodec } from '@keytrail/events';
import {
  createProjector,
  createSinks,
  dedupToken,
  dropRepeats,
  formatPlanMetadata,
  insertSettings,
  projectorGroupId,
  RecentIds,
} from '@keytrail/projector';
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  expectExactCounts,
  groupLag,
  joinGroupIdle,
  makeDecisions,
  produceDecisions,
  readTopic,
  waitFor,
  withProjectorFixture,
} from './kit/index.ts';

const PARTITIONS = 3;
const SLICE = 400;

describe('a batch that spans partitions', () => {
  it('interrupted after its insert, is re-formed whole from its plan by two fresh members, and counted once', async () => {
    await withProjectorFixture(
      'cross-partition',
      async ({ ch, prefix, kafka, topics }) => {
        const { events, expected } = makeDecisions(12_000, { seed: 71 });
        await produceDecisions(kafka, topics, events);
        const groupId = projectorGroupId(prefix);

        // The first SLICE messages of every partition (each partition's arrive in offset order).
        const byPartition = new Map<number, KafkaMessage[]>();
        for (const message of await readTopic(kafka, topics.authDecisions, events.length)) {
          const have = byPartition.get(message.partition) ?? [];
          if (have.length < SLICE) byPartition.set(message.partition, [...have, message]);
        }
        expect([...byPartition.values()].map((m) => m.length)).toEqual(Array(PARTITIONS).fill(SLICE));

        // What a member did before it crashed: it committed the plan of one batch over all three
        // partitions, and ClickHouse took the batch (raw table and every view) under its token.
        const slices = [...byPartition.entries()]
          .sort(([a], [b]) => a - b)
          .map(([partition, messages]) => ({
            partition,
            first: BigInt(messages[0]!.offset),
            last: BigInt(messages.at(-1)!.offset),
          }));
        const sink = createSinks(topics, { codec: createEventCodec(), unregistered: new Set() }).get(
          topics.authDecisions,
        )!;
        const rows = [];
        for (const { partition } of slices) {
          const prepared = await sink.prepare(partition, byPartition.get(partition)!);
          rows.push(...dropRepeats(prepared.rows, new RecentIds(24 * 3_600_000, 1_000)).kept);
        }
        expect(rows).toHaveLength(PARTITIONS * SLICE);
        await sink.insert(ch, rows, {
          settings: insertSettings(dedupToken(topics.authDecisions, slices)),
        });
        const planner = await joinGroupIdle(kafka, groupId, topics.authDecisions);
        await planner.commitOffsets(
          slices.map((s) => ({
            topic: topics.authDecisions,
            partition: s.partition,
            offset: s.first.toString(),
            metadata: formatPlanMetadata(s.last, slices),
          })) as never,
        );
        await planner.disconnect();

        // Two members start on that group. Whoever is given the partitions re-forms the batch
        // from its plan, with the same token, so ClickHouse discards the redo; any other batch
        // (one partition, or more messages) would count these 1,200 decisions twice.
        const members = [1, 2].map((n) =>
          createProjector({
            kafka,
            ch,
            codec: createEventCodec(),
            topics,
            logger: createLogger(`cross-partition-${n}`, 'warn'),
            metrics: new Registry(),
            groupId,
            maxBatchEvents: 2_000,
          }),
        );
        await Promise.all(members.map((m) => m.start()));
        try {
          await waitFor(
            'projected',
            async () => (await groupLag(kafka, groupId, topics.authDecisions)) === 0,
            90_000,
            200,
          );
        } finally {
          await Promise.all(members.map((m) => m.stop()));
        }
        await expectExactCounts(ch, expected);
      },
      { partitions: PARTITIONS },
    );
  });
});
