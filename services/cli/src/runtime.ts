import { join } from 'node:path';
import { applyRetention, type ClickHouseDriver, createClickHouseDriver, migrate } from '@keytrail/clickhouse';
import { type KeytrailConfig, KeytrailError, type Logger } from '@keytrail/core';
import { createEventCodec, type EventCodec } from '@keytrail/events';
import { createKafka, createLocalBroker, ensureTopics, type Topics, topicNames } from '@keytrail/kafka';
import type { Kafka } from 'kafkajs';
import type { Lifecycle } from './lifecycle.ts';

/** Kafka to use: the configured cluster, or (all-in-one only) a managed local broker. */
export async function connectKafka(
  config: KeytrailConfig,
  lifecycle: Lifecycle,
  logger: Logger,
  options: { allowManaged: boolean },
): Promise<{ kafka: Kafka; brokers: string[]; topics: Topics }> {
  let brokers = config.kafkaBrokers;
  let partitions = 6;
  let replicationFactor = 3;
  if (!brokers) {
    if (!options.allowManaged) {
      throw new KeytrailError(
        'UNAVAILABLE',
        'Set KEYTRAIL_KAFKA_BROKERS (host:port,...): distributed services need a Kafka cluster.',
      );
    }
    const broker = createLocalBroker({
      dataDir: join(config.dataDir, 'kafka'),
      log: (line) => logger.info(line),
    });
    lifecycle.add({ name: 'kafka broker', stop: () => broker.stop() });
    await broker.start();
    brokers = broker.brokers;
    partitions = 3;
    replicationFactor = 1;
  }
  const kafka = createKafka({ brokers, clientId: 'keytrail', logger });
  const topics = topicNames(config.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers: nodes } = await admin.describeCluster();
    await ensureTopics(admin, topics, {
      partitions,
      replicationFactor: Math.min(replicationFactor, nodes.length),
    });
  } finally {
    await admin.disconnect();
  }
  return { kafka, brokers, topics };
}

/** ClickHouse to use, migrated. Embedded chdb only where one process owns the data. */
export async function connectClickHouse(
  config: KeytrailConfig,
  lifecycle: Lifecycle,
  logger: Logger,
  options: { allowEmbedded: boolean },
): Promise<ClickHouseDriver> {
  if (!config.clickhouseUrl && !options.allowEmbedded) {
    throw new KeytrailError(
      'UNAVAILABLE',
      'Set KEYTRAIL_CLICKHOUSE_URL: embedded ClickHouse belongs to one process, so separate services need a server.',
    );
  }
  const ch = createClickHouseDriver({ url: config.clickhouseUrl, dataDir: config.dataDir });
  lifecycle.add({ name: 'clickhouse', stop: () => ch.close() });
  await migrate(ch, { onApplied: (m) => logger.info(`migration ${m.name} applied`) });
  await applyRetention(ch, { rawTtlDays: config.rawTtlDays, dedupWindowHours: config.dedupWindowHours });
  return ch;
}

export function createCodec(): EventCodec {
  return createEventCodec();
}

export async function kafkaReachable(kafka: Kafka): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
