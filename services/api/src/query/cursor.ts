import { createHmac, timingSafeEqual } from 'node:crypto';
import { KeytrailError } from '@keytrail/core';

/**
 * Opaque paging cursors: the position as JSON, base64url, with an HMAC so a client cannot forge
 * a position (or read another route's): a tampered cursor is a 400, never a query. The secret is
 * shared by every API process (derived from the admin token), so any process continues a page.
 */
export function createCursorCodec(secret: string) {
  const sign = (kind: string, body: string) =>
    createHmac('sha256', secret).update(`${kind}.${body}`).digest('base64url').slice(0, 22);
  return {
    encode(kind: string, position: Record<string, string>): string {
      const body = Buffer.from(JSON.stringify(position)).toString('base64url');
      return `${body}.${sign(kind, body)}`;
    },
    decode(kind: string, cursor: string): Record<string, string> {
      const [body, mac] = cursor.split('.');
      const expected = body ? sign(kind, body) : '';
      if (
        !body ||
        !mac ||
        mac.length !== expected.length ||
        !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))
      )
        throw invalidCursor();
      try {
        const position = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
        if (position && typeof position === 'object' && !Array.isArray(position))
          return position as Record<string, string>;
      } catch {}
      throw invalidCursor();
    },
  };
}
export type CursorCodec = ReturnType<typeof createCursorCodec>;

function invalidCursor(): KeytrailError {
  return new KeytrailError('VALIDATION_FAILED', 'The cursor is not one this API gave out.', {
    details: [{ path: 'cursor', message: 'tampered, truncated or from another list' }],
  });
}
