import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { KeytrailError } from './errors.ts';

/** Everything a Keytrail process reads from its environment (DESIGN.md, "Configuration"). */
export interface KeytrailConfig {
  /** Bootstrap servers; undefined means "start a managed local broker". */
  kafkaBrokers: string[] | undefined;
  /** ClickHouse HTTP URL; undefined means "embedded chdb in dataDir". */
  clickhouseUrl: string | undefined;
  dataDir: string;
  port: number;
  /** Undefined when not set: `keytrail up` then generates one and prints it. */
  adminToken: string | undefined;
  topicPrefix: string;
  /** Codec of every record batch Keytrail produces (KEYTRAIL_KAFKA_COMPRESSION, default zstd). */
  kafkaCompression: KafkaCompression;
  /** zstd level when that codec is used (KEYTRAIL_KAFKA_ZSTD_LEVEL, 1 to 19, default 8). */
  kafkaZstdLevel: number;
  /** Days raw auth decisions are kept in ClickHouse. */
  rawTtlDays: number;
  /** Hours within which a re-sent event_id is recognised and counted once. */
  dedupWindowHours: number;
  /** Operational knobs (README "Operational extras"), not part of the DESIGN.md contract. */
  ingest: {
    /** Events per request (KEYTRAIL_INGEST_MAX_EVENTS, default 5,000). */
    maxEvents: number;
    /** Bytes per request (KEYTRAIL_INGEST_MAX_BYTES, default 5 MiB). */
    maxBytes: number;
    /** Requests per second per token (KEYTRAIL_INGEST_RATE_LIMIT, default 200). */
    requestsPerSecond: number;
  };
  /**
   * How topics are created when missing (KEYTRAIL_TOPIC_PARTITIONS, KEYTRAIL_TOPIC_REPLICATION):
   * undefined = 6 partitions and replication 3 (capped at the brokers there are) on a cluster, 3
   * and 1 on the managed single-node broker. Existing topics are never changed, only checked.
   */
  topics: { partitions: number | undefined; replicationFactor: number | undefined };
  api: {
    /** Query requests in flight per process before 503 (KEYTRAIL_API_MAX_INFLIGHT, default 32). */
    maxInFlight: number;
  };
  alerter: {
    /** Bounded lateness of the event-time watermark (KEYTRAIL_ALERTER_LATENESS_MS, default 2,000). */
    latenessMs: number;
    /** Event time a restart reads again to rebuild windows and baselines (KEYTRAIL_ALERTER_LOOKBACK_MINUTES, default 60). */
    lookbackMinutes: number;
  };
  webhooks: {
    /** KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1: deliveries may go to loopback and private addresses (local receivers, tests). */
    allowPrivate: boolean;
    /** KEYTRAIL_WEBHOOK_RETRY_SCALE: divides every retry delay (tests go through the schedule in seconds). */
    retryScale: number;
  };
  /**
   * KEYTRAIL_SECRET_KEY: seals webhook endpoint secrets in ClickHouse (at least 16 characters).
   * Undefined: `keytrail up` keeps one in the data directory; distributed services must set it.
   */
  secretKey: string | undefined;
  projector: {
    /** Most events per ClickHouse insert (KEYTRAIL_PROJECTOR_MAX_BATCH, default 50,000). */
    maxBatchEvents: number;
    /** Kafka group session timeout (KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS, default 30,000; broker minimum 6,000). */
    sessionTimeoutMs: number;
  };
}

/** Record-batch codecs Kafka knows; @keytrail/kafka registers each with kafkajs. */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];
/** What producers use when nothing is configured: chosen by bench/kafkaCompression.ts (bench/README.md). */
export const DEFAULT_KAFKA_COMPRESSION: KafkaCompression = 'zstd';
/** Its level, also chosen by bench/kafkaCompression.ts: ≤ 60 bytes a decision on disk. */
export const DEFAULT_ZSTD_LEVEL = 8;
/** The levels a producer may be given (libzstd's regular ones). */
export const ZSTD_LEVELS = { min: 1, max: 19 } as const;

/**
 * The zstd level producers use (KEYTRAIL_KAFKA_ZSTD_LEVEL), as loadConfig reads it; exported for
 * benches that take the level from the environment as the services do.
 */
