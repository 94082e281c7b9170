import type { AuthDecision } from '@keytrail/events';
import type { AvroBatch, ClickHouseDriver, InsertOptions } from '../driver/types.ts';
import { encodeRowBinary, rowBinaryLayout } from '../rowBinary.ts';
import { eventColumn, type PositionedEvent } from './positionedEvent.ts';

export const AUTH_DECISIONS_TABLE = 'auth_decisions';

export type AuthDecisionRow = PositionedEvent<AuthDecision>;

const column = eventColumn<AuthDecision>;

/** The columns of `auth_decisions` the projector writes (all but ingested_at), in insert order. */
export const AUTH_DECISIONS_LAYOUT = rowBinaryLayout<AuthDecisionRow>([
  column('workspace_id', 'LowCardinality(String)', (e) => e.workspace_id),
  column('occurred_at', "DateTime64(3, 'UTC')", (e) => e.occurred_at),
  column('event_id', 'UUID', (e) => e.event_id),
  column('request_id', 'String', (e) => e.request_id),
  column('key_id', 'String', (e) => e.key_id ?? ''),
  column('key_prefix', 'String', (e) => e.key_prefix ?? ''),
  column('presented_key_hash', 'String', (e) => e.presented_key_hash ?? ''),
  column('key_env', 'LowCardinality(String)', (e) => e.key_env ?? ''),
  column('credential', 'LowCardinality(String)', (e) => e.credential ?? ''),
  column('key_type', 'LowCardinality(String)', (e) => e.key_type),
  column('session_id', 'String', (e) => e.session_id ?? ''),
  column('end_user_id', 'String', (e) => e.end_user_id ?? ''),
  column('resource', 'String', (e) => e.resource ?? ''),
  column('method', 'LowCardinality(String)', (e) => e.method ?? ''),
  column('route', 'LowCardinality(String)', (e) => e.route ?? ''),
  column('required_scope', 'LowCardinality(String)', (e) => e.required_scope ?? ''),
  column('granted_scopes', 'Array(LowCardinality(String))', (e) => e.granted_scopes),
  column('outcome', 'LowCardinality(String)', (e) => e.outcome),
  column('http_status', 'UInt16', (e) => e.http_status),
  column('deprecated_key', 'Bool', (e) => e.deprecated_key),
  column('rate_limit_window', 'LowCardinality(String)', (e) => e.rate_limit?.window ?? ''),
  column('rate_limit_limit', 'Nullable(Int64)', (e) => e.rate_limit?.limit ?? null),
  column('rate_limit_remaining', 'Nullable(Int64)', (e) => e.rate_limit?.remaining ?? null),
  column('rate_limit_reset_at', "Nullable(DateTime64(3, 'UTC'))", (e) => e.rate_limit?.reset_at ?? null),
  column('retry_after_s', 'Nullable(Int32)', (e) => e.rate_limit?.retry_after_s ?? null),
  column('quota_period', 'LowCardinality(String)', (e) => e.quota?.period ?? ''),
  column('quota_limit', 'Nullable(Int64)', (e) => e.quota?.limit ?? null),
  column('quota_remaining', 'Nullable(Int64)', (e) => e.quota?.remaining ?? null),
  column('quota_reset_at', "Nullable(DateTime64(3, 'UTC'))", (e) => e.quota?.reset_at ?? null),
  column('latency_ms', 'Nullable(Float64)', (e) => e.latency_ms),
  column('cost', 'Int64', (e) => e.cost),
  column('client_ip', 'String', (e) => e.client_ip ?? ''),
  column('origin', 'String', (e) => e.origin ?? ''),
  column('user_agent', 'String', (e) => e.user_agent ?? ''),
  column('region', 'LowCardinality(String)', (e) => e.region ?? ''),
  column('source_name', 'LowCardinality(String)', (e) => e.source?.name ?? ''),
  column('source_version', 'LowCardinality(String)', (e) => e.source?.version ?? ''),
  column('kafka_partition', 'UInt32', (_, at) => at.partition),
  column('kafka_offset', 'UInt64', (_, at) => at.offset),
  column('kafka_timestamp', "DateTime64(3, 'UTC')", (_, at) => at.timestamp),
]);

