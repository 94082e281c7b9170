/**
 * One catalogue of every error code Keytrail returns over HTTP (fastify's FST_ERR_* idea). The
 * table in packages/core/README.md is written by hand; errors.test.ts keeps it equal to this list.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_BODY: { status: 400, message: 'The body could not be parsed.' },
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the schema.' },
  UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, message: 'The token may not do this.' },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is larger than the limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  UNAVAILABLE: { status: 503, message: 'A dependency is unavailable; retry later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface KeytrailErrorOptions {
  /** Safe to retry the same operation (a timeout, a broker leader change, a 503). */
  retriable?: boolean;
  cause?: unknown;
  /** Extra JSON-safe detail returned to the client (never secrets). */
  details?: unknown;
}

/** The one error type Keytrail raises on purpose: a catalogue code, retriability and a cause. */
export class KeytrailError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, options: KeytrailErrorOptions = {}) {
    super(message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'KeytrailError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

export function isKeytrailError(err: unknown): err is KeytrailError {
  return err instanceof KeytrailError;
}

/** A readable one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
