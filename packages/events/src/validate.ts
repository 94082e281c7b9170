import { ID_PATTERN, MAX_ID_LENGTH } from '@keytrail/core';
import type { AuthDecision, KeyLifecycle } from './types.ts';

/** One problem with one field, as returned to API clients and written to DLQ headers. */
export interface FieldError {
  /** Dotted path of the field, e.g. `rate_limit.remaining`. */
  path: string;
  message: string;
}

export const MIN_TIME = Date.UTC(2000, 0, 1);
// Gateways' clocks drift; anything more than a day ahead is a unit mistake (seconds vs ms, µs).
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_RE = new RegExp(ID_PATTERN, 'u');

function checkTime(errors: FieldError[], path: string, value: number | null, now: number): void {
  if (value === null) return;
  if (!Number.isInteger(value) || value < MIN_TIME)
    errors.push({ path, message: 'must be a time after 2000-01-01' });
  else if (value > now + MAX_FUTURE_MS && path === 'occurred_at')
    errors.push({ path, message: 'is more than 24 h in the future (seconds instead of milliseconds?)' });
}

/** Printable ASCII with no space at either end: what nearly every id is, told without a regex. */
function isPlainAsciiId(value: string): boolean {
  const last = value.length - 1;
  if (last < 0 || last >= MAX_ID_LENGTH || value.charCodeAt(0) === 0x20 || value.charCodeAt(last) === 0x20)
    return false;
  for (let i = 0; i <= last; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** isPlainAsciiId on the UTF-8 bytes `buf[start, end)` (ASCII: one byte per character). */
export function isPlainAsciiIdBytes(buf: Uint8Array, start: number, end: number): boolean {
  const last = end - 1;
  if (last < start || end - start > MAX_ID_LENGTH || buf[start] === 0x20 || buf[last] === 0x20) return false;
  for (let i = start; i <= last; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function checkId(errors: FieldError[], path: string, value: string | null, required: boolean): void {
  if (value === null) {
    if (required) errors.push({ path, message: 'is required' });
    return;
  }
  if (isPlainAsciiId(value)) return;
  if (value.trim() === '') errors.push({ path, message: 'must not be empty' });
  else if (value.length > MAX_ID_LENGTH)
    errors.push({ path, message: `must be at most ${MAX_ID_LENGTH} characters` });
  else if (!ID_RE.test(value))
    errors.push({ path, message: 'must be printable: no control characters, no whitespace at either end' });
}

function checkNonNegative(errors: FieldError[], path: string, value: number | null | undefined): void {
  if (value !== null && value !== undefined && !(value >= 0))
    errors.push({ path, message: 'must not be negative' });
}

/**
 * Rules the Avro schema cannot express. An event that breaks one is refused at ingest and
 * dead-lettered by the projector; both use this one function.
 */
export function validateAuthDecision(event: AuthDecision, now = Date.now()): FieldError[] {
  const errors: FieldError[] = [];
  if (!UUID_RE.test(event.event_id)) errors.push({ path: 'event_id', message: 'must be a UUID' });
  checkTime(errors, 'occurred_at', event.occurred_at, now);
  checkId(errors, 'workspace_id', event.workspace_id, true);
  checkId(errors, 'request_id', event.request_id, true);
  checkId(errors, 'key_id', event.key_id, false);
  checkId(errors, 'session_id', event.session_id, false);
  checkId(errors, 'end_user_id', event.end_user_id, false);
  if (!Number.isInteger(event.http_status) || event.http_status < 100 || event.http_status > 599)
    errors.push({ path: 'http_status', message: 'must be an HTTP status (100–599)' });
  // An ALLOWED decision carries whatever the request finally answered (a handler's 404 or 500
  // included); a refusal is always an error status.
  if (event.outcome !== 'ALLOWED' && event.http_status < 400)
    errors.push({ path: 'http_status', message: `a ${event.outcome} decision needs an error status (4xx)` });
  if (event.credential === 'SESSION_TOKEN' && event.session_id === null && event.outcome === 'ALLOWED')
    errors.push({ path: 'session_id', message: 'is required for an allowed session-token request' });
  checkNonNegative(errors, 'latency_ms', event.latency_ms);
  if (event.latency_ms !== null && !Number.isFinite(event.latency_ms))
    errors.push({ path: 'latency_ms', message: 'must be finite' });
  checkNonNegative(errors, 'cost', event.cost);
  if (!Number.isInteger(event.cost)) errors.push({ path: 'cost', message: 'must be whole micro-credits' });
  for (const [name, state] of [
    ['rate_limit', event.rate_limit],
    ['quota', event.quota],
  ] as const) {
    if (!state) continue;
    checkNonNegative(errors, `${name}.limit`, state.limit);
    checkNonNegative(errors, `${name}.remaining`, state.remaining);
    checkTime(errors, `${name}.reset_at`, state.reset_at, now);
  }
  checkNonNegative(errors, 'rate_limit.retry_after_s', event.rate_limit?.retry_after_s);
  return errors;
}

export function validateKeyLifecycle(event: KeyLifecycle, now = Date.now()): FieldError[] {
  const errors: FieldError[] = [];
  if (!UUID_RE.test(event.event_id)) errors.push({ path: 'event_id', message: 'must be a UUID' });
  checkTime(errors, 'occurred_at', event.occurred_at, now);
  checkId(errors, 'workspace_id', event.workspace_id, true);
  checkId(errors, 'key_id', event.key_id, true);
  checkTime(errors, 'expires_at', event.expires_at, now);
  checkTime(errors, 'grace_ends_at', event.grace_ends_at, now);
  if (event.lifecycle_type === 'SUPERSEDED' && event.grace_ends_at === null)
    errors.push({
      path: 'grace_ends_at',
      message: 'is required when a key is superseded (0 grace = the supersede time)',
    });
  if (event.lifecycle_type === 'SESSION_ISSUED') {
    checkId(errors, 'end_user_id', event.end_user_id, true);
    checkId(errors, 'parent_key_id', event.parent_key_id, true);
  }
  if (event.lifecycle_type.startsWith('SESSION_')) checkId(errors, 'session_id', event.session_id, true);
  for (const key of ['per_minute', 'per_hour', 'per_day'] as const)
    checkNonNegative(errors, `rate_limits.${key}`, event.rate_limits?.[key]);
  checkNonNegative(errors, 'quota.limit', event.quota?.limit);
  checkNonNegative(errors, 'ttl_seconds', event.ttl_seconds);
  return errors;
}
