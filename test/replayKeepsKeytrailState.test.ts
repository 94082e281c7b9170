import {
  countMergedProjectionRows,
  createHttpDriver,
  migrate,
  OWN_STATE_TABLES,
  PROJECTION_TABLES,
} from '@keytrail/clickhouse';
import type { KeyLifecycle } from '@keytrail/events';
import { bareKeyLifecycle } from '@keytrail/events/fixtures';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  expectExactCounts,
  freePort,
  groupLag,
  makeDecisions,
  produceDecisions,
  produceLifecycle,
  spawnKeytrail,
  startChdbHttpServer,
  startProjector,
  testBrokers,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

const ADMIN = 'kt_admin_replay_state_0123456789abcdef';
/** What replay keeps, as it lists it: Keytrail's own tables but the migrations ledger, by name. */
const KEPT = OWN_STATE_TABLES.filter((t) => t !== 'schema_migrations').sort();

/** Lifecycle history of 20 keys: created, half of them rotated, a quarter revoked. */
function lifecycleHistory(): KeyLifecycle[] {
  const events: KeyLifecycle[] = [];
  const at = Date.UTC(2026, 10, 20);
  for (let k = 0; k < 20; k++) {
    const id = (n: number) => `0193aaaa-0000-7000-8000-${(k * 10 + n).toString(16).padStart(12, '0')}`;
    const base = { workspace_id: k % 2 ? 'ws_a' : 'ws_b', key_id: `key_${k}` };
    events.push(
      bareKeyLifecycle({ ...base, event_id: id(0), occurred_at: at + k, lifecycle_type: 'CREATED' }),
    );
    if (k % 2 === 0)
      events.push(
        bareKeyLifecycle({
          ...base,
          event_id: id(1),
          occurred_at: at + 60_000 + k,
          lifecycle_type: 'SUPERSEDED',
          grace_ends_at: at + 86_400_000,
          replaced_by: `key_${k}_next`,
        }),
      );
    if (k % 4 === 0)
      events.push(
        bareKeyLifecycle({
          ...base,
          event_id: id(2),
          occurred_at: at + 120_000 + k,
          lifecycle_type: 'REVOKED',
        }),
      );
  }
  return events;
}

describe('keytrail replay keeps Keytrail state', () => {
  it('rebuilds every projection to equal counts and leaves API tokens and their last use alone (with and without --keep-old)', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    const prefix = uniquePrefix('replaystate');
    const { kafka, topics } = await createTestKafka(prefix);
    const env = {
      KEYTRAIL_KAFKA_BROKERS: testBrokers().join(','),
      KEYTRAIL_CLICKHOUSE_URL: server.url,
      KEYTRAIL_TOPIC_PREFIX: prefix,
      KEYTRAIL_ADMIN_TOKEN: ADMIN,
    };
    const startApi = async () => {
      const api = spawnKeytrail(['api'], {
        ...env,
        KEYTRAIL_PORT: String(await freePort()),
        KEYTRAIL_LOG_LEVEL: 'info',
      });
      const url = (await api.waitForOutput(/keytrail api running at (http:\/\/[^"\s]+)/))[1]!;
      const call = async (method: string, path: string, token: string, body?: unknown) => {
        const response = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      return { api, call, url };
    };
    const usage =
      '/v1/workspaces/ws_a/keys/key_1/usage?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z&granularity=day';
    try {
      await migrate(ch);
      // Tokens as a user makes them: created through the API, one used, one revoked.
      const first = await startApi();
      const reader = await first.call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, {
        name: 'dashboard',
        scopes: ['read'],
      });
      const ingester = await first.call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, {
        name: 'gateway',
        scopes: ['ingest'],
      });
      const revoked = await first.call('POST', '/v1/workspaces/ws_a/tokens', ADMIN, {
        name: 'old',
        scopes: ['read'],
      });
      expect([reader.status, ingester.status, revoked.status]).toEqual([201, 201, 201]);
      const tokenOf = (r: typeof reader) => r.body.token as string;
      const revokedReply = await fetch(`${first.url}/v1/workspaces/ws_a/tokens/${revoked.body.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(revokedReply.status).toBe(204);
      expect((await first.call('GET', usage, tokenOf(reader))).status).toBe(200);
      expect(await first.api.terminate()).toBe(0); // flushes the token's last use
      const listTokens = async () => {
        const api = await startApi();
        try {
          const listed = await api.call('GET', '/v1/workspaces/ws_a/tokens', ADMIN);
          return { ...api, tokens: listed.body.tokens as Array<Record<string, unknown>> };
        } catch (err) {
          await api.api.terminate();
          throw err;
        }
      };
      const before = await listTokens();
      await before.api.terminate();
      expect(before.tokens.find((t) => t.id === reader.body.id)?.last_used_at).toEqual(expect.any(String));
      let tokensBefore = before.tokens;

      // Traffic, projected by a live projector.
      const traffic = makeDecisions(20_000, { seed: 21, retries: 200 });
      await produceDecisions(kafka, topics, [...traffic.events, ...traffic.retries]);
      await produceLifecycle(kafka, topics, lifecycleHistory());
      const projector = await startProjector({ clickhouseUrl: server.url, topicPrefix: prefix });
      await waitFor(
        'projector caught up',
        async () =>
          (await groupLag(kafka, `${prefix}projector`, topics.authDecisions)) +
            (await groupLag(kafka, `${prefix}projector`, topics.keyLifecycle)) ===
          0,
      );
      expect(await projector.terminate()).toBe(0);
      const projected = await countMergedProjectionRows(ch);
      for (const [table, rows] of Object.entries(projected)) expect(rows, table).toBeGreaterThan(0);

      // --dry-run says what it would do and does nothing.
      const dry = spawnKeytrail(['replay', '--dry-run'], env);
      expect(await dry.exited, dry.output()).toBe(0);
      expect(dry.output()).toMatch(
        new RegExp(
          `rebuild from the topics \\(${PROJECTION_TABLES.length}\\): auth_decisions, .*seen_event_ids`,
        ),
      );
      expect(dry.output()).toContain(
        `leave alone, Keytrail's own state (${KEPT.length}): ${KEPT.join(', ')}`,
      );

      for (const args of [['replay', '--keep-old'], ['replay']]) {
        const replay = spawnKeytrail(args, env);
        expect(await replay.exited, replay.output()).toBe(0);
        expect(replay.output()).toContain(
          `switched ${PROJECTION_TABLES.length} tables, kept ${KEPT.join(', ')}`,
        );
        // Every projection rebuilt to the same rows, with exact sums.
        expect(await countMergedProjectionRows(ch), args.join(' ')).toEqual(projected);
        await expectExactCounts(ch, traffic.expected);
        // Every token works as before, the revoked one stays refused, last use is kept.
        const after = await listTokens();
        try {
          expect(after.tokens, args.join(' ')).toEqual(tokensBefore);
          expect((await after.call('GET', usage, tokenOf(reader))).status).toBe(200);
          expect((await after.call('GET', usage, tokenOf(revoked))).status).toBe(401);
          const ingest = await after.call('GET', '/v1/workspaces/ws_a/tokens', tokenOf(ingester));
          expect(ingest.status).toBe(403); // known, authenticated, lacks admin
        } finally {
          await after.api.terminate();
        }
        // The calls above used the tokens: what the next round must find again.
        const used = await listTokens();
        await used.api.terminate();
        tokensBefore = used.tokens;
      }
    } finally {
      await ch.close();
      await server.close();
    }
  });
});
