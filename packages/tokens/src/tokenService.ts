import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  type ApiTokenRow,
  type ClickHouseDriver,
  findApiTokenByHash,
  listApiTokens,
  loadAllApiTokens,
  parseClickHouseTime,
  recordApiTokenUse,
  writeApiToken,
} from '@keytrail/clickhouse';
import { KeytrailError, type Logger } from '@keytrail/core';
import { type Authenticator, adminAuthenticator, type Principal, SCOPES, type Scope } from '@keytrail/http';

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface TokenService {
  /** The admin token (when set), else a stored, unrevoked token. */
  authenticate: Authenticator;
  /** Creates a token; the secret is in the result only, never stored. */
  create(workspaceId: string, name: string, scopes: string[]): Promise<ApiTokenView & { token: string }>;
  list(workspaceId: string): Promise<ApiTokenView[]>;
  /** False when no such token exists in the workspace. */
  revoke(workspaceId: string, tokenId: string): Promise<boolean>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TokenServiceOptions {
  ch: ClickHouseDriver;
  adminToken?: string | undefined;
  logger: Logger;
  /**
   * `single-process`: this process is the only one that serves (embedded ClickHouse), so an
   * in-memory table, updated on every write, is exact. `shared`: other processes may create or
   * revoke tokens, so every request looks its token up in ClickHouse — a revocation counts at once.
   */
  mode: 'single-process' | 'shared';
  usageFlushMs?: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function view(row: ApiTokenRow): ApiTokenView {
  return {
    id: row.token_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    created_at: parseClickHouseTime(row.created_at).toISOString(),
    last_used_at: row.last_used_at ? parseClickHouseTime(row.last_used_at).toISOString() : null,
    revoked_at: row.revoked_at ? parseClickHouseTime(row.revoked_at).toISOString() : null,
  };
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { ch, logger } = options;
  const admin = options.adminToken ? adminAuthenticator(options.adminToken) : null;
  const byHash = new Map<string, ApiTokenRow>(); // single-process mode only
  const uses = new Map<string, { workspace_id: string; token_id: string; last_used_at: number }>();
  let flushTimer: NodeJS.Timeout | undefined;

  const flushUses = async () => {
    if (uses.size === 0) return;
    const batch = [...uses.values()];
    uses.clear();
    try {
      await recordApiTokenUse(ch, batch);
    } catch (err) {
      logger.warn({ err }, 'could not record token use; will retry');
      for (const u of batch) if (!uses.has(u.token_id)) uses.set(u.token_id, u);
    }
  };

  const lookup = async (hash: string): Promise<ApiTokenRow | undefined> =>
    options.mode === 'single-process' ? byHash.get(hash) : findApiTokenByHash(ch, hash);

  const find = async (workspaceId: string, tokenId: string) =>
    (await listApiTokens(ch, workspaceId)).find((t) => t.token_id === tokenId);

  return {
    async authenticate(token) {
      const asAdmin = admin ? await admin(token) : null;
      if (asAdmin) return asAdmin;
      if (!token.startsWith('kt_')) return null;
      const row = await lookup(hashToken(token));
      if (!row || row.revoked_at) return null;
      uses.set(row.token_id, {
        workspace_id: row.workspace_id,
        token_id: row.token_id,
        last_used_at: Date.now(),
      });
      const principal: Principal = {
        id: row.token_id,
        scopes: new Set(row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s))),
        workspaces: new Set([row.workspace_id]),
      };
      return principal;
    },
    async create(workspaceId, name, scopes) {
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0 || scopes.length === 0) {
        throw new KeytrailError(
          'VALIDATION_FAILED',
          `scopes must be some of ${SCOPES.join(', ')}; got ${JSON.stringify(scopes)}`,
        );
      }
      const token = `kt_${randomBytes(24).toString('base64url')}`;
      const row = {
        workspace_id: workspaceId,
        token_id: `tok_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
        name,
        token_hash: hashToken(token),
        prefix: token.slice(0, 12),
        scopes: [...new Set(scopes)],
        created_at: Date.now(),
        revoked_at: null,
      };
      await writeApiToken(ch, row);
      const stored: ApiTokenRow = {
        ...row,
        created_at: new Date(row.created_at).toISOString(),
        revoked_at: null,
        last_used_at: null,
      };
      if (options.mode === 'single-process') byHash.set(row.token_hash, stored);
      return { ...view(stored), token };
    },
    async list(workspaceId) {
      await flushUses();
      return (await listApiTokens(ch, workspaceId)).map(view);
    },
    async revoke(workspaceId, tokenId) {
      const row = await find(workspaceId, tokenId);
      if (!row) return false;
      if (row.revoked_at) return true;
      const revokedAt = Date.now();
      // Memory first: from here on this process refuses the token, even before ClickHouse has the row.
      const cached = byHash.get(row.token_hash);
      if (cached) cached.revoked_at = new Date(revokedAt).toISOString();
      await writeApiToken(ch, {
        workspace_id: row.workspace_id,
        token_id: row.token_id,
        name: row.name,
        token_hash: row.token_hash,
        prefix: row.prefix,
        scopes: row.scopes,
        created_at: parseClickHouseTime(row.created_at).getTime(),
        revoked_at: revokedAt,
      });
      return true;
    },
    async start() {
      if (options.mode === 'single-process') {
        for (const row of await loadAllApiTokens(ch)) byHash.set(row.token_hash, row);
      }
      flushTimer = setInterval(() => void flushUses(), options.usageFlushMs ?? 5_000);
      flushTimer.unref();
    },
    async stop() {
      if (flushTimer) clearInterval(flushTimer);
      await flushUses();
    },
  };
}
