import kafkajs, { type Assigner, type PartitionAssigner } from 'kafkajs';

// kafkajs is CommonJS, and Node's ES-module loader cannot see this one among its exports.
const { AssignerProtocol } = kafkajs;

/** The group protocol every projector member speaks (and only this one: see planAwareAssigner). */
export const PLAN_AWARE_PROTOCOL = 'KeytrailPlanAware';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Partitions of one topic whose committed plans name one batch: they must go to one member. */
export interface PendingBatch {
  topic: string;
  partitions: number[];
}

/**
 * Who gets which partitions. Each pending batch of several partitions is one unit, every other
 * partition a unit of its own; units go, largest first, to the member holding the fewest
 * partitions so far (ties to the first by member id). Pure and deterministic: every leader
 * computes the same assignment from the same group.
 */
export function assignPartitions(
  memberIds: readonly string[],
  partitions: readonly TopicPartition[],
  pending: readonly PendingBatch[],
): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const assignment = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  if (members.length === 0) return assignment;
  const keyOf = (p: TopicPartition) => `${p.topic}|${p.partition}`;
  const exists = new Set(partitions.map(keyOf));
  const claimed = new Set<string>();
  const units: TopicPartition[][] = [];
  for (const batch of pending) {
    const unit = [...new Set(batch.partitions)]
      .map((partition) => ({ topic: batch.topic, partition }))
      .filter((p) => exists.has(keyOf(p)) && !claimed.has(keyOf(p)));
    for (const p of unit) claimed.add(keyOf(p));
    if (unit.length > 0) units.push(unit);
  }
  for (const p of partitions) if (!claimed.has(keyOf(p))) units.push([p]);
  const byTopicPartition = (a: TopicPartition, b: TopicPartition) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
  units.sort((a, b) => b.length - a.length || byTopicPartition(a[0]!, b[0]!));
  const load = new Map(members.map((m) => [m, 0]));
  for (const unit of units) {
    let target = members[0]!;
    for (const m of members) if (load.get(m)! < load.get(target)!) target = m;
    load.set(target, load.get(target)! + unit.length);
    const topics = assignment.get(target)!;
    for (const { topic, partition } of unit) {
      topics[topic] ??= [];
      topics[topic].push(partition);
    }
  }
  for (const topics of assignment.values())
    for (const list of Object.values(topics)) list.sort((a, b) => a - b);
  return assignment;
}

/**
 * A kafkajs assignor that never splits a pending batch of several partitions between members
 * (a batch is re-formed whole after a crash, so its member needs every partition it spans).
 * `pendingBatches` reads the group's committed plans. It is the only protocol projector members
 * offer: a member that offered round-robin too could be given half of a batch by a group that
 * settled on round-robin, so a member of an older version (round-robin only) keeps a newer one
 * out of the group until it leaves, rather than split a batch.
 */
export function planAwareAssigner(
  pendingBatches: (topics: readonly string[]) => Promise<PendingBatch[]>,
): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: PLAN_AWARE_PROTOCOL,
    version: 0,
    async assign({ members, topics }) {
      const partitions = topics.flatMap((topic) =>
        cluster.findTopicPartitionMetadata(topic).map((m) => ({ topic, partition: m.partitionId })),
      );
      const assignment = assignPartitions(
        members.map((m) => m.memberId),
        partitions,
        await pendingBatches(topics),
      );
      return [...assignment].map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: topicPartitions,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: PLAN_AWARE_PROTOCOL,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}
