import { createHmac } from 'node:crypto';
import type { Emitter } from '@keytrail/emitter';
import {
  type CredentialKind,
  displayPrefix,
  type KeyEnv,
  type KeyType,
  OUTCOME_HTTP_STATUS,
  type Outcome,
  type QuotaState,
  type RateLimitState,
} from '@keytrail/events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** What the gateway's own key check says about one request. */
export interface VerifyResult {
  outcome: Outcome;
  /** The tenant the request belongs to (for an unknown key: the gateway's own workspace). */
  workspaceId: string;
  key?: {
    id: string;
    prefix?: string;
    env?: KeyEnv;
    type?: KeyType;
    scopes?: string[];
    deprecated?: boolean;
  };
  credential?: CredentialKind;
  /** A session token scoped to an end user: usage is attributed to that end user. */
  session?: { id: string; endUserId: string };
  resource?: string;
  requiredScope?: string;
  rateLimit?: RateLimitState;
  quota?: QuotaState;
  /** Micro-credits the request costs (known before the handler runs, or set later with setCost). */
  cost?: number;
  /** The error a refused request gets (default: the outcome's usual status and code). */
  error?: { status?: number; message?: string };
}

export interface KeytrailGatewayOptions {
  emitter: Emitter;
  /** The gateway's key check. `credential` is the bearer token (never recorded), or null. */
  verify: (credential: string, request: FastifyRequest) => Promise<VerifyResult>;
  /** Workspace recorded when no credential was presented at all. */
  defaultWorkspaceId: string;
  /** HMAC key for presented_key_hash: links repeated probes of one wrong key without storing it. */
  hashKey: string | Buffer;
  /** Requests to these routes are neither checked nor recorded (health checks). */
  skipRoutes?: string[];
  source?: { name: string; version?: string };
  region?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The auth decision for this request (set by @keytrail/gateway-fastify). */
    keytrail?: {
      decision: VerifyResult;
      presentedKeyHash: string | null;
      keyPrefix: string | null;
      cost?: number;
    };
  }
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const BEARER_RE = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

function errorCode(outcome: Outcome): string {
  return outcome.toLowerCase();
}

/**
 * Verifies every request with the gateway's `verify` and records one auth decision per request:
 * request id (honouring or setting X-Request-Id), route template, method, latency, outcome and
 * status, key and end user from the verify result, client IP, origin, user agent. Refused requests
 * are answered here with `{"error": {"code", "message", "request_id"}}` (and Retry-After on 429).
 */
async function keytrailGateway(app: FastifyInstance, options: KeytrailGatewayOptions): Promise<void> {
  const skip = new Set(options.skipRoutes ?? []);
  const hash = (token: string) =>
    createHmac('sha256', options.hashKey).update(token).digest('hex').slice(0, 32);

  const requestIdOf = (request: FastifyRequest): string => {
    const given = request.headers['x-request-id'];
    return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : request.id;
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (skip.has(request.routeOptions.url ?? '')) return;
    const requestId = requestIdOf(request);
    reply.header('x-request-id', requestId);
    const header = request.headers.authorization;
    let decision: VerifyResult;
    let token: string | null = null;
    if (header === undefined || header === '') {
      decision = { outcome: 'MISSING_CREDENTIALS', workspaceId: options.defaultWorkspaceId };
    } else {
      const match = BEARER_RE.exec(header);
      if (!match) {
        decision = { outcome: 'MALFORMED_CREDENTIALS', workspaceId: options.defaultWorkspaceId };
      } else {
        token = match[1]!;
        try {
          decision = await options.verify(token, request);
        } catch (err) {
          request.log.error({ err }, 'key verification failed');
          reply.code(503).send({
            error: {
              code: 'unavailable',
              message: 'Key verification is unavailable.',
              request_id: requestId,
            },
          });
          return reply;
        }
      }
    }
    request.keytrail = {
      decision,
      presentedKeyHash: token ? hash(token) : null,
      keyPrefix: decision.key?.prefix ?? (token ? displayPrefix(token) : null),
      ...(decision.cost === undefined ? {} : { cost: decision.cost }),
    };
    if (decision.outcome !== 'ALLOWED') {
      const status = decision.error?.status ?? OUTCOME_HTTP_STATUS[decision.outcome];
      if (decision.rateLimit?.retry_after_s != null)
        reply.header('retry-after', String(decision.rateLimit.retry_after_s));
      reply.code(status).send({
        error: {
          code: errorCode(decision.outcome),
          message: decision.error?.message ?? `Request refused: ${errorCode(decision.outcome)}.`,
          request_id: requestId,
        },
      });
      return reply;
    }
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const state = request.keytrail;
    if (!state) return;
    const { decision } = state;
    const origin = request.headers.origin;
    const userAgent = request.headers['user-agent'];
    options.emitter.recordAuthDecision({
      workspace_id: decision.workspaceId,
      request_id: requestIdOf(request),
      key_id: decision.key?.id ?? null,
      key_prefix: state.keyPrefix,
      presented_key_hash: state.presentedKeyHash,
      key_env: decision.key?.env ?? null,
      credential:
        decision.credential ??
        (state.presentedKeyHash ? (decision.session ? 'SESSION_TOKEN' : 'API_KEY') : null),
      key_type: decision.key?.type ?? 'UNKNOWN',
      session_id: decision.session?.id ?? null,
      end_user_id: decision.session?.endUserId ?? null,
      resource: decision.resource ?? null,
      method: request.method,
      route: request.routeOptions.url ?? null,
      required_scope: decision.requiredScope ?? null,
      granted_scopes: decision.key?.scopes ?? [],
      outcome: decision.outcome,
      // What was really sent: an allowed request may still end in a 404 or a 500 from its handler.
      http_status: reply.statusCode,
      deprecated_key: decision.key?.deprecated ?? false,
      rate_limit: decision.rateLimit ?? null,
      quota: decision.quota ?? null,
      latency_ms: reply.elapsedTime,
      cost: state.cost ?? 0,
      client_ip: request.ip,
      origin: typeof origin === 'string' ? origin : null,
      user_agent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
      region: options.region ?? null,
      ...(options.source
        ? { source: { name: options.source.name, version: options.source.version ?? null } }
        : {}),
    });
  });
}

/** Sets the cost of an allowed request once the handler knows it (e.g. credits a run consumed). */
export function setCost(request: FastifyRequest, microCredits: number): void {
  if (request.keytrail) request.keytrail.cost = microCredits;
}

export default fp(keytrailGateway, { name: '@keytrail/gateway-fastify', fastify: '5.x' });
export { keytrailGateway };
