import { createRequire } from 'node:module';
import { DEFAULT_KAFKA_COMPRESSION, type KafkaCompression, type Logger } from '@keytrail/core';
import { Kafka, type KafkaConfig, logLevel, Partitioners, type Producer, type ProducerConfig } from 'kafkajs';
import { compressionType, registerKafkaCodecs } from './compression.ts';
import { recordGroupMembers } from './groupMembers.ts';
import { createRepeatFilter } from './repeatFilter.ts';

/**
 * kafkajs logs every error response at ERROR, even the ones it retries itself (a coordinator
 * still loading at start-up, a leader election). Its own table of protocol errors says which are
 * retriable (kafkajs is pinned, so this internal path is stable); those lines go to debug.
 */
const RETRIABLE_PROTOCOL_MESSAGES: ReadonlySet<string> = new Set(
  (
    createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
      errorCodes: { message: string; retriable: boolean }[];
    }
  ).errorCodes
    .filter((e) => e.retriable)
    .map((e) => e.message),
);

/** Repeats of one kafkajs message (per broker) are logged once per this interval, with a count. */
const REPEAT_INTERVAL_MS = 10_000;

/** Routes kafkajs' own logging into the process logger (warn and above). */
function kafkaLogCreator(logger: Logger | undefined) {
  const filter = createRepeatFilter(REPEAT_INTERVAL_MS);
  return () =>
    ({ level, log }: { level: number; log: { message: string; [k: string]: unknown } }) => {
      if (!logger || level > logLevel.WARN) return;
      const { message, ...extra } = log;
      if (typeof extra.error === 'string' && RETRIABLE_PROTOCOL_MESSAGES.has(extra.error)) {
        logger.debug(extra, `kafka: ${message} (retried by kafkajs)`);
        return;
      }
      // Producers here are idempotent with bounded retries on purpose: a request that cannot be
      // acknowledged in time fails (503) and is retried by the client; event ids dedupe it.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      const { show, repeated } = filter(`${level} ${String(extra.broker ?? '')} ${message}`);
      if (!show) return;
      const fields = repeated > 0 ? { ...extra, repeated } : extra;
      const line =
        repeated > 0
          ? `kafka: ${message} (and ${repeated} more like it in ${REPEAT_INTERVAL_MS / 1000} s)`
          : `kafka: ${message}`;
      if (level === logLevel.ERROR) logger.error(fields, line);
      else logger.warn(fields, line);
    };
}

export interface CreateKafkaOptions {
  brokers: string[];
  clientId: string;
  logger?: Logger;
  /** Overrides for kafkajs' retry policy. */
  retry?: KafkaConfig['retry'];
  /** Codec of the batches this client's producers send (default DEFAULT_KAFKA_COMPRESSION). */
  compression?: KafkaCompression;
  /**
   * zstd level (1 to 19, default DEFAULT_ZSTD_LEVEL). kafkajs holds one codec per type for the
   * whole process, so the level set here holds for every zstd producer of the process; a
   * producer thread connects with these options and so compresses at it too.
   */
  zstdLevel?: number;
  /**
   * A file in the data directory this process holds (its lock taken): every consumer records its
   * group membership there and, before its first join, removes the members the previous process
   * on that directory left when it died (`groupMembers.ts`), so it joins without waiting out their
   * session. Never for a file another live process may write.
   */
  groupMembersFile?: string;
}

/** The options of each client made by createKafka (a producer thread connects with them). */
const madeWith = new WeakMap<Kafka, CreateKafkaOptions>();

/** The options createKafka made `kafka` with; undefined for a client made some other way. */
export function clientOptions(kafka: Kafka): Readonly<CreateKafkaOptions> | undefined {
  return madeWith.get(kafka);
}

export function createKafka(options: CreateKafkaOptions): Kafka {
  // Every consumer of this process can then read a batch whatever its codec.
  registerKafkaCodecs({ zstdLevel: options.zstdLevel });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: options.retry ?? { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger),
  });
  madeWith.set(kafka, { ...options });
  if (options.groupMembersFile) recordGroupMembers(kafka, options.groupMembersFile, options.logger);
  return kafka;
}

/** What a caller may set on an idempotent producer: never what makes it idempotent and ordered. */
export type IdempotentProducerOverrides = Omit<
  ProducerConfig,
  'idempotent' | 'maxInFlightRequests' | 'createPartitioner'
>;

/**
 * The one way Keytrail makes a producer: idempotent (the broker keeps one copy of a retried
 * batch), one request in flight (so retries keep order), topics never created by accident,
 * murmur2 on the key as the Java client does, so a key's events (and a retry of one) stay on
 * one partition, and every batch compressed with the client's codec (createKafka's
 * `compression`, or `compression` here) unless a send names its own. `overrides` adjusts
 * retries and the like, never the first four.
 */
export function createIdempotentProducer(
  kafka: Kafka,
  overrides: IdempotentProducerOverrides = {},
  compression: KafkaCompression = madeWith.get(kafka)?.compression ?? DEFAULT_KAFKA_COMPRESSION,
): Producer {
  registerKafkaCodecs();
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    ...overrides,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const codec = compressionType(compression);
  const send = producer.send.bind(producer);
  const sendBatch = producer.sendBatch.bind(producer);
  producer.send = (record) => send({ compression: codec, ...record });
  producer.sendBatch = (batch) => sendBatch({ compression: codec, ...batch });
  return producer;
}

/** Kafka's default group session timeout, and the one Keytrail's consumer groups use unless told. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/**
 * Session timeout and heartbeat of a consumer group member. The session timeout is how long a
 * member that died without leaving keeps its partitions: a restarted process's join waits that
 * long for it, so every group of one process takes the same value (KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS).
 */
export function groupLiveness(sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS): {
  sessionTimeout: number;
  heartbeatInterval: number;
} {
  return {
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
  };
}