/** Inserts decisions into the raw table (and so through every view that reads it), as RowBinary. */
export function insertAuthDecisions(
  ch: ClickHouseDriver,
  rows: readonly AuthDecisionRow[],
  options?: InsertOptions,
): Promise<void> {
  return ch.insertRowBinary(AUTH_DECISIONS_TABLE, encodeRowBinary(AUTH_DECISIONS_LAYOUT, rows), options);
}

/**
 * The fields of an auth-decision container (the reader schema, v1, followed by the Kafka
 * position; see `createContainerBuilder` in @keytrail/events) as ClickHouse reads them. A null
 * record reads as a tuple of defaults, so each record's first field is Nullable: NULL there means
 * the record was null (a present record's first field never is).
 */
export const AUTH_DECISIONS_AVRO_STRUCTURE = [
  'event_id String, occurred_at Int64, workspace_id String, request_id String',
  'key_id Nullable(String), key_prefix Nullable(String), presented_key_hash Nullable(String)',
  'key_env Nullable(String), credential Nullable(String), key_type String',
  'session_id Nullable(String), end_user_id Nullable(String), resource Nullable(String)',
  'method Nullable(String), route Nullable(String), required_scope Nullable(String)',
  'granted_scopes Array(String), outcome String, http_status Int32, deprecated_key Bool',
  'rate_limit Tuple(window Nullable(String), limit Int64, remaining Int64, reset_at Nullable(Int64), retry_after_s Nullable(Int32))',
  'quota Tuple(period Nullable(String), limit Int64, remaining Int64, reset_at Nullable(Int64))',
  'latency_ms Nullable(Float64), cost Int64, client_ip Nullable(String), origin Nullable(String)',
  'user_agent Nullable(String), region Nullable(String), source Tuple(name Nullable(String), version Nullable(String))',
  'kafka_partition UInt32, kafka_offset UInt64, kafka_timestamp Int64',
].join(', ');

const millis = (field: string) => `fromUnixTimestamp64Milli(${field}, 'UTC')`;
const orEmpty = (field: string) => `ifNull(${field}, '')`;
const ifRecord = (record: string, first: string, value: string) =>
  `if(${record}.${first} IS NULL, NULL, ${value})`;

/**
 * Each column the RowBinary layout writes, computed from a container record: the same values, so
 * both paths store identical rows (authDecisionsAvro.test.ts compares them column by column).
 */
const AUTH_DECISIONS_FROM_AVRO: Record<string, string> = {
  workspace_id: 'workspace_id',
  occurred_at: millis('occurred_at'),
  event_id: 'toUUID(event_id)',
  request_id: 'request_id',
  key_id: orEmpty('key_id'),
  key_prefix: orEmpty('key_prefix'),
  presented_key_hash: orEmpty('presented_key_hash'),
  key_env: orEmpty('key_env'),
  credential: orEmpty('credential'),
  key_type: 'key_type',
  session_id: orEmpty('session_id'),
  end_user_id: orEmpty('end_user_id'),
  resource: orEmpty('resource'),
  method: orEmpty('method'),
  route: orEmpty('route'),
  required_scope: orEmpty('required_scope'),
  granted_scopes: 'granted_scopes',
  outcome: 'outcome',
  http_status: 'http_status',
  deprecated_key: 'deprecated_key',
  rate_limit_window: orEmpty('rate_limit.window'),
  rate_limit_limit: ifRecord('rate_limit', 'window', 'rate_limit.limit'),
  rate_limit_remaining: ifRecord('rate_limit', 'window', 'rate_limit.remaining'),
  rate_limit_reset_at: millis('rate_limit.reset_at'),
  retry_after_s: 'rate_limit.retry_after_s',
  quota_period: orEmpty('quota.period'),
  quota_limit: ifRecord('quota', 'period', 'quota.limit'),
  quota_remaining: ifRecord('quota', 'period', 'quota.remaining'),
  quota_reset_at: millis('quota.reset_at'),
  latency_ms: 'latency_ms',
  cost: 'cost',
  client_ip: orEmpty('client_ip'),
  origin: orEmpty('origin'),
  user_agent: orEmpty('user_agent'),
  region: orEmpty('region'),
  source_name: orEmpty('source.name'),
  source_version: orEmpty('source.version'),
  kafka_partition: 'kafka_partition',
  kafka_offset: 'kafka_offset',
  kafka_timestamp: millis('kafka_timestamp'),
};

