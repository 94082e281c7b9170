import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, loadConfig, maskSecret } from './config.ts';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      kafkaBrokers: undefined,
      clickhouseUrl: undefined,
      port: DEFAULT_PORT,
      adminToken: undefined,
      topicPrefix: 'keytrail.',
    });
    expect(config.dataDir.endsWith('.keytrail')).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      KEYTRAIL_KAFKA_BROKERS: 'a:9092, b:9093',
      KEYTRAIL_CLICKHOUSE_URL: 'http://default:pw@ch:8123/keytrail',
      KEYTRAIL_DATA_DIR: '/var/lib/keytrail',
      KEYTRAIL_PORT: '9000',
      KEYTRAIL_ADMIN_TOKEN: 'kt_admin_x',
      KEYTRAIL_TOPIC_PREFIX: 'prod.kt.',
      KEYTRAIL_RAW_TTL_DAYS: '30',
      KEYTRAIL_DEDUP_WINDOW_HOURS: '48',
      KEYTRAIL_SECRET_KEY: 'a-secret-key-of-some-length',
      KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: '1',
      KEYTRAIL_WEBHOOK_RETRY_SCALE: '1000',
      KEYTRAIL_KAFKA_COMPRESSION: 'lz4',
      KEYTRAIL_KAFKA_ZSTD_LEVEL: '3',
    });
    expect(config).toEqual({
      kafkaCompression: 'lz4',
      kafkaZstdLevel: 3,
      rawTtlDays: 30,
      dedupWindowHours: 48,
      ingest: { maxEvents: 5_000, maxBytes: 5 * 1024 * 1024, requestsPerSecond: 200 },
      topics: { partitions: undefined, replicationFactor: undefined },
      api: { maxInFlight: 32 },
      projector: { maxBatchEvents: 50_000, sessionTimeoutMs: 30_000 },
      alerter: { latenessMs: 2_000, lookbackMinutes: 60 },
      webhooks: { allowPrivate: true, retryScale: 1000 },
      secretKey: 'a-secret-key-of-some-length',
      kafkaBrokers: ['a:9092', 'b:9093'],
      clickhouseUrl: 'http://default:pw@ch:8123/keytrail',
      dataDir: '/var/lib/keytrail',
      port: 9000,
      adminToken: 'kt_admin_x',
      topicPrefix: 'prod.kt.',
    });
  });

  it.each([
    [{ KEYTRAIL_KAFKA_BROKERS: 'localhost' }, /KEYTRAIL_KAFKA_BROKERS/],
    [{ KEYTRAIL_CLICKHOUSE_URL: 'tcp://ch:9000' }, /KEYTRAIL_CLICKHOUSE_URL/],
    [{ KEYTRAIL_PORT: 'eighty' }, /KEYTRAIL_PORT/],
    [{ KEYTRAIL_TOPIC_PREFIX: 'bad prefix' }, /KEYTRAIL_TOPIC_PREFIX/],
    [{ KEYTRAIL_RAW_TTL_DAYS: '0' }, /KEYTRAIL_RAW_TTL_DAYS/],
    [{ KEYTRAIL_DEDUP_WINDOW_HOURS: '1.5' }, /KEYTRAIL_DEDUP_WINDOW_HOURS/],
    [{ KEYTRAIL_TOPIC_PARTITIONS: '0' }, /KEYTRAIL_TOPIC_PARTITIONS/],
    [{ KEYTRAIL_TOPIC_REPLICATION: 'three' }, /KEYTRAIL_TOPIC_REPLICATION/],
    [{ KEYTRAIL_SECRET_KEY: 'short' }, /KEYTRAIL_SECRET_KEY must be at least 16/],
    [{ KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: 'maybe' }, /KEYTRAIL_WEBHOOK_ALLOW_PRIVATE/],
    [{ KEYTRAIL_WEBHOOK_RETRY_SCALE: '0' }, /KEYTRAIL_WEBHOOK_RETRY_SCALE/],
    [
      { KEYTRAIL_KAFKA_ZSTD_LEVEL: '22' },
      /KEYTRAIL_KAFKA_ZSTD_LEVEL: "22" is not a whole number from 1 to 19/,
    ],
    [
      { KEYTRAIL_KAFKA_COMPRESSION: 'brotli' },
      /KEYTRAIL_KAFKA_COMPRESSION: "brotli" is not one of none, gzip/,
    ],
  ])('names the bad variable in %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('compresses with zstd unless told otherwise', () => {
    expect(loadConfig({}).kafkaCompression).toBe('zstd');
    expect(loadConfig({}).kafkaZstdLevel).toBe(8);
    expect(loadConfig({ KEYTRAIL_KAFKA_COMPRESSION: 'none' }).kafkaCompression).toBe('none');
  });

  it('reads the topic layout, leaving it to the deployment kind when unset', () => {
    expect(loadConfig({ KEYTRAIL_TOPIC_PARTITIONS: '12', KEYTRAIL_TOPIC_REPLICATION: '2' }).topics).toEqual({
      partitions: 12,
      replicationFactor: 2,
    });
  });

  it('masks secrets to a short prefix', () => {
    expect(maskSecret('kt_admin_AeX3cnIkXUoxvGqXGOtZ')).toBe('kt_admin_AeX…');
  });
});
