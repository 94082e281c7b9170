import { join } from 'node:path';
import { createEmbeddedDriver, loadMigrations, readRetention } from '@keytrail/clickhouse';
import { waitForTopicLeaders } from '@keytrail/kafka';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createTestKafka, spawnKeytrail, tempDir, testBrokers, uniquePrefix } from './kit/index.ts';

describe('keytrail migrate', () => {
  it('applies every migration once, creates missing topics as configured, and warns about an existing topic with fewer partitions', async () => {
    const prefix = uniquePrefix('migrate');
    const { kafka } = await createTestKafka(`${prefix}other.`); // the admin client only
    const admin = kafka.admin();
    const dataDir = tempDir('migrate');
    await admin.connect();
    try {
      // An existing decisions topic made by hand with one partition.
      await admin.createTopics({
        topics: [{ topic: `${prefix}auth-decisions`, numPartitions: 1 }],
        waitForLeaders: false,
      });
      await waitForTopicLeaders(admin, [`${prefix}auth-decisions`]);
      const env = {
        KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
        KEYTRAIL_TOPIC_PREFIX: prefix,
        KEYTRAIL_TOPIC_PARTITIONS: '4',
        KEYTRAIL_DATA_DIR: dataDir,
        KEYTRAIL_RAW_TTL_DAYS: '30',
        KEYTRAIL_DEDUP_WINDOW_HOURS: '48',
      };
      const first = spawnKeytrail(['migrate'], env);
      expect(await first.exited, first.output()).toBe(0);
      expect(first.output()).toMatch(
        new RegExp(
          `topic ${prefix.replace(/\./g, '\\.')}auth-decisions has 1 partitions, fewer than the 4 configured`,
        ),
      );
      expect(first.output()).toMatch(
        /applied 0001_schema_migrations\.sql[\s\S]*applied 0012_billing_usage_day\.sql/,
      );
      expect(first.output()).toContain(`migrations: ${loadMigrations().length} applied, 0 pending`);

      const { topics } = await admin.fetchTopicMetadata({
        topics: [`${prefix}auth-decisions`, `${prefix}key-lifecycle`, `${prefix}schemas`],
      });
      expect(
        Object.fromEntries(topics.map((t) => [t.name.slice(prefix.length), t.partitions.length])),
      ).toEqual({
        'auth-decisions': 1, // left as it was
        'key-lifecycle': 4,
        schemas: 1,
      });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: `${prefix}schemas`, configNames: ['cleanup.policy'] },
        ],
      });
      expect(described.resources[0]!.configEntries[0]!.configValue).toBe('compact');

      // Once applied, nothing is applied again.
      const second = spawnKeytrail(['migrate'], env);
      expect(await second.exited, second.output()).toBe(0);
      expect(second.output()).not.toMatch(/applied 0/);
      expect(second.output()).toContain(`migrations: ${loadMigrations().length} applied, 0 pending`);

      // The retention variables reached the tables.
      const ch = createEmbeddedDriver({ path: join(dataDir, 'clickhouse') });
      try {
        expect(await readRetention(ch)).toEqual({ rawTtlDays: 30, dedupWindowHours: 48 });
      } finally {
        await ch.close();
      }
    } finally {
      await admin.disconnect();
    }
  });
});
