import type { ClickHouseDriver } from '../driver/types.ts';

export interface ProbeSource {
  client_ip: string;
  attempts: number;
  distinct_prefixes: number;
  distinct_keys: number;
  first_seen: string;
  last_seen: string;
}

/** Invalid / expired / revoked key attempts by source IP, from the per-minute probe rollup. */
export function getProbeSources(
  ch: ClickHouseDriver,
  params: { workspaceId: string; from: Date; to: Date; limit: number },
): Promise<ProbeSource[]> {
  return ch.query<ProbeSource>(
    `SELECT client_ip, sum(attempts) AS attempts, uniqExact(key_prefix) AS distinct_prefixes,
            uniqExactMerge(distinct_keys) AS distinct_keys, min(first_seen) AS first_seen, max(last_seen) AS last_seen
     FROM probes_minute
     WHERE workspace_id = {workspaceId:String}
       AND bucket >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND bucket < {to:DateTime64(3, 'UTC')}
     GROUP BY client_ip
     ORDER BY attempts DESC, client_ip
     LIMIT {limit:UInt32}`,
    params,
  );
}

/**
 * What probes can be grouped by: source IP and key prefix from the per-minute probe rollup, the
 * presented key's hash from the raw decisions. A closed map of statements.
 */
const PROBES_SQL = {
  client_ip: `SELECT client_ip AS value, sum(attempts) AS attempts, uniqExactMerge(distinct_keys) AS distinct_key_hashes,
                uniqExact(client_ip) AS distinct_ips, min(first_seen) AS first_seen, max(last_seen) AS last_seen
              FROM probes_minute
              WHERE workspace_id = {workspaceId:String}
                AND bucket >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND bucket < {to:DateTime64(3, 'UTC')}
              GROUP BY value ORDER BY attempts DESC, value LIMIT {limit:UInt32}`,
  key_prefix: `SELECT key_prefix AS value, sum(attempts) AS attempts, uniqExactMerge(distinct_keys) AS distinct_key_hashes,
                uniqExact(client_ip) AS distinct_ips, min(first_seen) AS first_seen, max(last_seen) AS last_seen
              FROM probes_minute
              WHERE workspace_id = {workspaceId:String}
                AND bucket >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND bucket < {to:DateTime64(3, 'UTC')}
              GROUP BY value ORDER BY attempts DESC, value LIMIT {limit:UInt32}`,
  presented_key_hash: `SELECT presented_key_hash AS value, count() AS attempts, uniqExact(presented_key_hash) AS distinct_key_hashes,
                uniqExact(client_ip) AS distinct_ips, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
              FROM auth_decisions
              WHERE workspace_id = {workspaceId:String} AND outcome IN ('INVALID_KEY', 'EXPIRED_KEY', 'REVOKED_KEY')
                AND occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}
              GROUP BY value ORDER BY attempts DESC, value LIMIT {limit:UInt32}`,
} as const;
export type ProbesGroupBy = keyof typeof PROBES_SQL;

export interface ProbeRow {
  value: string;
  attempts: number;
  distinct_key_hashes: number;
  distinct_ips: number;
  first_seen: string;
  last_seen: string;
}

/** Invalid, expired and revoked attempts in [from, to), grouped by source, prefix or presented key. */
export function getProbes(
  ch: ClickHouseDriver,
  params: { workspaceId: string; from: Date; to: Date; groupBy: ProbesGroupBy; limit: number },
): Promise<ProbeRow[]> {
  const { groupBy, ...bound } = params;
  return ch.query<ProbeRow>(PROBES_SQL[groupBy], bound);
}
