import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { KeytrailError } from '@keytrail/core';
import { type EventCodec, eventFromJson, type FieldError, type KeytrailEvent } from '@keytrail/events';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import type { EventPublisher } from '../publisher.ts';

export interface EventsRouteOptions {
  publisher: EventPublisher;
  codec: EventCodec;
  /** Events per request (default 5,000). */
  maxEvents?: number;
  /** Bytes per request (default 5 MiB). */
  maxBytes?: number;
  /** Requests per second per bearer token (default 200); more is 429 with Retry-After. */
  requestsPerSecond?: number;
}

interface Rejected {
  index: number;
  errors: FieldError[];
}

/** NDJSON: one event per line; a line that is not JSON is rejected by its index, the rest go on. */
function parseNdjson(text: string): { items: unknown[]; lineErrors: Map<number, string> } {
  const items: unknown[] = [];
  const lineErrors = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      items.push(JSON.parse(line));
    } catch (err) {
      lineErrors.set(items.length, `is not JSON: ${(err as Error).message}`);
      items.push(undefined);
    }
  }
  return { items, lineErrors };
}

/**
 * POST /v1/events (DESIGN.md "HTTP"). Valid items are published; invalid ones are reported by
 * index and field path. The 202 is sent only after Kafka acknowledged every accepted event.
 */
export async function eventsRoute(app: FastifyInstance, options: EventsRouteOptions): Promise<void> {
  const maxEvents = options.maxEvents ?? 5_000;
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const accepted = new Counter({
    name: 'keytrail_ingest_events_accepted_total',
    help: 'Events acknowledged by Kafka',
    registers: [app.metrics],
  });
  const rejected = new Counter({
    name: 'keytrail_ingest_events_rejected_total',
    help: 'Events refused by validation',
    registers: [app.metrics],
  });
  const redacted = new Counter({
    name: 'keytrail_ingest_secrets_redacted_total',
    help: 'Secret-shaped values cut to their display prefix',
    registers: [app.metrics],
  });

  // JSON and NDJSON only: fastify also parses text/plain by default, which this route must
  // answer with 415 like any other type (this plugin's scope only; other routes keep it).
  app.removeContentTypeParser(['text/plain']);
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl'],
    { parseAs: 'string', bodyLimit: maxBytes },
    (_req, body, done) => done(null, { ndjson: body as string }),
  );

  // Per token (a hash of the Authorization header; by IP when there is none), before any work.
  await app.register(rateLimit, {
    global: false,
    max: options.requestsPerSecond ?? 200,
    timeWindow: 1_000,
    keyGenerator: (request) => {
      const header = request.headers.authorization;
      return header ? createHash('sha256').update(header).digest('hex') : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, context) =>
      new KeytrailError(
        'RATE_LIMITED',
        `More than ${context.max} requests per second for this token; retry in ${context.after}.`,
      ),
  });

  app.post(
    '/v1/events',
    {
      config: { rateLimit: {}, scope: 'ingest' },
      bodyLimit: maxBytes,
      schema: {
        summary: 'Record auth decisions and key lifecycle events',
        description:
          `A body of \`{"events": [...]}\` (application/json) or one event per line (application/x-ndjson), ` +
          `optionally Content-Encoding gzip or deflate; at most ${maxEvents.toLocaleString('en')} events and ` +
          `${maxBytes.toLocaleString('en')} bytes decoded. Invalid items are reported by index and field path; ` +
          'the 202 is sent only after Kafka acknowledged every accepted event.',
        tags: ['ingest'],
        response: {
          ...Object.fromEntries(
            [400, 401, 403, 413, 415, 429, 503].map((status) => [status, { $ref: 'Error#' }]),
          ),
          202: {
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              rejected: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    index: { type: 'integer' },
                    errors: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { path: { type: 'string' }, message: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { ndjson?: string; events?: unknown } | undefined;
      let items: unknown[];
      let lineErrors = new Map<number, string>();
      if (body && typeof body === 'object' && typeof (body as { ndjson?: unknown }).ndjson === 'string') {
        ({ items, lineErrors } = parseNdjson((body as { ndjson: string }).ndjson));
      } else if (body && typeof body === 'object' && Array.isArray(body.events)) {
        items = body.events;
      } else {
        throw new KeytrailError(
          'VALIDATION_FAILED',
          'The body must be {"events": [...]} or NDJSON, one event per line.',
        );
      }
      if (items.length > maxEvents) {
        throw new KeytrailError(
          'PAYLOAD_TOO_LARGE',
          `At most ${maxEvents} events per request; got ${items.length}.`,
        );
      }

      const valid: KeytrailEvent[] = [];
      const refused: Rejected[] = [];
      const now = Date.now();
      const principal = request.principal!;
      for (const [index, item] of items.entries()) {
        const lineError = lineErrors.get(index);
        if (lineError) {
          refused.push({ index, errors: [{ path: '', message: lineError }] });
          continue;
        }
        const result = eventFromJson(item, options.codec, now);
        if (!result.ok) {
          refused.push({ index, errors: result.errors });
          continue;
        }
        // Ingest is authorised per workspace: one event for another workspace refuses the request.
        const ws = result.value.event.workspace_id;
        if (principal.workspaces !== '*' && !principal.workspaces.has(ws)) {
          throw new KeytrailError(
            'FORBIDDEN',
            `This token may not ingest into workspace ${ws} (item ${index}); nothing was accepted.`,
          );
        }
        if (result.redactions > 0) redacted.inc(result.redactions);
        valid.push(result.value);
      }

      await options.publisher.publish(valid);
      accepted.inc(valid.length);
      rejected.inc(refused.length);
      reply.status(202);
      return { accepted: valid.length, rejected: refused };
    },
  );
}
