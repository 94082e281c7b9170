import { join } from 'node:path';
import {
  countPartsWithProjection,
  countRunningMutations,
  createEmbeddedDriver,
  insertSyntheticDecisions,
  loadMigrations,
  migrate,
  readRetention,
} from '@keytrail/clickhouse';
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

  it('shows the background work a migration leaves (a projection built into every part) and waits until it is done', async () => {
    const dataDir = tempDir('migrate-background');
    const path = join(dataDir, 'clickhouse');
    // A database from before migration 0021, holding decisions in several parts: 0021 starts
    // building its projection, and 0022 stops that, drops it and builds the wider one instead.
    const before = createEmbeddedDriver({ path });
    try {
      const migrations = loadMigrations();
      await migrate(before, { migrations: migrations.filter((m) => m.name < '0021') });
      const shape = {
        workspaceId: 'ws_mig',
        keys: 200,
        endUsers: 1_000,
        startMs: Date.UTC(2026, 10, 1),
        spanMs: 30 * 86_400_000,
      };
      for (let first = 0; first < 800_000; first += 100_000)
        await insertSyntheticDecisions(before, shape, first, 100_000, 800_000);
    } finally {
      await before.close();
    }

    const run = spawnKeytrail(['migrate'], { KEYTRAIL_DATA_DIR: dataDir });
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toContain('applied 0021_auth_decisions_by_end_user.sql');
    expect(run.output()).toContain('applied 0022_auth_decisions_by_end_user_sessions.sql');
    expect(run.output()).toMatch(
      /in the background: auth_decisions: MATERIALIZE PROJECTION by_end_user_sessions, \d+ of \d+ parts done/,
    );
    expect(run.output()).toMatch(/background work done in \d+\.\d s/);

    // It exited once the work was done: every part holds the projection.
    const after = createEmbeddedDriver({ path });
    try {
      expect(await countRunningMutations(after)).toBe(0);
      const parts = await countPartsWithProjection(after, 'auth_decisions', 'by_end_user_sessions');
      expect(parts.parts).toBeGreaterThan(0);
      expect(parts.with_projection).toBe(parts.parts);
      // 0022 dropped the narrower projection 0021 had built.
      expect((await countPartsWithProjection(after, 'auth_decisions', 'by_end_user')).with_projection).toBe(
        0,
      );
    } finally {
      await after.close();
    }
  });
});
