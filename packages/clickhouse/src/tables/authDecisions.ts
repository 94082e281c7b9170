import type { AuthDecision } from '@keytrail/events';
import type { ClickHouseDriver, InsertOptions } from '../driver/types.ts';
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
 * the `baselineDays` before `from` (the compromise view).
 */
export async function getKeyActivity(
  ch: ClickHouseDriver,
  params: { workspaceId: string; keyId: string; from: Date; to: Date; baselineDays: number; limit: number },
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
         AND occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}
       GROUP BY client_ip, origin, user_agent, region, outcome
     )
     GROUP BY client_ip, origin, user_agent, region
     ORDER BY requests DESC, client_ip, origin, user_agent, region
     LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map(({ outcomes, seen_before, ...row }) => ({
    ...row,
    by_outcome: Object.fromEntries(outcomes),
    new: !seen_before,
  }));
}
