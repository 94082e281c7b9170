import {
  type ClickHouseDriver,
  getKeyActivity,
  getKeyHistory,
  getKeyUsage,
  getKeyUsageGroups,
  getSessionParent,
  getSessionUsage,
  type KeyStatus,
  listKeyDecisions,
  queryKeys,
  type UsageGroupBy,
} from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import type { FastifyInstance } from 'fastify';
import type { CursorCodec } from '../query/cursor.ts';
import { checkBuckets, type Granularity, isoTime, parseRange } from '../query/range.ts';
import { describeTimeline } from '../query/timeline.ts';
import {
  BY_OUTCOME,
  CURSOR,
  DECISION,
  ERRORS,
  GRANULARITY,
  ID,
  KEY,
  KEY_PARAMS,
  LIMIT,
  rangeQuery,
  TIME,
  WS_PARAMS,
} from './schemas.ts';

export interface KeyRoutesOptions {
  ch: ClickHouseDriver;
  cursors: CursorCodec;
}

/** Decisions made with a session a little before its issue event's time are still its own (gateway clocks differ). */
const SESSION_CLOCK_SKEW_MS = 5 * 60_000;

const PARENT_KEY_ID = {
  ...ID,
  description:
    'Set when keyId is a session token: the key that issued it, whose decisions made with the session these are',
};

