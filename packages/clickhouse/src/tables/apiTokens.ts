import type { ClickHouseDriver } from '../driver/types.ts';
import { toDateTime64Text } from '../time.ts';

export interface ApiTokenRow {
  workspace_id: string;
  token_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** Writes a token version (a new token, or its revocation). */
export function writeApiToken(
  ch: ClickHouseDriver,
  token: Omit<ApiTokenRow, 'last_used_at' | 'created_at' | 'revoked_at'> & {
    created_at: number;
    revoked_at: number | null;
  },
): Promise<void> {
  return ch.insert('api_tokens', [
    {
      ...token,
      created_at: toDateTime64Text(token.created_at),
      revoked_at: token.revoked_at === null ? null : toDateTime64Text(token.revoked_at),
      version: Date.now(),
    },
  ]);
}

const TOKEN_COLUMNS = `t.workspace_id AS workspace_id, t.token_id AS token_id, t.name AS name, t.token_hash AS token_hash,
  t.prefix AS prefix, t.scopes AS scopes, t.created_at AS created_at, t.revoked_at AS revoked_at,
  if(u.last_used_at > toDateTime64(0, 3, 'UTC'), u.last_used_at, NULL) AS last_used_at`;

/** Every token of a workspace, newest version each, with last use. */
export function listApiTokens(ch: ClickHouseDriver, workspaceId: string): Promise<ApiTokenRow[]> {
  return ch.query<ApiTokenRow>(
    `SELECT ${TOKEN_COLUMNS}
     FROM (SELECT * FROM api_tokens FINAL WHERE workspace_id = {workspaceId:String}) AS t
     LEFT JOIN (SELECT token_id, max(last_used_at) AS last_used_at FROM api_token_usage
                WHERE workspace_id = {workspaceId:String} GROUP BY token_id) AS u ON u.token_id = t.token_id
     ORDER BY created_at, token_id`,
    { workspaceId },
  );
}

/** All tokens (every workspace), for a process that keeps them in memory. */
export function loadAllApiTokens(ch: ClickHouseDriver): Promise<ApiTokenRow[]> {
  return ch.query<ApiTokenRow>(
    `SELECT workspace_id, token_id, name, token_hash, prefix, scopes, created_at, revoked_at, NULL AS last_used_at
     FROM api_tokens FINAL`,
  );
}

/** The token with this hash, if any (newest version). */
export async function findApiTokenByHash(
  ch: ClickHouseDriver,
  tokenHash: string,
): Promise<ApiTokenRow | undefined> {
  const [row] = await ch.query<ApiTokenRow>(
    `SELECT workspace_id, token_id, name, token_hash, prefix, scopes, created_at, revoked_at, NULL AS last_used_at
     FROM api_tokens FINAL WHERE token_hash = {tokenHash:FixedString(64)} LIMIT 1`,
    { tokenHash },
  );
  return row;
}

export function recordApiTokenUse(
  ch: ClickHouseDriver,
  uses: readonly { workspace_id: string; token_id: string; last_used_at: number }[],
): Promise<void> {
  return ch.insert(
    'api_token_usage',
    uses.map((u) => ({ ...u, last_used_at: toDateTime64Text(u.last_used_at) })),
  );
}
