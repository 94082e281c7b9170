import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyRetention,
  type ClickHouseDriver,
  createClickHouseDriver,
  describeDeduplicationRepair,
  migrate,
  waitForMutations,
} from '@keytrail/clickhouse';
import { type KeytrailConfig, KeytrailError, type Logger, sleep } from '@keytrail/core';
import { createEventCodec, type EventCodec } from '@keytrail/events';
import {
  createKafka,
  createLocalBroker,
  ensureTopics,
  type LocalBroker,
  type Topics,
  topicNames,
} from '@keytrail/kafka';
import { sealingKey } from '@keytrail/webhooks';
import type { Kafka } from 'kafkajs';
import type { Lifecycle } from './lifecycle.ts';

/**
 * Kafka to use: the configured cluster, or (all-in-one only) a managed local broker. A process
 * that holds its data directory (`ownsDataDir`) records its consumer-group members there, so the
 * process started after a crash removes them instead of waiting out their session.
 */
export async function connectKafka(
  config: KeytrailConfig,
  lifecycle: Lifecycle,
  logger: Logger,
  options: { allowManaged: boolean; ownsDataDir?: boolean },
): Promise<{ kafka: Kafka; brokers: string[]; topics: Topics }> {
  let brokers = config.kafkaBrokers;
  // A cluster gets 6 partitions and 3 replicas (capped at its brokers); the managed single node 3 and 1.
  let partitions = config.topics.partitions ?? 6;
  let replicationFactor = config.topics.replicationFactor ?? 3;
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
    superviseBroker(broker, lifecycle, logger);
    brokers = broker.brokers;
    partitions = config.topics.partitions ?? 3;
    replicationFactor = 1;
  }
  const kafka = createKafka({
    brokers,
    clientId: 'keytrail',
    logger,
    compression: config.kafkaCompression,
    zstdLevel: config.kafkaZstdLevel,
    ...(options.ownsDataDir ? { groupMembersFile: join(config.dataDir, GROUP_MEMBERS_FILE) } : {}),
  });
  const topics = topicNames(config.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers: nodes } = await admin.describeCluster();
    const warnings = await ensureTopics(admin, topics, {
      partitions,
      replicationFactor: Math.min(replicationFactor, nodes.length),
    });
    for (const warning of warnings) logger.warn(warning);
  } finally {
    await admin.disconnect();
  }
  return { kafka, brokers, topics };
}

/** In the data directory: the consumer-group members of the process that holds it. */
const GROUP_MEMBERS_FILE = 'kafka-members.json';

const BROKER_RESTART_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000];

/**
 * `keytrail up` owns its managed broker: when it dies, start it again on its data and ports
 * (clients reconnect to the same address), with backoff; when it cannot, stop everything and
 * exit non-zero, naming the broker's logs, so a supervisor or the user sees why.
 */
function superviseBroker(broker: LocalBroker, lifecycle: Lifecycle, logger: Logger): void {
  broker.onUnexpectedExit(async ({ code, signal }) => {
    logger.error(
      `managed Kafka broker exited (${signal ?? `code ${code}`}); starting it again. Its logs: ${broker.logFiles.join(', ')}`,
    );
    for (const [attempt, delay] of BROKER_RESTART_DELAYS_MS.entries()) {
      await sleep(delay);
      try {
        await broker.start();
        logger.warn(
          `managed Kafka broker running again at ${broker.brokers.join(',')} (attempt ${attempt + 1})`,
        );
        return;
      } catch (err) {
        logger.error({ err }, `managed Kafka broker did not start (attempt ${attempt + 1})`);
      }
    }
    logger.fatal(
      `managed Kafka broker could not be started again after ${BROKER_RESTART_DELAYS_MS.length} attempts; see ${broker.logFiles.join(', ')}. Exiting.`,
    );
    await lifecycle.stopAll();
    process.exit(1);
  });
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
  const ch = createClickHouseDriver({
    url: config.clickhouseUrl,
    dataDir: config.dataDir,
    onDeduplicationRepair: (repair) => logger.warn({ repair }, describeDeduplicationRepair(repair)),
  });
  lifecycle.add({ name: 'clickhouse', stop: () => ch.close() });
  await migrate(ch, { onApplied: (m) => logger.info(`migration ${m.name} applied`) });
  await applyRetention(ch, { rawTtlDays: config.rawTtlDays, dedupWindowHours: config.dedupWindowHours });
  // Background work they left (a projection or a TTL rewritten into every part) does not hold
  // the start back: queries answer meanwhile, slower. Its progress is logged until it is done.
  const stopWatching = new AbortController();
  lifecycle.add({ name: 'mutation progress', stop: async () => stopWatching.abort() });
  waitForMutations(ch, {
    intervalMs: 10_000,
    signal: stopWatching.signal,
    onProgress: (lines) => {
      for (const line of lines) logger.info(`in the background: ${line}`);
    },
  })
    .then(({ mutations, waitedMs }) => {
      if (mutations > 0 && !stopWatching.signal.aborted)
        logger.info(`background work done in ${(waitedMs / 1000).toFixed(1)} s`);
    })
    .catch((err: unknown) => {
      if (!stopWatching.signal.aborted) logger.warn({ err }, 'could not follow background work');
    });
  return ch;
}

export function createCodec(): EventCodec {
  return createEventCodec();
}

/**
 * A readiness check for Kafka over one admin connection kept open between probes (opening one
 * per probe costs a handshake, and waits out kafkajs' retries when the broker is down). The
 * server bounds each call (boundedCheck), so a dead broker makes the check answer false fast.
 */
export function kafkaReachable(kafka: Kafka, lifecycle: Lifecycle): () => Promise<boolean> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected = false;
  lifecycle.add({ name: 'kafka readiness probe', stop: () => admin.disconnect() });
  return async () => {
    try {
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      const { brokers } = await admin.describeCluster();
      return brokers.length > 0;
    } catch {
      connected = false;
      await admin.disconnect().catch(() => {});
      return false;
    }
  };
}

/**
 * The key that seals webhook endpoint secrets: KEYTRAIL_SECRET_KEY, or for `keytrail up` a random
 * key kept in the data directory (created once, readable by its owner only), so endpoints made in
 * one run still sign in the next. Distributed services share the variable; without it, a lone
 * api or alerter cannot open what another wrote.
 */
export function loadSealingKey(config: KeytrailConfig, options: { allInOne: boolean }): Buffer {
  if (config.secretKey) return sealingKey(config.secretKey);
  if (!options.allInOne)
    throw new KeytrailError(
      'UNAVAILABLE',
      'Set KEYTRAIL_SECRET_KEY (16+ characters, the same in every api and alerter): it seals webhook secrets.',
    );
  const file = join(config.dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return sealingKey(readFileSync(file, 'utf8').trim());
}