/** The key routes of the query API: list, key page, usage, raw decisions, compromise view. */
export async function keyRoutes(app: FastifyInstance, { ch, cursors }: KeyRoutesOptions): Promise<void> {
  /**
   * A session token's id where a key's is expected. Its decisions are recorded under its parent
   * key with its id in session_id, so usage, decisions and activity have nothing under its own id:
   * those routes then answer from the parent's decisions made with the session. Asked only when
   * the id has nothing of its own, so a key's answer costs no extra query.
   */
  const sessionOf = async (workspaceId: string, keyId: string, from: Date) => {
    const session = await getSessionParent(ch, { workspaceId, keyId });
    if (!session) return undefined;
    const issued = session.issued_at?.getTime() ?? Number.NEGATIVE_INFINITY;
    return {
      parentKeyId: session.parent_key_id,
      // Nothing of the session precedes its issue: the parent key's older rows are not read.
      from: new Date(Math.max(from.getTime(), issued - SESSION_CLOCK_SKEW_MS)),
    };
  };

  app.get<{
    Params: { ws: string };
    Querystring: {
      status?: KeyStatus;
      env?: string;
      prefix?: string;
      q?: string;
      kind?: 'key' | 'session';
      limit: number;
      cursor?: string;
    };
  }>(
    '/v1/workspaces/:ws/keys',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Keys and sessions with their state now and their recent use, newest first',
        tags: ['keys'],
        params: WS_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['ACTIVE', 'SUPERSEDED', 'REVOKED', 'EXPIRED'] },
            env: { type: 'string', enum: ['LIVE', 'TEST', 'DEV'] },
            prefix: { type: 'string', maxLength: 64 },
            q: { type: 'string', maxLength: 256 },
            kind: {
              type: 'string',
              enum: ['key', 'session'],
              description: 'API keys only, or session tokens only (both when absent)',
            },
            limit: LIMIT,
            cursor: CURSOR,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { keys: { type: 'array', items: KEY }, next_cursor: { type: 'string' } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws } = request.params;
      const { limit, cursor, ...filters } = request.query;
      const after = cursor ? cursors.decode('keys', cursor) : undefined;
      const rows = await queryKeys(ch, {
        workspaceId: ws,
        now: new Date(),
        ...filters,
        after: after ? { createdAt: new Date(after.at!), keyId: after.id! } : undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        keys: page.map(({ sort_at: _, ...key }) => key),
        ...(rows.length > limit && last
          ? { next_cursor: cursors.encode('keys', { at: isoTime(last.sort_at), id: last.key_id }) }
          : {}),
      };
    },
  );

  app.get<{ Params: { ws: string; keyId: string } }>(
    '/v1/workspaces/:ws/keys/:keyId',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A key's state and its lifecycle timeline, oldest first, each entry with what it changed",
        tags: ['keys'],
        params: KEY_PARAMS,
        response: {
          200: {
            type: 'object',
            properties: {
              key: KEY,
              timeline: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    event_id: { type: 'string' },
                    occurred_at: TIME,
                    lifecycle_type: { type: 'string' },
                    actor: {
                      type: ['object', 'null'],
                      properties: { kind: { type: 'string' }, id: { type: 'string' } },
                    },
                    reason: { type: ['string', 'null'] },
                    changes: {
                      type: 'object',
                      additionalProperties: { type: 'object', properties: { from: {}, to: {} } },
                    },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, keyId } = request.params;
      const [keys, history] = await Promise.all([
        queryKeys(ch, { workspaceId: ws, now: new Date(), keyId, limit: 1 }),
        getKeyHistory(ch, { workspaceId: ws, keyId }),
      ]);
      const key = keys[0];
      if (!key) throw new KeytrailError('NOT_FOUND', `No key ${keyId} in workspace ${ws}.`);
      const { sort_at: _, ...view } = key;
      return { key: view, timeline: describeTimeline(history, isoTime) };
    },
  );

  app.get<{
    Params: { ws: string; keyId: string };
    Querystring: { from: string; to: string; granularity: Granularity; group_by?: UsageGroupBy };
  }>(
    '/v1/workspaces/:ws/keys/:keyId/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "A key's requests per bucket: by outcome, errors, cost, latency, optionally split by a dimension",
        description:
          "A bucket the range cuts into is included; empty buckets are left out; at most 10,080 buckets. For a session token, the session's own requests (recorded under its parent key, read from the raw decisions: exact latency quantiles).",
        tags: ['keys'],
        params: KEY_PARAMS,
        querystring: rangeQuery({
          granularity: GRANULARITY,
          group_by: { type: 'string', enum: ['route', 'end_user_id', 'client_ip', 'region', 'origin'] },
        }),
        response: {
          200: {
            type: 'object',
            properties: {
              workspace_id: { type: 'string' },
              key_id: { type: 'string' },
              parent_key_id: PARENT_KEY_ID,
              granularity: { type: 'string' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    start: TIME,
                    total: { type: 'integer' },
                    by_outcome: BY_OUTCOME,
                    errors: { type: 'integer' },
                    cost: { type: 'integer', description: 'Micro-credits' },
                    latency_ms: {
                      type: ['object', 'null'],
                      description:
                        'Quantiles of the reported latencies, each within 9.05 % of the exact value (a log-scale histogram, 4 buckets per octave); null when none reported',
                      properties: {
                        p50: { type: 'number' },
                        p90: { type: 'number' },
                        p99: { type: 'number' },
                      },
                    },
                    groups: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          value: { type: 'string' },
                          total: { type: 'integer' },
                          by_outcome: BY_OUTCOME,
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, keyId } = request.params;
      const { granularity, group_by: groupBy } = request.query;
      const range = parseRange(request.query);
      checkBuckets(range, granularity);
      const params = { workspaceId: ws, keyId, ...range, granularity };
      let [buckets, groups] = await Promise.all([
        getKeyUsage(ch, params),
        groupBy ? getKeyUsageGroups(ch, { ...params, groupBy }) : undefined,
      ]);
      const session = buckets.length === 0 ? await sessionOf(ws, keyId, range.from) : undefined;
      if (session) {
        const ofSession = { ...params, keyId: session.parentKeyId, sessionId: keyId, from: session.from };
        [buckets, groups] = await Promise.all([
          getSessionUsage(ch, ofSession),
          groupBy ? getKeyUsageGroups(ch, { ...ofSession, groupBy }) : undefined,
        ]);
      }
      return {
        workspace_id: ws,
        key_id: keyId,
        ...(session ? { parent_key_id: session.parentKeyId } : {}),
        granularity,
        buckets: groups ? buckets.map((b) => ({ ...b, groups: groups.get(b.start) ?? [] })) : buckets,
      };
    },
  );

  app.get<{
    Params: { ws: string; keyId: string };
    Querystring: {
      from: string;
      to: string;
      outcome?: string;
      client_ip?: string;
      end_user_id?: string;
      session_id?: string;
      limit: number;
      cursor?: string;
    };
  }>(
    '/v1/workspaces/:ws/keys/:keyId/decisions',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A key's raw decisions, newest first, paged",
        description:
          'Paging returns every decision present when paging began exactly once, while new ones arrive.',
        tags: ['keys'],
        params: KEY_PARAMS,
        querystring: rangeQuery({
          outcome: { type: 'string', pattern: '^[A-Z_]{1,64}$' },
          client_ip: { type: 'string', maxLength: 64 },
          end_user_id: ID,
          session_id: {
            ...ID,
            description:
              "A session token's decisions, under its parent key (keyId); or ask with the session's id as keyId",
          },
          limit: LIMIT,
          cursor: CURSOR,
        }),
        response: {
          200: {
            type: 'object',
            properties: {
              parent_key_id: PARENT_KEY_ID,
              decisions: { type: 'array', items: DECISION },
              next_cursor: { type: 'string' },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, keyId } = request.params;
      const { limit, cursor } = request.query;
      const range = parseRange(request.query);
      const after = cursor ? cursors.decode('decisions', cursor) : undefined;
      const params = {
        workspaceId: ws,
        keyId,
        ...range,
        outcome: request.query.outcome,
        clientIp: request.query.client_ip,
        endUserId: request.query.end_user_id,
        sessionId: request.query.session_id,
        after: after ? { occurredAt: new Date(after.at!), eventId: after.id! } : undefined,
        limit: limit + 1,
      };
      let rows = await listKeyDecisions(ch, params);
      // A session's id: its parent's decisions made with it (the same cursor pages them).
      const session =
        rows.length === 0 && !request.query.session_id ? await sessionOf(ws, keyId, range.from) : undefined;
      if (session)
        rows = await listKeyDecisions(ch, {
          ...params,
          keyId: session.parentKeyId,
          sessionId: keyId,
          from: session.from,
        });
      const page = rows.slice(0, limit).map((d) => ({ ...d, occurred_at: isoTime(d.occurred_at) }));
      const last = rows[limit - 1];
      return {
        ...(session ? { parent_key_id: session.parentKeyId } : {}),
        decisions: page,
        ...(rows.length > limit && last
          ? { next_cursor: cursors.encode('decisions', { at: isoTime(last.occurred_at), id: last.event_id }) }
          : {}),
      };
    },
  );

  app.get<{
    Params: { ws: string; keyId: string };
    Querystring: { from: string; to: string; baseline_days: number; limit: number };
  }>(
    '/v1/workspaces/:ws/keys/:keyId/activity',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Compromise view: where a key was used from, sources not seen in the baseline marked new',
        description:
          'For a session token, where the session was used from, each source marked new when its parent key had not been used from that IP in the baseline.',
        tags: ['keys'],
        params: KEY_PARAMS,
        querystring: rangeQuery({
          baseline_days: { type: 'integer', minimum: 1, maximum: 90, default: 7 },
          limit: LIMIT,
        }),
        response: {
          200: {
            type: 'object',
            properties: {
              parent_key_id: PARENT_KEY_ID,
              sources: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    client_ip: { type: 'string' },
                    origin: { type: 'string' },
                    user_agent: { type: 'string' },
                    region: { type: 'string' },
                    first_seen: TIME,
                    last_seen: TIME,
                    requests: { type: 'integer' },
                    by_outcome: BY_OUTCOME,
                    new: {
                      type: 'boolean',
                      description: 'Not used from this IP in the baseline_days before from',
                    },
                  },
                },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, keyId } = request.params;
      const range = parseRange(request.query);
      const params = {
        workspaceId: ws,
        keyId,
        ...range,
        baselineDays: request.query.baseline_days,
        limit: request.query.limit,
      };
      let sources = await getKeyActivity(ch, params);
      // A session's sources: its parent's decisions made with it, `new` against the parent's baseline.
      const session = sources.length === 0 ? await sessionOf(ws, keyId, range.from) : undefined;
      if (session)
        sources = await getKeyActivity(ch, { ...params, keyId: session.parentKeyId, sessionId: keyId });
      return {
        ...(session ? { parent_key_id: session.parentKeyId } : {}),
        sources: sources.map((s) => ({
          ...s,
          first_seen: isoTime(s.first_seen),
          last_seen: isoTime(s.last_seen),
        })),
      };
    },
  );
}
