import { ERROR_CATALOGUE, type ErrorCode, isKeytrailError } from '@keytrail/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string; details?: unknown };
}

/** Maps fastify's own error codes onto the catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_RATE_LIMITED: 'RATE_LIMITED',
};

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) } };
}

/** One error shape for every failure: `{"error": {"code", "message", "request_id"}}`. */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (isKeytrailError(err)) {
    if (err.status >= 500) request.log.error({ err }, 'request failed');
    if (err.code === 'UNAVAILABLE') reply.header('retry-after', '1');
    reply.status(err.status).send(errorBody(err.code, err.message, request.id, err.details));
    return;
  }
  const fastifyCode = (err as FastifyError).code;
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
    reply.status(ERROR_CATALOGUE[mapped].status).send(errorBody(mapped, err.message, request.id));
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
