import { createHttpDriver, getKeyUsage, type KeyStateRow, listKeys, migrate } from '@keytrail/clickhouse';
import { createEventCodec, type KeyLifecycle } from '@keytrail/events';
import { bareKeyLifecycle } from '@keytrail/events/fixtures';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  groupLag,
  makeDecisions,
  startChdbHttpServer,
  startProjector,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

const HOUR = 3_600_000;
const NOW = Date.now();
let n = 0;
function lifecycle(
  fields: Partial<KeyLifecycle> & Pick<KeyLifecycle, 'key_id' | 'lifecycle_type' | 'occurred_at'>,
): KeyLifecycle {
  n++;
  return bareKeyLifecycle({
    event_id: `0193aaaa-0000-7000-8000-${n.toString(16).padStart(12, '0')}`,
    workspace_id: 'ws_order',
    ...fields,
  });
}

describe('order and late data', () => {
  it('keeps the newest state per key whatever the arrival order, and puts late decisions in their own buckets', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('order');
    const { kafka, topics } = await createTestKafka(prefix);
    const codec = createEventCodec();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await migrate(ch);
      const t0 = NOW - 10 * HOUR;
      // Arrival order on the topic (per key, as Kafka keeps it); event times deliberately out of order.
      const arrivals: KeyLifecycle[] = [
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'CREATED',
          occurred_at: t0,
          key_prefix: 'pf_live_rot1',
          key_env: 'LIVE',
          key_type: 'SECRET',
          name: 'first name',
          scopes: ['read', 'build'],
          rate_limits: { per_minute: 100, per_hour: 5000, per_day: 100000 },
          expires_at: NOW + 90 * 24 * HOUR,
        }),
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'RENAMED',
          occurred_at: t0 + 3 * HOUR,
          name: 'newest name',
        }),
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'SCOPES_CHANGED',
          occurred_at: t0 + 2 * HOUR,
          scopes: ['read'],
        }),
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'RENAMED',
          occurred_at: t0 + 1 * HOUR,
          name: 'older name, arrived late',
        }),
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'SCOPES_CHANGED',
          occurred_at: t0 + 1 * HOUR,
          scopes: ['read', 'build', 'admin'],
        }),
        lifecycle({
          key_id: 'k_rot',
          lifecycle_type: 'SUPERSEDED',
          occurred_at: t0 + 4 * HOUR,
          grace_ends_at: NOW + 20 * HOUR,
          replaced_by: 'k_new',
        }),
        lifecycle({ key_id: 'k_old', lifecycle_type: 'CREATED', occurred_at: t0, key_env: 'LIVE' }),
        lifecycle({
          key_id: 'k_old',
          lifecycle_type: 'SUPERSEDED',
          occurred_at: t0 + HOUR,
          grace_ends_at: t0 + 2 * HOUR,
          replaced_by: 'k_rot',
        }),
        lifecycle({ key_id: 'k_rev', lifecycle_type: 'CREATED', occurred_at: t0, key_env: 'TEST' }),
        lifecycle({
          key_id: 'k_rev',
          lifecycle_type: 'REVOKED',
          occurred_at: t0 + 2 * HOUR,
          reason: 'leaked',
        }),
        lifecycle({
          key_id: 'k_rev',
          lifecycle_type: 'LIMITS_CHANGED',
          occurred_at: t0 + HOUR,
          rate_limits: { per_minute: 10, per_hour: null, per_day: null },
        }),
        lifecycle({ key_id: 'k_exp', lifecycle_type: 'CREATED', occurred_at: t0, expires_at: NOW - HOUR }),
        lifecycle({
          key_id: 'sess_1',
          lifecycle_type: 'SESSION_ISSUED',
          occurred_at: t0 + HOUR,
          session_id: 'sess_1',
          parent_key_id: 'k_rot',
          end_user_id: 'user_42',
          ttl_seconds: 1800,
        }),
      ];
      const { events } = makeDecisions(50, { seed: 3 });
      const decisions = events.map((e, i) => ({
        ...e,
        workspace_id: 'ws_order',
        key_id: 'k_rot',
        occurred_at: NOW - HOUR + i * 1000,
      }));
      const late = {
        ...decisions[0]!,
        event_id: '0193aaaa-0000-7000-8000-0000000fffff',
        occurred_at: NOW - 9 * HOUR,
        outcome: 'EXPIRED_KEY' as const,
        http_status: 401,
        cost: 0,
      };
      await producer.connect();
      await producer.send({
        topic: topics.keyLifecycle,
        messages: arrivals.map((e) => ({ key: e.key_id, value: codec.encode('key_lifecycle', e) })),
      });
      await producer.send({
        topic: topics.authDecisions,
        messages: [...decisions, late].map((e) => ({
          key: e.key_id,
          value: codec.encode('auth_decision', e),
        })),
      });

      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'both topics committed',
        async () =>
          (await groupLag(kafka, `${prefix}projector`, topics.keyLifecycle)) +
            (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) ===
          0,
      );
      await projector.terminate();

      const keys = Object.fromEntries(
        (await listKeys(ch, { workspaceId: 'ws_order', now: new Date(NOW) })).map((k) => [k.key_id, k]),
      ) as Record<string, KeyStateRow>;
      expect(keys.k_rot).toMatchObject({
        name: 'newest name',
        scopes: ['read'],
        key_prefix: 'pf_live_rot1',
        key_env: 'LIVE',
        rate_limit_per_minute: 100,
        status: 'SUPERSEDED',
        replaced_by: 'k_new',
        usage_count: 51,
      });
      expect(new Date(keys.k_rot!.last_used!).getTime()).toBe(NOW - HOUR + 49_000);
      expect(keys.k_old).toMatchObject({ status: 'EXPIRED', usage_count: 0, last_used: null });
      expect(keys.k_rev).toMatchObject({ status: 'REVOKED', rate_limit_per_minute: 10 });
      expect(keys.k_exp).toMatchObject({ status: 'EXPIRED' });
      expect(keys.sess_1).toMatchObject({ status: 'ACTIVE', end_user_id: 'user_42', parent_key_id: 'k_rot' });

      // The late decision sits in its own minute, hour and day, nine hours back.
      const minute = await getKeyUsage(ch, {
        workspaceId: 'ws_order',
        keyId: 'k_rot',
        from: new Date(NOW - 10 * HOUR),
        to: new Date(NOW - 8 * HOUR),
        granularity: 'minute',
      });
      expect(minute).toEqual([
        {
          start: new Date(Math.floor(late.occurred_at / 60_000) * 60_000).toISOString(),
          total: 1,
          by_outcome: { EXPIRED_KEY: 1 },
          errors: 1,
          cost: expect.any(Number),
          latency_ms: expect.anything(),
        },
      ]);
      const hours = await getKeyUsage(ch, {
        workspaceId: 'ws_order',
        keyId: 'k_rot',
        from: new Date(NOW - 24 * HOUR),
        to: new Date(NOW + HOUR),
        granularity: 'hour',
      });
      expect(hours.reduce((sum, b) => sum + b.total, 0)).toBe(51);
      expect(hours[0]).toMatchObject({
        start: new Date(Math.floor(late.occurred_at / HOUR) * HOUR).toISOString(),
        total: 1,
      });
    } finally {
      await producer.disconnect();
      await ch.close();
      await server.close();
    }
  });
});
