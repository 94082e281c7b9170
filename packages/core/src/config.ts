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
] as const;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Reads and validates the environment; throws a KeytrailError naming the bad variable. */
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
