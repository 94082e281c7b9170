import { type ClickHouseDriver, getKeyUsage, type UsageGranularity } from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import type { FastifyInstance } from 'fastify';

const GRANULARITY_MS: Record<UsageGranularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** A range may hold at most this many buckets (a year of hours, a week of minutes ≈ 10k). */
export const MAX_BUCKETS = 10_080;

const ID = { type: 'string', minLength: 1, maxLength: 256 } as const;

/** GET /v1/workspaces/{ws}/keys/{keyId}/usage — requests per bucket by outcome (DESIGN.md "HTTP"). */
export async function keyUsageRoute(app: FastifyInstance, options: { ch: ClickHouseDriver }): Promise<void> {
  app.get<{
    Params: { ws: string; keyId: string };
    Querystring: { from: string; to: string; granularity: UsageGranularity };
  }>(
    '/v1/workspaces/:ws/keys/:keyId/usage',
    {
      schema: {
        params: { type: 'object', required: ['ws', 'keyId'], properties: { ws: ID, keyId: ID } },
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            granularity: { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workspace_id: { type: 'string' },
              key_id: { type: 'string' },
              granularity: { type: 'string' },
              buckets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    start: { type: 'string' },
                    total: { type: 'integer' },
                    by_outcome: { type: 'object', additionalProperties: { type: 'integer' } },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const { ws, keyId } = request.params;
      await app.requireScope(request, 'read', ws);
      const { granularity } = request.query;
      const from = new Date(request.query.from);
      const to = new Date(request.query.to);
      if (!(from < to)) throw new KeytrailError('VALIDATION_FAILED', '"from" must be before "to".');
      if ((to.getTime() - from.getTime()) / GRANULARITY_MS[granularity] > MAX_BUCKETS) {
        throw new KeytrailError(
          'VALIDATION_FAILED',
          `The range holds more than ${MAX_BUCKETS} ${granularity} buckets; use a coarser granularity or a shorter range.`,
        );
      }
      const buckets = await getKeyUsage(options.ch, { workspaceId: ws, keyId, from, to, granularity });
      return { workspace_id: ws, key_id: keyId, granularity, buckets };
    },
  );
}
