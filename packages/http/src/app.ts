import type { Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { KeytrailError, type Logger, MAX_ID_LENGTH, newRequestId } from '@keytrail/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse as parseJson } from 'secure-json-parse';
import { type Authenticator, mayAccess, type Principal, type Scope } from './auth.ts';
import { errorBody, handleError, handleRouterError, jsonBodyError } from './errors.ts';
import { boundedCheck, type ReadinessCheck } from './readiness.ts';

/**
 * Longest path parameter the router takes, percent-encoded: every id the event rule allows (a
 * UTF-16 unit is at most 3 UTF-8 bytes, each `%XX`). fastify's default (100) refused valid ids
 * with a 414 before the route's own schema could judge them.
 */
const MAX_ENCODED_PARAM_LENGTH = MAX_ID_LENGTH * 9;

/**
 * The decoder of a Content-Encoding: undefined for none (`identity`), null for one not taken.
 * One coding only: a stack of them (`gzip, deflate`) is refused, as nobody sends it.
 */
function bodyDecoder(coding: string): (() => Transform) | undefined | null {
  switch (coding.trim().toLowerCase()) {
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip;
    case 'deflate':
      return createInflate;
    default:
      return null;
  }
}

/** Every readiness check answers within this, so /readyz does well inside a 1 s probe timeout. */
const READINESS_CHECK_TIMEOUT_MS = 800;

export interface HttpAppOptions {
  logger: Logger;
  authenticate: Authenticator;
  readiness: Record<string, ReadinessCheck>;
  metrics?: Registry;
  /** Largest body accepted by any route (routes may lower it). Default 5 MiB. */
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The scope a route needs. Checked before validation by one hook for every route (on the
     * route's workspace when its URL has `:ws`); a `/v1/workspaces/:ws/...` route without one
     * fails at start-up, so a new route cannot forget its authorization.
     */
    scope?: Scope;
  }
  interface FastifyInstance {
    metrics: Registry;
    /** Throws 401/403 unless the request's bearer token has `scope` (on `workspaceId`). */
    requireScope(request: FastifyRequest, scope: Scope, workspaceId?: string): Promise<Principal>;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The one error shape, shared by every route's error responses (`$ref: 'Error#'`). */
export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'request_id'],
      properties: {
        code: { type: 'string', description: 'One of the codes in packages/core/README.md' },
        message: { type: 'string' },
        request_id: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

// Client-supplied request ids are echoed only when they are short and plain.
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The fastify instance every Keytrail HTTP service starts from: request ids, one error shape,
 * bearer auth, /healthz, /readyz and /metrics. Building is separate from listening so tests
 * can use inject().
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    // Per-request info lines would drown everything else under load; warnings and errors stay.
    loggerInstance: options.logger.child(
      {},
      { level: process.env.KEYTRAIL_HTTP_LOG_LEVEL ?? 'warn' },
    ) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 5 * 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : newRequestId();
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_ENCODED_PARAM_LENGTH },
    frameworkErrors: handleRouterError,
  });

  // OpenAPI 3.1 generated from the route schemas themselves; registered first so that every
  // route, whoever adds it later, is in the document.
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keytrail',
        version: '1',
        description:
          'Audit and usage analytics for API-key authentication. Every route needs `Authorization: Bearer <token>` except the health routes.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(ERROR_SCHEMA);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/workspaces/:ws') && !route.config?.scope)
      throw new Error(
        `${String(route.method)} ${route.url} declares no config.scope: every workspace route needs one`,
      );
  });

  const metrics = options.metrics ?? new Registry();
  if (!options.metrics) collectDefaultMetrics({ register: metrics, prefix: 'keytrail_' });
  app.decorate('metrics', metrics);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Authorization before validation: another workspace's token gets 403 whatever it sent.
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope) await app.requireScope(request, scope, (request.params as { ws?: string }).ws);
  });
  // Compressed bodies (a gateway's batch of a few MiB of JSON shrinks about tenfold): gzip and
  // deflate are decoded before parsing; bodyLimit applies to the decoded bytes, so a small bomb
  // that expands past it is a 413. Any other coding is a 415 rather than a body misread.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const coding = request.headers['content-encoding'];
    if (coding === undefined) return payload;
    const decoder = bodyDecoder(coding);
    if (decoder === null)
      throw new KeytrailError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Encoding "${coding.slice(0, 32)}" is not supported: send the body as gzip, deflate or uncompressed.`,
      );
    if (!decoder) return payload;
    // fastify checks Content-Length against the bytes received, not the bytes decoded.
    const decoded = Object.assign(decoder(), { receivedEncodedLength: 0 });
    payload.on('data', (chunk: Buffer) => {
      decoded.receivedEncodedLength += chunk.length;
    });
    payload.on('error', (err) => decoded.destroy(err));
    // fastify listens for errors while it reads the body; a body it never reads (a content type no
    // parser takes) would otherwise throw its decoding error at the process.
    decoded.on('error', () => {});
    return payload.pipe(decoded);
  });
  app.addHook('onResponse', async (request, reply) => {
    // A 503 from /readyz is an answer, not a failure: the checks say why.
    if (reply.statusCode >= 500 && request.routeOptions.url !== '/readyz')
      request.log.warn({ status: reply.statusCode, url: request.url }, 'request failed');
  });

  // fastify's own JSON parser (the same secure-json-parse) answers every failure with "Body is
  // not valid JSON", dropping where and why; a gateway's developer needs both. An empty body is
  // no body: a route that needs one says so in its schema's words.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, parseJson(body as string, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      done(jsonBodyError(err as Error), undefined);
    }
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(errorBody('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`, request.id));
  });

  app.decorate('requireScope', async (request: FastifyRequest, scope: Scope, workspaceId?: string) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new KeytrailError('UNAUTHENTICATED', 'Send Authorization: Bearer <token>.');
    const principal = await options.authenticate(match[1]!);
    if (!principal) throw new KeytrailError('UNAUTHENTICATED', 'The bearer token is unknown or revoked.');
    if (!mayAccess(principal, scope, workspaceId)) {
      throw new KeytrailError(
        'FORBIDDEN',
        workspaceId === undefined
          ? `The token lacks the "${scope}" scope.`
          : `The token may not use "${scope}" on workspace ${workspaceId}.`,
      );
    }
    request.principal = principal;
    return principal;
  });

  // In a plugin, so that swagger (registered above) sees them.
  void app.register(async (scoped) => {
    scoped.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

    const readiness = Object.entries(options.readiness).map(
      ([name, check]) => [name, boundedCheck(check, READINESS_CHECK_TIMEOUT_MS)] as const,
    );
    scoped.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
      const entries = await Promise.all(
        readiness.map(async ([name, check]) => [name, await check()] as const),
      );
      const checks = Object.fromEntries(entries);
      const ready = entries.every(([, ok]) => ok);
      reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    });

    scoped.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', metrics.contentType).send(await metrics.metrics());
    });
    scoped.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });

  return app;
}
