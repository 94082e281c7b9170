import { randomBytes } from 'node:crypto';
import { AssignerProtocol, type Kafka, type KafkaMessage, type PartitionAssigner } from 'kafkajs';

/**
 * A partition assigner that gives every partition of every topic to one member (the first by
 * member id): for a consumer whose state must see all partitions together (the alerter judges a
 * workspace across every partition its decisions land on). Other members stand by and take over
 * when the active one leaves the group.
 */
export const singleActiveAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'KeytrailSingleActive',
  version: 0,
  async assign({ members, topics }) {
    const [active] = members.map((m) => m.memberId).sort();
    if (!active) return [];
    const assignment: Record<string, number[]> = {};
    for (const topic of topics)
      assignment[topic] = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: memberId === active ? assignment : {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'KeytrailSingleActive',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});

/**
 * Reads every partition of `topic` from its first offset to the end it has when called, in
 * offset order per partition, then stops. Returns the end offsets it read up to, per partition.
 * kafkajs has no group-less consumer: a throw-away group that never commits is used and deleted.
 */
export async function readWholeTopic(
  kafka: Kafka,
  topic: string,
  onMessage: (message: KafkaMessage, partition: number) => void,
  options: { timeoutMs?: number } = {},
): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `keytrail-read-${randomBytes(6).toString('hex')}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = new Map(offsets.map((o) => [o.partition, o.high]));
    const remaining = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
    if (remaining.size === 0) return ends;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 64 * 1024 * 1024 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${topic} was not read to its end in ${options.timeoutMs ?? 120_000} ms`)),
          options.timeoutMs ?? 120_000,
        );
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = BigInt(ends.get(batch.partition) ?? '0');
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                onMessage(message, batch.partition);
              }
              const last = batch.messages.at(-1);
              if (last && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
    }
    return ends;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
