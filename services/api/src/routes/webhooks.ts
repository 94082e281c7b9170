import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import {
  type ClickHouseDriver,
  getWebhookEndpoint,
  getWebhookMessage,
  listWebhookAttempts,
  listWebhookEndpoints,
  listWebhookMessages,
  newWebhookMessage,
  type WebhookEndpointRow,
  writeWebhookEndpoint,
  writeWebhookEndpointVersion,
  writeWebhookMessages,
} from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';
import {
  checkWebhookUrl,
  createWebhookSecret,
  DEFAULT_WEBHOOK_EVENTS,
  forbiddenAddressReason,
  isForbiddenAddress,
  maskWebhookSecret,
  openSecrets,
  rotateSecrets,
  sealSecrets,
  WEBHOOK_EVENT_TYPES,
  webhookBody,
} from '@keytrail/webhooks';
import type { FastifyInstance } from 'fastify';
import type { CursorCodec } from '../query/cursor.ts';
import { isoTime } from '../query/range.ts';
import { CURSOR, ERRORS, ID, LIMIT, NULLABLE_TIME, TIME, WS_PARAMS } from './schemas.ts';

export interface WebhookRouteOptions {
  ch: ClickHouseDriver;
  cursors: CursorCodec;
  /** Seals endpoint secrets (KEYTRAIL_SECRET_KEY); undefined: no endpoint can be made or rotated here. */
  sealingKey: Buffer | undefined;
  /** KEYTRAIL_WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** Resolves a host name at creation (tests give their own); Node's resolver otherwise. */
  resolve?: (host: string) => Promise<string[]>;
}

const ENDPOINT_PARAMS = {
  type: 'object',
  required: ['ws', 'id'],
  properties: { ws: ID, id: ID },
} as const;

const ENDPOINT_VIEW = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    secret_hint: { type: 'string', description: 'The current secret with its middle hidden' },
    created_at: TIME,
    disabled_at: NULLABLE_TIME,
    disabled_reason: { type: 'string' },
  },
} as const;

const ATTEMPT_VIEW = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    attempted_at: TIME,
    outcome: { type: 'string' },
    status_code: { type: ['integer', 'null'] },
    duration_ms: { type: 'integer' },
    error: { type: 'string' },
  },
} as const;

