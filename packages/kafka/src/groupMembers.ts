import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from '@keytrail/core';
import type { Consumer, Kafka } from 'kafkajs';

/**
 * Consumer-group members left behind by a process that died. A member that dies without leaving
 * keeps its partitions until its session times out (30 s by default), and a new member's join
 * waits for it: a process restarted after a crash stood still that long before consuming. Kafka's
 * own clients avoid the wait with static membership (KIP-345); kafkajs has none. So a process
 * that owns a data directory records the member ids its consumers join as in a file there, and
 * the next process started on that directory (which holds its lock, so the recorder is gone)
 * removes those members (LeaveGroup on their behalf) before its own consumer of the group joins.
 */

/** The file's shape: group id → member ids of this process's consumers now in that group. */
export type GroupMembers = Record<string, string[]>;

/** Reads a members file; a missing, unreadable or foreign file counts as no members. */
export function readGroupMembers(file: string): GroupMembers {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  const members: GroupMembers = {};
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return members;
  for (const [groupId, ids] of Object.entries(parsed)) {
    if (!Array.isArray(ids)) continue;
    const valid = ids.filter((id): id is string => typeof id === 'string' && id.length > 0);
    if (valid.length > 0) members[groupId] = valid;
  }
  return members;
}

/** Writes a members file whole (a rename, so a crash mid-write leaves the old one or the new). */
function writeGroupMembers(file: string, members: GroupMembers): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(members)}\n`);
  renameSync(temporary, file);
}

/** The members of a process's live consumers: one entry per consumer, its latest member id. */
export function membersByGroup(live: Iterable<{ groupId: string; memberId: string }>): GroupMembers {
  const members: GroupMembers = {};
  for (const { groupId, memberId } of live) members[groupId] = [...(members[groupId] ?? []), memberId];
  return members;
}

/**
 * Makes every consumer of `kafka` record its membership in `file`, and remove, before its first
 * join, the members of its group that the file's previous writer left. Only for a process that
 * holds the data directory `file` is in: another live process's members would be removed too.
 * A failed removal is logged, and the join then waits out their session as it would have.
 */
export function recordGroupMembers(kafka: Kafka, file: string, logger?: Logger): void {
  const leftBehind = new Map(Object.entries(readGroupMembers(file)));
  const live = new Map<Consumer, { groupId: string; memberId: string }>();
  const save = () => {
    try {
      writeGroupMembers(file, membersByGroup(live.values()));
    } catch (err) {
      logger?.warn({ err, file }, 'kafka: could not record consumer group members');
    }
  };

  const removeLeftBehind = async (groupId: string) => {
    const memberIds = leftBehind.get(groupId);
    leftBehind.delete(groupId);
    if (!memberIds?.length) return;
    const admin = kafka.admin({ retry: { retries: 3 } });
    try {
      await admin.connect();
      const results = await admin.removeGroupMembers({ groupId, memberIds });
      const removed = results.filter((r) => r.removed).length;
      if (removed > 0)
        logger?.info(
          `kafka: removed ${removed} member(s) a stopped process left in group ${groupId}, so this one joins without waiting out their session`,
        );
    } catch (err) {
      logger?.warn(
        { err, groupId },
        `kafka: could not remove the members a stopped process left in group ${groupId}; joining waits out their session`,
      );
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };

  const makeConsumer = kafka.consumer.bind(kafka);
  kafka.consumer = (config) => {
    const consumer = makeConsumer(config);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const current = live.get(consumer);
      if (current?.memberId === payload.memberId) return;
      live.set(consumer, { groupId: config.groupId, memberId: payload.memberId });
      save();
    });
    // A clean disconnect leaves the group itself.
    consumer.on(consumer.events.DISCONNECT, () => {
      if (live.delete(consumer)) save();
    });
    const run = consumer.run.bind(consumer);
    consumer.run = async (runConfig) => {
      await removeLeftBehind(config.groupId);
      return run(runConfig);
    };
    return consumer;
  };
}
