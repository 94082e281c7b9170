import type { Admin, ITopicConfig } from 'kafkajs';

/** The four topics of DESIGN.md, without the prefix. */
export const TOPIC_NAMES = {
  authDecisions: 'auth-decisions',
  keyLifecycle: 'key-lifecycle',
  alerts: 'alerts',
  dlq: 'dlq',
} as const;

export type TopicRole = keyof typeof TOPIC_NAMES;
export type Topics = Record<TopicRole, string>;

export function topicNames(prefix: string): Topics {
  return {
    authDecisions: `${prefix}${TOPIC_NAMES.authDecisions}`,
    keyLifecycle: `${prefix}${TOPIC_NAMES.keyLifecycle}`,
    alerts: `${prefix}${TOPIC_NAMES.alerts}`,
    dlq: `${prefix}${TOPIC_NAMES.dlq}`,
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
  ];
}

/** Creates any missing topic; existing topics are left as they are. */
export async function ensureTopics(admin: Admin, topics: Topics, layout: TopicLayout): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topicConfigs(topics, layout).filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another process created them in between: fine.
    if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
  }
}
