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
