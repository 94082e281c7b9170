import { createHash, timingSafeEqual } from 'node:crypto';

/** What a bearer token may do. Issue-4 API tokens add stored, per-workspace principals. */
export const SCOPES = ['ingest', 'read', 'admin', 'webhook:write'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  /** Display id for logs (never the token). */
  id: string;
  scopes: ReadonlySet<Scope>;
  /** '*' = every workspace. */
  workspaces: '*' | ReadonlySet<string>;
}

/** Resolves a presented bearer token to a principal, or null when it is unknown or revoked. */
export type Authenticator = (token: string) => Promise<Principal | null>;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The admin token of KEYTRAIL_ADMIN_TOKEN: every scope on every workspace. Compared in constant time. */
export function adminAuthenticator(adminToken: string): Authenticator {
  const expected = sha256(adminToken);
  const admin: Principal = { id: 'admin', scopes: new Set(SCOPES), workspaces: '*' };
  return async (token) => (timingSafeEqual(sha256(token), expected) ? admin : null);
}

export function mayAccess(principal: Principal, scope: Scope, workspaceId?: string): boolean {
  if (!principal.scopes.has(scope) && !principal.scopes.has('admin')) return false;
  if (workspaceId === undefined || principal.workspaces === '*') return true;
  return principal.workspaces.has(workspaceId);
}
