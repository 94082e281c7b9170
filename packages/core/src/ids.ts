import { v7 } from 'uuid';

/** A UUIDv7: time-ordered, so event ids sort by creation time. */
export function newEventId(): string {
  return v7();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** A short random request id, as sent back in X-Request-Id when the client gave none. */
export function newRequestId(): string {
  return `req_${v7().replaceAll('-', '')}`;
}
