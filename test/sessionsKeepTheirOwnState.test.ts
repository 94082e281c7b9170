import { listKeys } from '@keytrail/clickhouse';
import type { KeyLifecycle } from '@keytrail/events';
import { bareKeyLifecycle } from '@keytrail/events/fixtures';
import { describe, expect, it } from 'vitest';
import { groupLag, produceLifecycle, startProjector, waitFor, withProjectorFixture } from './kit/index.ts';

const at = Date.UTC(2026, 10, 21, 9, 0);
let n = 0;
const lifecycle = (fields: Partial<KeyLifecycle> & Pick<KeyLifecycle, 'lifecycle_type' | 'key_id'>) =>
  bareKeyLifecycle({
    event_id: `0193eeee-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}`,
    occurred_at: at + n * 1_000,
    workspace_id: 'ws_sessions',
    ...fields,
  });

describe('sessions scoped to an end user', () => {
  it('revoking a session leaves its parent key active, however the producer filled key_id', async () => {
    await withProjectorFixture('sessions', async ({ server, ch, prefix, kafka, topics }) => {
      await produceLifecycle(kafka, topics, [
        lifecycle({ lifecycle_type: 'CREATED', key_id: 'key_parent', key_env: 'LIVE', name: 'Production' }),
        // A producer naming the parent in key_id (the shape that used to revoke the parent).
        lifecycle({
          lifecycle_type: 'SESSION_ISSUED',
          key_id: 'key_parent',
          session_id: 'sess_a',
          end_user_id: 'eu_a',
          parent_key_id: 'key_parent',
          ttl_seconds: 3_600,
        }),
        lifecycle({ lifecycle_type: 'SESSION_REVOKED', key_id: 'key_parent', session_id: 'sess_a' }),
        // The documented shape: key_id is the session itself.
        lifecycle({
          lifecycle_type: 'SESSION_ISSUED',
          key_id: 'sess_b',
          session_id: 'sess_b',
          end_user_id: 'eu_b',
          parent_key_id: 'key_parent',
        }),
      ]);
      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'projected',
        async () => (await groupLag(kafka, `${prefix}projector`, topics.keyLifecycle)) === 0,
      );
      expect(await projector.terminate()).toBe(0);
      const keys = await listKeys(ch, { workspaceId: 'ws_sessions', now: new Date(at + 60_000) });
      const byId = Object.fromEntries(keys.map((k) => [k.key_id, k]));
      expect(Object.keys(byId).sort()).toEqual(['key_parent', 'sess_a', 'sess_b']);
      expect(byId.key_parent).toMatchObject({ status: 'ACTIVE', revoked_at: null, name: 'Production' });
      expect(byId.sess_a).toMatchObject({
        status: 'REVOKED',
        end_user_id: 'eu_a',
        parent_key_id: 'key_parent',
      });
      expect(byId.sess_b).toMatchObject({
        status: 'ACTIVE',
        end_user_id: 'eu_b',
        parent_key_id: 'key_parent',
      });
    });
  });
});