export function kafkaZstdLevel(env: NodeJS.ProcessEnv = process.env): number {
  return wholeNumber(env, 'KEYTRAIL_KAFKA_ZSTD_LEVEL', DEFAULT_ZSTD_LEVEL, ZSTD_LEVELS.max, ZSTD_LEVELS.min);
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_TOPIC_PREFIX = 'keytrail.';
export const DEFAULT_DATA_DIR = './.keytrail';

/** The documented variables, in one place so docs and docker-compose can be checked against it. */
export const CONFIG_VARIABLES = [
  'KEYTRAIL_KAFKA_BROKERS',
  'KEYTRAIL_CLICKHOUSE_URL',
  'KEYTRAIL_DATA_DIR',
  'KEYTRAIL_PORT',
  'KEYTRAIL_ADMIN_TOKEN',
  'KEYTRAIL_TOPIC_PREFIX',
  'KEYTRAIL_RAW_TTL_DAYS',
  'KEYTRAIL_DEDUP_WINDOW_HOURS',
  'KEYTRAIL_SECRET_KEY',
  'KEYTRAIL_WEBHOOK_ALLOW_PRIVATE',
  'KEYTRAIL_WEBHOOK_RETRY_SCALE',
] as const;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, max = 100_000, min = 1): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new KeytrailError('BAD_REQUEST', `${name}: "${text}" is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Like wholeNumber, but undefined when the variable is not set (the caller picks a default). */
function optionalWholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
): number | undefined {
  return nonEmpty(env[name]) === undefined ? undefined : wholeNumber(env, name, min, max, min);
}

/** A yes/no variable: 1/true/yes or 0/false/no (or unset). */
function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = nonEmpty(env[name])?.toLowerCase();
  if (text === undefined || ['0', 'false', 'no'].includes(text)) return false;
  if (['1', 'true', 'yes'].includes(text)) return true;
  throw new KeytrailError('BAD_REQUEST', `${name}: "${text}" is not 1 or 0`);
}

function secretKey(env: NodeJS.ProcessEnv): string | undefined {
  const key = nonEmpty(env.KEYTRAIL_SECRET_KEY);
  if (key !== undefined && key.length < 16)
    throw new KeytrailError('BAD_REQUEST', 'KEYTRAIL_SECRET_KEY must be at least 16 characters');
  return key;
}

/** Reads and validates the environment; throws a KeytrailError naming the bad variable. */
function kafkaCompression(env: NodeJS.ProcessEnv): KafkaCompression {
  const value = nonEmpty(env.KEYTRAIL_KAFKA_COMPRESSION) ?? DEFAULT_KAFKA_COMPRESSION;
  if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(value))
    throw new KeytrailError(
      'BAD_REQUEST',
      `KEYTRAIL_KAFKA_COMPRESSION: "${value}" is not one of ${KAFKA_COMPRESSIONS.join(', ')}`,
    );
  return value as KafkaCompression;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): KeytrailConfig {
  const brokers = nonEmpty(env.KEYTRAIL_KAFKA_BROKERS)
    ?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const broker of brokers ?? []) {
    if (!/^[^:\s]+:\d{1,5}$/.test(broker)) {
      throw new KeytrailError('BAD_REQUEST', `KEYTRAIL_KAFKA_BROKERS: "${broker}" is not host:port`);
    }
  }
  const clickhouseUrl = nonEmpty(env.KEYTRAIL_CLICKHOUSE_URL);
  if (clickhouseUrl) {
    try {
      const url = new URL(clickhouseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new KeytrailError('BAD_REQUEST', 'KEYTRAIL_CLICKHOUSE_URL must be an http(s) URL');
    }
  }
  const portText = nonEmpty(env.KEYTRAIL_PORT);
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KeytrailError('BAD_REQUEST', `KEYTRAIL_PORT: "${portText}" is not a port number`);
  }
  const topicPrefix = env.KEYTRAIL_TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  if (!/^[A-Za-z0-9._-]*$/.test(topicPrefix)) {
    throw new KeytrailError(
      'BAD_REQUEST',
      'KEYTRAIL_TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-"',
    );
  }
  return {
    kafkaCompression: kafkaCompression(env),
    kafkaZstdLevel: kafkaZstdLevel(env),
    rawTtlDays: wholeNumber(env, 'KEYTRAIL_RAW_TTL_DAYS', 90),
    dedupWindowHours: wholeNumber(env, 'KEYTRAIL_DEDUP_WINDOW_HOURS', 24),
    ingest: {
      maxEvents: wholeNumber(env, 'KEYTRAIL_INGEST_MAX_EVENTS', 5_000, 1_000_000),
      maxBytes: wholeNumber(env, 'KEYTRAIL_INGEST_MAX_BYTES', 5 * 1024 * 1024, 1024 * 1024 * 1024),
      requestsPerSecond: wholeNumber(env, 'KEYTRAIL_INGEST_RATE_LIMIT', 200, 1_000_000),
    },
    topics: {
      partitions: optionalWholeNumber(env, 'KEYTRAIL_TOPIC_PARTITIONS', 1, 10_000),
      replicationFactor: optionalWholeNumber(env, 'KEYTRAIL_TOPIC_REPLICATION', 1, 100),
    },
    api: { maxInFlight: wholeNumber(env, 'KEYTRAIL_API_MAX_INFLIGHT', 32, 100_000) },
    alerter: {
      latenessMs: wholeNumber(env, 'KEYTRAIL_ALERTER_LATENESS_MS', 2_000, 600_000),
      lookbackMinutes: wholeNumber(env, 'KEYTRAIL_ALERTER_LOOKBACK_MINUTES', 60, 7 * 24 * 60),
    },
    webhooks: {
      allowPrivate: flag(env, 'KEYTRAIL_WEBHOOK_ALLOW_PRIVATE'),
      retryScale: wholeNumber(env, 'KEYTRAIL_WEBHOOK_RETRY_SCALE', 1, 1_000_000),
    },
    secretKey: secretKey(env),
    projector: {
      maxBatchEvents: wholeNumber(env, 'KEYTRAIL_PROJECTOR_MAX_BATCH', 50_000, 1_000_000),
      sessionTimeoutMs: wholeNumber(env, 'KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS', 30_000, 600_000),
    },
    kafkaBrokers: brokers && brokers.length > 0 ? brokers : undefined,
    clickhouseUrl,
    dataDir: resolve(nonEmpty(env.KEYTRAIL_DATA_DIR) ?? DEFAULT_DATA_DIR),
    port,
    adminToken: nonEmpty(env.KEYTRAIL_ADMIN_TOKEN),
    topicPrefix,
  };
}

/** A fresh admin token for `keytrail up` when none is configured. */
export function generateAdminToken(): string {
  return `kt_admin_${randomBytes(24).toString('base64url')}`;
}

/** First 12 characters and a mask: how secrets appear in logs. */
export function maskSecret(secret: string): string {
  return secret.length <= 12 ? '****' : `${secret.slice(0, 12)}…`;
}