/** The SELECT list, in the layout's column order. */
const AUTH_DECISIONS_AVRO_SELECT = AUTH_DECISIONS_LAYOUT.names
  .map((name) => {
    const expression = AUTH_DECISIONS_FROM_AVRO[name];
    if (!expression) throw new Error(`no container expression for column ${name}`);
    return expression;
  })
  .join(', ');

/**
 * Inserts an auth-decision container (bodies as producers wrote them, see
 * `createContainerBuilder`) into the raw table and so through every view: ClickHouse reads the
 * Avro itself, and no record is decoded in JS.
 */
export function insertAuthDecisionContainer(
  ch: ClickHouseDriver,
  container: { rows: number; data: Buffer },
  options?: InsertOptions,
): Promise<void> {
  const batch: AvroBatch = {
    names: AUTH_DECISIONS_LAYOUT.names,
    select: AUTH_DECISIONS_AVRO_SELECT,
    structure: AUTH_DECISIONS_AVRO_STRUCTURE,
    ...container,
  };
  return ch.insertAvro(AUTH_DECISIONS_TABLE, batch, options);
}

export async function countAuthDecisions(ch: ClickHouseDriver, workspaceId?: string): Promise<number> {
  const [row] = await ch.query<{ n: number }>(
    'SELECT count() AS n FROM auth_decisions WHERE {workspaceId:Nullable(String)} IS NULL OR workspace_id = {workspaceId:Nullable(String)}',
    { workspaceId: workspaceId ?? null },
  );
  return row?.n ?? 0;
}

/** A raw decision as the query API shows it. */
export interface DecisionView {
  event_id: string;
  occurred_at: string;
  request_id: string;
  key_id: string;
  key_prefix: string;
  key_env: string;
  credential: string;
  session_id: string;
  end_user_id: string;
  method: string;
  route: string;
  required_scope: string;
  outcome: string;
  http_status: number;
  deprecated_key: boolean;
  latency_ms: number | null;
  cost: number;
  client_ip: string;
  origin: string;
  user_agent: string;
  region: string;
}

const DECISION_COLUMNS = `toString(event_id) AS event_id, occurred_at, request_id, key_id, key_prefix, key_env,
  credential, session_id, end_user_id, method, route, required_scope, outcome, http_status, deprecated_key,
  latency_ms, cost, client_ip, origin, user_agent, region`;

/** Where a page of decisions starts: after this (occurred_at, event_id), newest first. */
export interface DecisionsCursor {
  occurredAt: Date;
  eventId: string;
}

/**
 * One key's decisions in [from, to), newest first, filtered, one page after `after`. Keyset
 * paging on (occurred_at, event_id): a decision that arrives while a client pages is newer than
 * the pages it has, so every decision present when paging began is returned exactly once.
 */
