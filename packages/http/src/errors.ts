import {
  ERROR_CATALOGUE,
  type ErrorCode,
  isKeytrailError,
  KeytrailError,
  MAX_ID_LENGTH,
} from '@keytrail/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string; details?: unknown };
}

/** Maps fastify's own error codes onto the catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_RATE_LIMITED: 'RATE_LIMITED',
};

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) } };
}

// An oversized body is read and dropped (up to this much) before the 413 goes out: a client still
// uploading would otherwise see a connection reset instead of the answer.
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

function drainBody(request: FastifyRequest): Promise<void> {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > MAX_DRAIN_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('error', done);
    raw.resume();
  });
}

/** fastify says only "Unsupported Media Type": name the type sent, or that none was. */
function mediaTypeMessage(request: FastifyRequest): string {
  const type = request.headers['content-type'];
  return type
    ? `Content-Type "${type.slice(0, 64)}" is not accepted here: send application/json (POST /v1/events also takes application/x-ndjson).`
    : 'The body has no Content-Type: send application/json (POST /v1/events also takes application/x-ndjson).';
}

/** One error shape for every failure: `{"error": {"code", "message", "request_id"}}`. */
export async function handleError(
  err: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  if (isKeytrailError(err)) {
    // A retriable 503 (overload, a dependency restarting) is expected under pressure: one warn
    // line without a stack, so a burst of them does not bury real failures.
    if (err.status >= 500 && err.retriable)
      request.log.warn({ code: err.code, reason: err.message }, 'request refused');
    else if (err.status >= 500) request.log.error({ err }, 'request failed');
    if (err.code === 'UNAVAILABLE') reply.header('retry-after', '1');
    reply.status(err.status).send(errorBody(err.code, err.message, request.id, err.details));
    return;
  }
  const fastifyCode = (err as FastifyError).code;
  // zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR): a body sent as gzip or deflate that is not.
  if (fastifyCode?.startsWith('Z_')) {
    const coding = String(request.headers['content-encoding']).slice(0, 32);
    reply
      .status(400)
      .send(errorBody('INVALID_BODY', `The body is not valid ${coding}: ${err.message}.`, request.id));
    return;
  }
  const mapped = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
  if (mapped === 'VALIDATION_FAILED' || (err as FastifyError).validation) {
    const validation = (err as FastifyError).validation ?? [];
    const details = validation.map((v) => ({
      path: `${(err as FastifyError).validationContext ?? ''}${v.instancePath.replaceAll('/', '.')}`,
      message: v.message ?? 'is invalid',
    }));
    reply.status(400).send(errorBody('VALIDATION_FAILED', err.message, request.id, details));
    return;
  }
  if (mapped) {
    if (mapped === 'PAYLOAD_TOO_LARGE') await drainBody(request);
    const message =
      fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? mediaTypeMessage(request) : err.message;
    reply.status(ERROR_CATALOGUE[mapped].status).send(errorBody(mapped, message, request.id));
    return;
  }
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    reply.status(status).send(errorBody('BAD_REQUEST', err.message, request.id));
    return;
  }
  request.log.error({ err }, 'unhandled error');
  reply.status(500).send(errorBody('INTERNAL', ERROR_CATALOGUE.INTERNAL.message, request.id));
}

/**
 * What the router refuses before any route or hook runs (fastify's `frameworkErrors`), in the
 * one error shape: a path segment longer than any id could be, percent-encoded, or a malformed
 * percent-encoding. fastify's own answer names neither the request id nor a catalogue code, and
 * echoes the whole path.
 */
export function handleRouterError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const message = `A path segment is longer than any id (at most ${MAX_ID_LENGTH} characters).`;
    reply
      .status(400)
      .send(errorBody('VALIDATION_FAILED', message, request.id, [{ path: 'params', message }]));
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    reply
      .status(400)
      .send(errorBody('BAD_REQUEST', 'The path is not valid percent-encoding (RFC 3986).', request.id));
    return;
  }
  void handleError(err, request, reply);
}

/** A JSON body that does not parse: where and why (the engine's message), or the key refused. */
export function jsonBodyError(err: Error): KeytrailError {
  return new KeytrailError(
    'INVALID_BODY',
    /forbidden prototype property/.test(err.message)
      ? 'The body has a "__proto__" or "constructor.prototype" key, which is refused (prototype pollution).'
      : `The body is not valid JSON: ${err.message}.`,
  );
}
