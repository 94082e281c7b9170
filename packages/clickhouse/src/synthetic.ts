import type { ClickHouseDriver } from './driver/types.ts';

/** The shape of a synthetic workspace for benchmarks (bench/query.ts). */
export interface SyntheticWorkspace {
  workspaceId: string;
  /** Keys key_0 … key_{keys-1}; key_0 … key_9 are hot (30 % of all traffic). */
  keys: number;
  /** End users eu_0 … eu_{endUsers-1}; a third of decisions have none. */
  endUsers: number;
  /** Decisions spread evenly over [startMs, startMs + spanMs). */
  startMs: number;
  spanMs: number;
}

/**
 * Generates `count` decisions (numbers `first` … `first + count - 1`) inside ClickHouse and
 * inserts them into auth_decisions, so every rollup view fills as the projector's inserts would.
 * Benchmarks only: deterministic in `number`, no Kafka, no dedup token.
 */
export async function insertSyntheticDecisions(
  ch: ClickHouseDriver,
  shape: SyntheticWorkspace,
  first: number,
  count: number,
  total: number,
): Promise<void> {
  await ch.command(
    `INSERT INTO auth_decisions (workspace_id, occurred_at, event_id, request_id, key_id, key_prefix,
       presented_key_hash, key_env, credential, key_type, session_id, end_user_id, method, route, outcome,
       http_status, latency_ms, cost, client_ip, origin, user_agent, region, source_name, kafka_timestamp)
     SELECT {workspaceId:String},
       fromUnixTimestamp64Milli(toInt64({startMs:Int64} + intDiv(number * {spanMs:Int64}, {total:UInt64}))) AS at,
       generateUUIDv4(number), concat('req_', toString(number)),
       if(o = 'INVALID_KEY', '', if(number % 10 < 3, concat('key_', toString(number % 10)),
          concat('key_', toString(cityHash64(number) % {keys:UInt32})))) AS k,
       if(o = 'INVALID_KEY', 'pf_live_zzzz', concat('pf_live_', k)),
       if(o = 'INVALID_KEY', hex(cityHash64(number % 5000)), ''),
       if(k = '' OR cityHash64(k) % 10 != 0, 'LIVE', 'TEST'),
       if(eu = '', 'API_KEY', 'SESSION_TOKEN'), 'SECRET',
       if(eu = '', '', concat('sess_', eu)),
       if(number % 3 = 0, '', concat('eu_', toString(cityHash64(number, 1) % {endUsers:UInt32}))) AS eu,
       'POST', ['/v1/apps', '/v1/apps/:appId/generate', '/v1/deploys'][1 + number % 3],
       multiIf(number % 100 < 90, 'ALLOWED', number % 100 < 94, 'INVALID_KEY', number % 100 < 97, 'RATE_LIMITED', 'MISSING_SCOPE') AS o,
       multiIf(o = 'ALLOWED', 200, o = 'INVALID_KEY', 401, o = 'RATE_LIMITED', 429, 403),
       5 + (cityHash64(number, 2) % 200), if(o = 'ALLOWED', 1000 * (number % 20), 0),
       if(o = 'INVALID_KEY', concat('198.51.100.', toString(number % 20)),
          concat('10.', toString(cityHash64(k) % 250), '.', toString(number % 200), '.', toString(number % 7))),
       '', 'bench/1', ['eu-west-1', 'us-east-1'][1 + number % 2], 'bench', at
     FROM numbers({first:UInt64}, {count:UInt64})`,
    { ...shape, first, count, total },
  );
}

/** A CREATED lifecycle event for every synthetic key (key state for the keys list). */
export async function insertSyntheticKeys(ch: ClickHouseDriver, shape: SyntheticWorkspace): Promise<void> {
  await ch.command(
    `INSERT INTO key_lifecycle (workspace_id, occurred_at, event_id, lifecycle_type, key_id, key_prefix, key_env,
       key_type, name, scopes, scopes_set, kafka_timestamp)
     SELECT {workspaceId:String}, fromUnixTimestamp64Milli(toInt64({startMs:Int64})) - INTERVAL 1 DAY,
       generateUUIDv4(number), 'CREATED', concat('key_', toString(number)), concat('pf_live_key_', toString(number)),
       if(cityHash64(concat('key_', toString(number))) % 10 != 0, 'LIVE', 'TEST'), 'SECRET',
       concat('Key ', toString(number)), ['read', 'build'], true, now64(3)
     FROM numbers({keys:UInt32})`,
    { ...shape },
  );
}