export function listKeyDecisions(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    keyId: string;
    from: Date;
    to: Date;
    outcome?: string | undefined;
    clientIp?: string | undefined;
    endUserId?: string | undefined;
    /** A session token's decisions (they carry its parent key as key_id). */
    sessionId?: string | undefined;
    after?: DecisionsCursor | undefined;
    limit: number;
  },
): Promise<DecisionView[]> {
  return ch.query<DecisionView>(
    `SELECT ${DECISION_COLUMNS}
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
       AND occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}
       AND ({outcome:String} = '' OR outcome = {outcome:String})
       AND ({clientIp:String} = '' OR client_ip = {clientIp:String})
       AND ({endUserId:String} = '' OR end_user_id = {endUserId:String})
       AND ({sessionId:String} = '' OR session_id = {sessionId:String})
       -- event_id as text on both sides, as in ORDER BY (the alias): one order for paging and sorting
       AND (occurred_at, toString(auth_decisions.event_id)) < ({afterAt:DateTime64(3, 'UTC')}, {afterId:String})
     ORDER BY occurred_at DESC, event_id DESC
     LIMIT {limit:UInt32}`,
    {
      workspaceId: params.workspaceId,
      keyId: params.keyId,
      from: params.from,
      to: params.to,
      outcome: params.outcome ?? '',
      clientIp: params.clientIp ?? '',
      endUserId: params.endUserId ?? '',
      sessionId: params.sessionId ?? '',
      // No cursor: start just past the range's end, above every event id.
      afterAt: params.after ? params.after.occurredAt : params.to,
      afterId: params.after ? params.after.eventId : 'ffffffff-ffff-ffff-ffff-ffffffffffff',
      limit: params.limit,
    },
  );
}

/** The decision(s) a request id names (the bloom-filter index on request_id makes it a point lookup). */
export function findDecisionsByRequestId(
  ch: ClickHouseDriver,
  params: { workspaceId: string; requestId: string },
): Promise<DecisionView[]> {
  return ch.query<DecisionView>(
    // request_ids gives (key_id, occurred_at), a prefix of the raw table's primary key: two
    // point lookups instead of a bloom-filter check of every raw granule.
    `SELECT ${DECISION_COLUMNS}
     FROM auth_decisions
     WHERE workspace_id = {workspaceId:String} AND request_id = {requestId:String}
       AND (key_id, occurred_at) IN (
         SELECT key_id, occurred_at FROM request_ids
         WHERE workspace_id = {workspaceId:String} AND request_id = {requestId:String}
       )
     ORDER BY occurred_at DESC, event_id DESC
     LIMIT 100`,
    params,
  );
}

export interface ActivitySource {
  client_ip: string;
  origin: string;
  user_agent: string;
  region: string;
  first_seen: string;
  last_seen: string;
  requests: number;
  by_outcome: Record<string, number>;
  new: boolean;
}

/**
 * Where a key was used from in [from, to): each source (IP, origin, user agent, region) with
 * first and last seen, counts by outcome, and `new` when the key was not used from that IP in
 * the `baselineDays` before `from` (the compromise view). With `sessionId`, where that session
 * of the parent key `keyId` was used from, `new` still against the parent key's baseline: an
 * address the key had not been used from.
 */
export async function getKeyActivity(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    keyId: string;
    sessionId?: string | undefined;
    from: Date;
    to: Date;
    baselineDays: number;
    limit: number;
  },
): Promise<ActivitySource[]> {
  const rows = await ch.query<
    Omit<ActivitySource, 'by_outcome' | 'new'> & { outcomes: [string, number][]; seen_before: number }
  >(
    `WITH baseline AS (
       SELECT DISTINCT client_ip FROM auth_decisions
       WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
         AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalDay({baselineDays:UInt32})
         AND occurred_at < {from:DateTime64(3, 'UTC')}
     )
     SELECT client_ip, origin, user_agent, region, min(first) AS first_seen, max(last) AS last_seen,
            sum(n) AS requests, groupArray((outcome, n)) AS outcomes,
            client_ip IN (SELECT client_ip FROM baseline) AS seen_before
     FROM (
       SELECT client_ip, origin, user_agent, region, outcome, count() AS n,
              min(occurred_at) AS first, max(occurred_at) AS last
       FROM auth_decisions
       WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
         AND ({sessionId:String} = '' OR session_id = {sessionId:String})
         AND occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}
       GROUP BY client_ip, origin, user_agent, region, outcome
     )
     GROUP BY client_ip, origin, user_agent, region
     ORDER BY requests DESC, client_ip, origin, user_agent, region
     LIMIT {limit:UInt32}`,
    { ...params, sessionId: params.sessionId ?? '' },
  );
  return rows.map(({ outcomes, seen_before, ...row }) => ({
    ...row,
    by_outcome: Object.fromEntries(outcomes),
    new: !seen_before,
  }));
}
