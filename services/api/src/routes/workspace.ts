import { Readable } from 'node:stream';
import {
  BILLING_CSV_HEADER,
  type BillingPeriod,
  type ClickHouseDriver,
  findDecisionsByRequestId,
  getEndUserBreakdown,
  getProbes,
  getTopUsage,
  getWorkspaceUsageSeries,
  isMonthStart,
  type ProbesGroupBy,
  streamBillingExport,
  type TopUsageBy,
} from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import type { FastifyInstance } from 'fastify';
import { checkBuckets, GRANULARITY_MS, type Granularity, isoTime, parseRange } from '../query/range.ts';
import {
  BY_OUTCOME,
  DECISION,
  ERRORS,
  GRANULARITY,
  ID,
  LIMIT,
  rangeQuery,
  TIME,
  WS_PARAMS,
} from './schemas.ts';

/** Keys, and sessions, listed on an end user's usage, most used first (the bench's end users use 45-55 keys a month). */
const END_USER_LISTED = 100;
/** What one key or one session carried of an end user's traffic over the range. */
const END_USER_SHARE = {
  total: { type: 'integer' },
  by_outcome: BY_OUTCOME,
  cost: { type: 'integer' },
  first_seen: TIME,
  last_seen: TIME,
} as const;

/** Workspace-wide routes: request lookup, top-N usage, end-user usage, billing export, probes. */
export async function workspaceRoutes(app: FastifyInstance, { ch }: { ch: ClickHouseDriver }): Promise<void> {
  app.get<{ Params: { ws: string; requestId: string } }>(
    '/v1/workspaces/:ws/requests/:requestId',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'The decision(s) a request id names (the X-Request-Id a caller quotes to support)',
        tags: ['requests'],
        params: { type: 'object', required: ['ws', 'requestId'], properties: { ws: ID, requestId: ID } },
        response: {
          200: { type: 'object', properties: { decisions: { type: 'array', items: DECISION } } },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, requestId } = request.params;
      const decisions = await findDecisionsByRequestId(ch, { workspaceId: ws, requestId });
      if (decisions.length === 0)
        throw new KeytrailError('NOT_FOUND', `No decision with request id ${requestId} in workspace ${ws}.`);
      return { decisions: decisions.map((d) => ({ ...d, occurred_at: isoTime(d.occurred_at) })) };
    },
  );

  app.get<{
    Params: { ws: string };
    Querystring: { from: string; to: string; group_by: TopUsageBy; limit: number };
  }>(
    '/v1/workspaces/:ws/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The workspace's top values of one dimension by requests",
        tags: ['usage'],
        params: WS_PARAMS,
        querystring: rangeQuery(
          {
            group_by: { type: 'string', enum: ['key_id', 'end_user_id', 'route', 'outcome', 'client_ip'] },
            limit: LIMIT,
          },
          ['group_by'],
        ),
        response: {
          200: {
            type: 'object',
            properties: {
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    value: { type: 'string' },
                    total: { type: 'integer' },
                    by_outcome: BY_OUTCOME,
                    cost: { type: 'integer' },
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
      const range = parseRange(request.query);
      const rows = await getTopUsage(ch, {
        workspaceId: request.params.ws,
        ...range,
        groupBy: request.query.group_by,
        limit: request.query.limit,
      });
      return { rows };
    },
  );

  app.get<{
    Params: { ws: string };
    Querystring: { from: string; to: string; granularity: Granularity };
  }>(
    '/v1/workspaces/:ws/usage/series',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "The workspace's decisions per bucket by outcome, every key together (unknown keys included)",
        description:
          'From the per-key rollups. A bucket the range cuts into is included; empty buckets are left out. What the dashboard charts.',
        tags: ['usage'],
        params: WS_PARAMS,
        querystring: rangeQuery({ granularity: GRANULARITY }),
        response: {
          200: {
            type: 'object',
            properties: {
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
                    cost: { type: 'integer' },
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
      const { granularity } = request.query;
      const range = parseRange(request.query);
      checkBuckets(range, granularity);
      const buckets = await getWorkspaceUsageSeries(ch, {
        workspaceId: request.params.ws,
        ...range,
        granularity,
      });
      return { granularity, buckets };
    },
  );

  app.get<{
    Params: { ws: string; endUserId: string };
    Querystring: { from: string; to: string; granularity: Granularity };
  }>(
    '/v1/workspaces/:ws/end-users/:endUserId/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary:
          "An end user's decisions per bucket, across every key and session, and the keys and sessions they came through",
        tags: ['usage'],
        params: { type: 'object', required: ['ws', 'endUserId'], properties: { ws: ID, endUserId: ID } },
        querystring: rangeQuery({ granularity: GRANULARITY }),
        response: {
          200: {
            type: 'object',
            properties: {
              end_user_id: { type: 'string' },
              granularity: { type: 'string' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    start: TIME,
                    total: { type: 'integer' },
                    by_outcome: BY_OUTCOME,
                    cost: { type: 'integer' },
                    keys: { type: 'integer' },
                    sessions: { type: 'integer', description: "The end user's sessions seen in the bucket" },
                  },
                },
              },
              by_key: {
                type: 'array',
                description: `The keys (a session's parent key for its traffic) over the whole range, most used first, at most ${END_USER_LISTED}`,
                items: {
                  type: 'object',
                  properties: {
                    key_id: { type: 'string' },
                    ...END_USER_SHARE,
                    sessions: {
                      type: 'integer',
                      description: "The end user's sessions issued from this key",
                    },
                  },
                },
              },
              more_keys: {
                type: 'boolean',
                description: `True when the end user used more keys than by_key lists`,
              },
              by_session: {
                type: 'array',
                description: `The end user's sessions over the whole range, each with the key it was issued from, most used first, at most ${END_USER_LISTED}`,
                items: {
                  type: 'object',
                  properties: {
                    session_id: { type: 'string' },
                    key_id: { type: 'string', description: 'The key the session was issued from' },
                    ...END_USER_SHARE,
                  },
                },
              },
              more_sessions: {
                type: 'boolean',
                description: `True when the end user had more sessions than by_session lists`,
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, endUserId } = request.params;
      const { granularity } = request.query;
      const range = parseRange(request.query);
      checkBuckets(range, granularity);
      const { buckets, keys, sessions } = await getEndUserBreakdown(ch, {
        workspaceId: ws,
        endUserId,
        ...range,
        minutes: GRANULARITY_MS[granularity] / 60_000,
        // One more than shown, to tell whether there are more.
        listed: END_USER_LISTED + 1,
      });
      return {
        end_user_id: endUserId,
        granularity,
        buckets,
        by_key: keys.slice(0, END_USER_LISTED),
        more_keys: keys.length > END_USER_LISTED,
        by_session: sessions.slice(0, END_USER_LISTED),
        more_sessions: sessions.length > END_USER_LISTED,
      };
    },
  );

  app.get<{
    Params: { ws: string };
    Querystring: {
      from: string;
      to: string;
      period: BillingPeriod;
      format: 'csv' | 'ndjson';
      limit?: number;
    };
  }>(
    '/v1/workspaces/:ws/billing/export',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Billable usage per period and end user, streamed as CSV or NDJSON',
        description:
          'Billable = ALLOWED decisions of LIVE keys (test and dev keys never); session traffic is billed to its end user; usage with no end user is one row with an empty end_user_id. Days are UTC; from/to are cut to whole days; with period=month both must be the first day of a month. Rows in (period_start, end_user_id) order: a closed period exports byte-identically twice.',
        tags: ['billing'],
        params: WS_PARAMS,
        querystring: rangeQuery({
          period: { type: 'string', enum: ['day', 'month'], default: 'month' },
          format: { type: 'string', enum: ['csv', 'ndjson'], default: 'csv' },
          limit: {
            type: 'integer',
            minimum: 1,
            maximum: 1_000_000,
            description: 'At most this many rows (a preview); the whole period when absent',
          },
        }),
        response: {
          200: {
            description: 'period_start, end_user_id, billable_requests, cost_micros, keys',
            content: {
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { ws } = request.params;
      const { period, format, limit } = request.query;
      const range = parseRange(request.query);
      const fromDay = range.from.toISOString().slice(0, 10);
      const toDay = range.to.toISOString().slice(0, 10);
      if (fromDay >= toDay)
        throw new KeytrailError('VALIDATION_FAILED', 'to: the range must cover at least one whole UTC day', {
          details: [{ path: 'to', message: 'the range must cover at least one whole UTC day' }],
        });
      if (period === 'month')
        for (const [path, day] of [
          ['from', fromDay],
          ['to', toDay],
        ] as const)
          if (!isMonthStart(day))
            throw new KeytrailError(
              'VALIDATION_FAILED',
              `${path}: a monthly export covers whole UTC months; ${path} must be the first day of a month, such as ${day.slice(0, 8)}01`,
              { details: [{ path, message: 'must be the first day of a UTC month' }] },
            );
      const name = `keytrail-billing-${ws.replace(/[^A-Za-z0-9_.-]/g, '_')}-${fromDay}-${toDay}-${period}.${format}`;
      const lines = streamBillingExport(ch, {
        workspaceId: ws,
        fromDay,
        toDay,
        period,
        format,
        ...(limit ? { limit } : {}),
      });
      reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${name}"`);
      // The response pulls from the stream: ClickHouse's next chunk is only read once the client
      // has taken the previous one.
      async function* file() {
        if (format === 'csv') yield BILLING_CSV_HEADER;
        yield* lines;
      }
      return reply.send(Readable.from(file()));
    },
  );

  app.get<{
    Params: { ws: string };
    Querystring: { from: string; to: string; group_by: ProbesGroupBy; limit: number };
  }>(
    '/v1/workspaces/:ws/probes',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Invalid, expired and revoked key attempts by source IP, key prefix or presented key hash',
        tags: ['probes'],
        params: WS_PARAMS,
        querystring: rangeQuery({
          group_by: {
            type: 'string',
            enum: ['client_ip', 'key_prefix', 'presented_key_hash'],
            default: 'client_ip',
          },
          limit: LIMIT,
        }),
        response: {
          200: {
            type: 'object',
            properties: {
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    value: { type: 'string' },
                    attempts: { type: 'integer' },
                    distinct_key_hashes: { type: 'integer' },
                    distinct_ips: { type: 'integer' },
                    first_seen: TIME,
                    last_seen: TIME,
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
      const range = parseRange(request.query);
      const rows = await getProbes(ch, {
        workspaceId: request.params.ws,
        ...range,
        groupBy: request.query.group_by,
        limit: request.query.limit,
      });
      return {
        rows: rows.map((r) => ({ ...r, first_seen: isoTime(r.first_seen), last_seen: isoTime(r.last_seen) })),
      };
    },
  );
}
