import { ID_PATTERN, MAX_ID_LENGTH } from '@keytrail/core';

/**
 * JSON Schemas the query routes share. Each validates the route (fastify/ajv) and becomes its
 * OpenAPI 3.1 description (@fastify/swagger): one source for both.
 */
/** Ids in paths and filters: the rule ingest applies to ids in events (@keytrail/core's ids.ts). */
export const ID = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH, pattern: ID_PATTERN } as const;
export const TIME = { type: 'string', format: 'date-time', description: 'RFC 3339' } as const;
export const NULLABLE_TIME = { type: ['string', 'null'], format: 'date-time' } as const;

export const WS_PARAMS = {
  type: 'object',
  required: ['ws'],
  properties: { ws: ID },
} as const;
export const KEY_PARAMS = {
  type: 'object',
  required: ['ws', 'keyId'],
  properties: { ws: ID, keyId: ID },
} as const;

const RANGE = { from: TIME, to: TIME } as const;

/** The query string of a route over a time range: from and to (required), then its own fields. */
export function rangeQuery<Properties extends Record<string, unknown>>(
  properties: Properties,
  required: readonly string[] = [],
) {
  return {
    type: 'object',
    required: ['from', 'to', ...required],
    additionalProperties: false,
    properties: { ...RANGE, ...properties },
  } as const;
}
export const LIMIT = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;
export const CURSOR = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  description: 'next_cursor of the previous page',
} as const;
export const GRANULARITY = { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' } as const;

export const BY_OUTCOME = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  description: 'Decisions per outcome (Avro symbols)',
} as const;

/** Error responses every query route can give (the shared `Error` schema of @keytrail/http). */
export const ERRORS = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  503: { $ref: 'Error#' },
} as const;

export const DECISION = {
  type: 'object',
  properties: {
    event_id: { type: 'string' },
    occurred_at: TIME,
    request_id: { type: 'string' },
    key_id: { type: 'string' },
    key_prefix: { type: 'string' },
    key_env: { type: 'string' },
    credential: { type: 'string' },
    session_id: { type: 'string' },
    end_user_id: { type: 'string' },
    method: { type: 'string' },
    route: { type: 'string' },
    required_scope: { type: 'string' },
    outcome: { type: 'string' },
    http_status: { type: 'integer' },
    deprecated_key: { type: 'boolean' },
    latency_ms: { type: ['number', 'null'] },
    cost: { type: 'integer' },
    client_ip: { type: 'string' },
    origin: { type: 'string' },
    user_agent: { type: 'string' },
    region: { type: 'string' },
  },
} as const;

export const KEY = {
  type: 'object',
  properties: {
    key_id: { type: 'string' },
    key_prefix: { type: 'string' },
    name: { type: 'string' },
    env: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', enum: ['ACTIVE', 'SUPERSEDED', 'REVOKED', 'EXPIRED'] },
    scopes: { type: 'array', items: { type: 'string' } },
    rate_limits: {
      type: 'object',
      properties: {
        per_minute: { type: ['integer', 'null'] },
        per_hour: { type: ['integer', 'null'] },
        per_day: { type: ['integer', 'null'] },
      },
    },
    quota: {
      type: ['object', 'null'],
      properties: { period: { type: 'string' }, limit: { type: ['integer', 'null'] } },
    },
    expires_at: NULLABLE_TIME,
    allowed_origins: { type: 'array', items: { type: 'string' } },
    grace_ends_at: NULLABLE_TIME,
    replaced_by: { type: ['string', 'null'] },
    created_at: NULLABLE_TIME,
    revoked_at: NULLABLE_TIME,
    end_user_id: { type: ['string', 'null'], description: 'Sessions: the end user they are scoped to' },
    parent_key_id: { type: ['string', 'null'], description: 'Sessions: the key that issued them' },
    last_used_at: NULLABLE_TIME,
    last_client_ip: { type: ['string', 'null'] },
    requests_24h: { type: 'integer' },
    requests_30d: { type: 'integer' },
    errors_24h: { type: 'integer' },
    hourly_24h: {
      type: 'array',
      items: { type: 'integer' },
      description: 'Requests per hour over the 25 hourly buckets requests_24h sums, oldest first',
    },
  },
} as const;