const DELIVERY_VIEW = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The message id: its webhook-id header' },
    event_type: { type: 'string' },
    alert_id: { type: 'string' },
    status: { type: 'string', enum: ['PENDING', 'DELIVERED', 'FAILED'] },
    attempts: { type: 'integer' },
    created_at: TIME,
    next_attempt_at: NULLABLE_TIME,
    last_status_code: { type: ['integer', 'null'] },
    last_error: { type: 'string' },
    attempt_log: { type: 'array', items: ATTEMPT_VIEW },
  },
} as const;

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Webhook endpoints (DESIGN.md "Webhooks"): create (secret shown once), list, delete, rotate the
 * secret (both sign for 24 h), send a test, read the delivery log, redeliver. This API never
 * sends anything itself: it writes messages the alerter's delivery worker sends.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { ch, cursors } = options;
  const resolve = options.resolve ?? defaultResolve;

  /** The key, or 503: an API process without KEYTRAIL_SECRET_KEY cannot seal or open a secret. */
  const key = (): Buffer => {
    if (!options.sealingKey)
      throw new KeytrailError(
        'UNAVAILABLE',
        'This API process has no KEYTRAIL_SECRET_KEY: it cannot seal webhook secrets.',
      );
    return options.sealingKey;
  };

  const invalidUrl = (message: string) =>
    new KeytrailError('VALIDATION_FAILED', `url ${message}`, { details: [{ path: 'body.url', message }] });

  /** The URL as given, then every address its host resolves to now (the delivery checks again at connect). */
  async function checkUrl(url: string): Promise<void> {
    const problem = checkWebhookUrl(url, options.allowPrivate);
    if (problem) throw invalidUrl(problem.message);
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch {
      // A local receiver's name may resolve only where the alerter runs (a compose service).
      if (options.allowPrivate) return;
      throw invalidUrl(`host ${host} does not resolve`);
    }
    const forbidden = addresses.find((a) => isForbiddenAddress(a, options.allowPrivate));
    if (forbidden)
      throw invalidUrl(
        `host ${host} resolves to ${forbidden}, ${forbiddenAddressReason(forbidden, options.allowPrivate)}`,
      );
  }

  const view = (e: WebhookEndpointRow) => {
    let hint = 'whsec_…';
    try {
      const current = openSecrets(key(), e.sealed_secrets).find((s) => s.expires_at === null);
      if (current) hint = maskWebhookSecret(current.secret);
    } catch {
      hint = options.sealingKey ? '(sealed with another KEYTRAIL_SECRET_KEY)' : 'whsec_…';
    }
    return {
      id: e.endpoint_id,
      url: e.url,
      events: e.events,
      secret_hint: hint,
      created_at: isoTime(e.created_at),
      disabled_at: e.disabled_at === null ? null : isoTime(e.disabled_at),
      disabled_reason: e.disabled_reason,
    };
  };

  const endpointOr404 = async (ws: string, id: string) => {
    const endpoint = await getWebhookEndpoint(ch, ws, id);
    if (!endpoint) throw new KeytrailError('NOT_FOUND', `No webhook endpoint ${id} in workspace ${ws}.`);
    return endpoint;
  };

  app.post<{ Params: { ws: string }; Body: { url: string; events?: string[] } }>(
    '/v1/workspaces/:ws/webhooks',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'Add a webhook endpoint; its signing secret is in this answer only',
        description:
          'The URL must be http(s) and resolve to public addresses only (KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1 also opens loopback and private ones, never link-local); it is checked again at every delivery.',
        tags: ['webhooks'],
        params: WS_PARAMS,
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            events: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
              default: DEFAULT_WEBHOOK_EVENTS,
            },
          },
        },
        response: {
          201: { ...ENDPOINT_VIEW, properties: { ...ENDPOINT_VIEW.properties, secret: { type: 'string' } } },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { ws } = request.params;
      const { url } = request.body;
      const sealing = key();
      await checkUrl(url);
      const secret = createWebhookSecret();
      const now = Date.now();
      const endpoint = {
        workspace_id: ws,
        endpoint_id: `ep_${randomBytes(12).toString('hex')}`,
        url,
        events: request.body.events ?? DEFAULT_WEBHOOK_EVENTS,
        sealed_secrets: sealSecrets(sealing, [{ secret, expires_at: null }]),
        created_at: now,
        disabled_at: null,
        disabled_reason: '',
        deleted: false,
        version: now,
      };
      await writeWebhookEndpoint(ch, endpoint);
      reply.status(201);
      return {
        id: endpoint.endpoint_id,
        url,
        events: endpoint.events,
        secret,
        secret_hint: maskWebhookSecret(secret),
        created_at: new Date(now).toISOString(),
        disabled_at: null,
        disabled_reason: '',
      };
    },
  );

  app.get<{ Params: { ws: string } }>(
    '/v1/workspaces/:ws/webhooks',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The workspace's webhook endpoints (secrets masked)",
        tags: ['webhooks'],
        params: WS_PARAMS,
        response: {
          200: { type: 'object', properties: { webhooks: { type: 'array', items: ENDPOINT_VIEW } } },
          ...ERRORS,
        },
      },
    },
    async (request) => ({ webhooks: (await listWebhookEndpoints(ch, request.params.ws)).map(view) }),
  );

  app.delete<{ Params: { ws: string; id: string } }>(
    '/v1/workspaces/:ws/webhooks/:id',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'Remove an endpoint: nothing more is sent to it, pending messages fail',
        tags: ['webhooks'],
        params: ENDPOINT_PARAMS,
        response: { 204: { type: 'null' }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const endpoint = await endpointOr404(request.params.ws, request.params.id);
      await writeWebhookEndpointVersion(ch, endpoint, { deleted: true });
      reply.status(204);
    },
  );

  app.post<{ Params: { ws: string; id: string } }>(
    '/v1/workspaces/:ws/webhooks/:id/rotate-secret',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'A new signing secret (shown once); the old one keeps signing for 24 h',
        tags: ['webhooks'],
        params: ENDPOINT_PARAMS,
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              secret: { type: 'string' },
              previous_secret_expires_at: TIME,
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const endpoint = await endpointOr404(request.params.ws, request.params.id);
      const now = Date.now();
      const secret = createWebhookSecret();
      const rotated = rotateSecrets(openSecrets(key(), endpoint.sealed_secrets), secret, now);
      await writeWebhookEndpointVersion(ch, endpoint, { sealed_secrets: sealSecrets(key(), rotated) });
      const previous = rotated.find((s) => s.expires_at !== null);
      return {
        id: endpoint.endpoint_id,
        secret,
        previous_secret_expires_at: new Date(previous?.expires_at ?? now).toISOString(),
      };
    },
  );

  app.post<{ Params: { ws: string; id: string } }>(
    '/v1/workspaces/:ws/webhooks/:id/test',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'Queue a signed `webhook.test` message to the endpoint; its delivery shows in the log',
        tags: ['webhooks'],
        params: ENDPOINT_PARAMS,
        response: { 202: { type: 'object', properties: { delivery_id: { type: 'string' } } }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { ws, id } = request.params;
      const endpoint = await endpointOr404(ws, id);
      if (endpoint.disabled_at !== null)
        throw new KeytrailError(
          'BAD_REQUEST',
          `Webhook endpoint ${id} is disabled: ${endpoint.disabled_reason}`,
        );
      const now = Date.now();
      const messageId = `msg_${randomBytes(12).toString('hex')}`;
      await writeWebhookMessages(ch, [
        newWebhookMessage(
          {
            workspace_id: ws,
            endpoint_id: id,
            message_id: messageId,
            event_type: 'webhook.test',
            alert_id: '',
            body: webhookBody('webhook.test', now, {
              endpoint_id: id,
              message: 'A test message from Keytrail.',
            }),
          },
          now,
        ),
      ]);
      reply.status(202);
      return { delivery_id: messageId };
    },
  );

  app.get<{ Params: { ws: string; id: string }; Querystring: { limit: number; cursor?: string } }>(
    '/v1/workspaces/:ws/webhooks/:id/deliveries',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The endpoint's messages, newest first, each with every attempt",
        tags: ['webhooks'],
        params: ENDPOINT_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: LIMIT, cursor: CURSOR },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              deliveries: { type: 'array', items: DELIVERY_VIEW },
              next_cursor: { type: 'string' },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { ws, id } = request.params;
      const { limit, cursor } = request.query;
      await endpointOr404(ws, id);
      const after = cursor ? cursors.decode('deliveries', cursor) : undefined;
      const messages = await listWebhookMessages(ch, {
        workspaceId: ws,
        endpointId: id,
        after: after ? { createdAt: new Date(after.at!), messageId: after.id! } : undefined,
        limit: limit + 1,
      });
      const page = messages.slice(0, limit);
      const attempts = await listWebhookAttempts(ch, {
        workspaceId: ws,
        endpointId: id,
        messageIds: page.map((m) => m.message_id),
      });
      const last = page.at(-1);
      return {
        deliveries: page.map((m) => ({
          id: m.message_id,
          event_type: m.event_type,
          alert_id: m.alert_id,
          status: m.status,
          attempts: m.attempts,
          created_at: new Date(m.created_at).toISOString(),
          next_attempt_at: m.status === 'PENDING' ? new Date(m.next_attempt_at).toISOString() : null,
          last_status_code: m.last_status_code || null,
          last_error: m.last_error,
          attempt_log: attempts
            .filter((a) => a.message_id === m.message_id)
            .map((a) => ({
              attempt: a.attempt,
              attempted_at: new Date(a.attempted_at).toISOString(),
              outcome: a.outcome,
              status_code: a.status_code || null,
              duration_ms: a.duration_ms,
              error: a.error,
            })),
        })),
        ...(messages.length > limit && last
          ? {
              next_cursor: cursors.encode('deliveries', {
                at: new Date(last.created_at).toISOString(),
                id: last.message_id,
              }),
            }
          : {}),
      };
    },
  );

  app.post<{ Params: { ws: string; id: string; deliveryId: string } }>(
    '/v1/workspaces/:ws/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config: { scope: 'webhook:write' },
      schema: {
        summary: 'Send a message again now (same webhook-id, so the receiver can tell it is the same)',
        tags: ['webhooks'],
        params: {
          type: 'object',
          required: ['ws', 'id', 'deliveryId'],
          properties: { ws: ID, id: ID, deliveryId: ID },
        },
        response: {
          202: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { ws, id, deliveryId } = request.params;
      const endpoint = await endpointOr404(ws, id);
      if (endpoint.disabled_at !== null)
        throw new KeytrailError(
          'BAD_REQUEST',
          `Webhook endpoint ${id} is disabled: ${endpoint.disabled_reason}`,
        );
      const message = await getWebhookMessage(ch, { workspaceId: ws, endpointId: id, messageId: deliveryId });
      if (!message) throw new KeytrailError('NOT_FOUND', `No delivery ${deliveryId} for endpoint ${id}.`);
      const now = Date.now();
      await writeWebhookMessages(ch, [
        { ...message, status: 'PENDING', next_attempt_at: now, version: Math.max(now, message.version + 1) },
      ]);
      reply.status(202);
      return { id: deliveryId, status: 'PENDING' };
    },
  );
}
