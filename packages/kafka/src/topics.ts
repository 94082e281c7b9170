import type { Admin, ITopicConfig } from 'kafkajs';

/** The topics of DESIGN.md, without the prefix. */
export const TOPIC_NAMES = {
  authDecisions: 'auth-decisions',
  keyLifecycle: 'key-lifecycle',
  alerts: 'alerts',
  dlq: 'dlq',
  schemas: 'schemas',
} as const;

export type TopicRole = keyof typeof TOPIC_NAMES;
export type Topics = Record<TopicRole, string>;

export function topicNames(prefix: string): Topics {
  return {
    authDecisions: `${prefix}${TOPIC_NAMES.authDecisions}`,
    keyLifecycle: `${prefix}${TOPIC_NAMES.keyLifecycle}`,
    alerts: `${prefix}${TOPIC_NAMES.alerts}`,
    dlq: `${prefix}${TOPIC_NAMES.dlq}`,
    schemas: `${prefix}${TOPIC_NAMES.schemas}`,
  };
}

export interface TopicLayout {
  partitions: number;
  replicationFactor: number;
}

/** How each topic is created when missing. Lifecycle is kept forever: it is the source of truth of key state. */
export function topicConfigs(topics: Topics, layout: TopicLayout): ITopicConfig[] {
  const base = { numPartitions: layout.partitions, replicationFactor: layout.replicationFactor };
  // One ingest request (5 MiB of JSON) becomes one record batch per partition; 1 MiB, Kafka's
  // default, is too small for that. The projector fetches up to 16 MiB per partition.
  const maxMessage = { name: 'max.message.bytes', value: String(16 * 1024 * 1024) };
  return [
    {
      topic: topics.authDecisions,
      ...base,
      configEntries: [{ name: 'retention.ms', value: String(30 * 86_400_000) }, maxMessage],
    },
    {
      topic: topics.keyLifecycle,
      ...base,
      configEntries: [{ name: 'retention.ms', value: '-1' }, maxMessage],
    },
    {
      topic: topics.alerts,
      ...base,
      configEntries: [{ name: 'retention.ms', value: String(90 * 86_400_000) }, maxMessage],
    },
    {
      topic: topics.dlq,
      ...base,
      configEntries: [{ name: 'retention.ms', value: String(30 * 86_400_000) }, maxMessage],
    },
    {
      // The schema registry: a few records, kept forever, one per fingerprint (compacted). One
      // partition, so "read to the end" is one offset.
      topic: topics.schemas,
      numPartitions: 1,
      replicationFactor: layout.replicationFactor,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'retention.ms', value: '-1' },
      ],
    },
  ];
}

/**
 * Creates any missing topic (existing ones are left as they are) and waits until every partition
 * has a leader. Returns one warning per existing topic with fewer partitions than `layout` asks
 * for: Kafka never lowers a count, and raising one moves keys between partitions, so Keytrail
 * only reports it.
 */
export async function ensureTopics(
  admin: Admin,
  topics: Topics,
  layout: TopicLayout,
  timeoutMs = 30_000,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted = topicConfigs(topics, layout);
  const missing = wanted.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
    } catch (err) {
      // Another process created them in between: fine.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    }
  }
  await waitForTopicLeaders(admin, Object.values(topics), timeoutMs);
  const present = wanted.filter((t) => existing.has(t.topic));
  if (present.length === 0) return [];
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
  const warnings: string[] = [];
  for (const t of present) {
    const have = metadata.find((m) => m.name === t.topic)?.partitions.length ?? 0;
    if (have < (t.numPartitions ?? 0))
      warnings.push(
        `topic ${t.topic} has ${have} partitions, fewer than the ${t.numPartitions} configured (KEYTRAIL_TOPIC_PARTITIONS); it is left as it is`,
      );
  }
  return warnings;
}

/**
 * Waits until every partition of `names` has a leader. kafkajs' own waitForLeaders gives up on
 * UNKNOWN_TOPIC_OR_PARTITION, which Kafka answers for a moment after creating a topic.
 */
export async function waitForTopicLeaders(admin: Admin, names: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: names });
      if (
        metadata.length === names.length &&
        metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
      )
        return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${names.join(', ')} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
