import type { AuthDecision } from '@keytrail/events';
import type { ClickHouseDriver, InsertOptions } from '../driver/types.ts';
import { nullableTime, toDateTime64Text } from '../time.ts';

export const AUTH_DECISIONS_TABLE = 'auth_decisions';

/** Where a row came from in Kafka (kept in the row for audits and replays). */
export interface KafkaPosition {
  partition: number;
  offset: string;
  /** The message's Kafka timestamp (ms). */
  timestamp: number;
}

/** One row of `auth_decisions`, as sent in JSONEachRow. */
export type AuthDecisionRow = ReturnType<typeof toAuthDecisionRow>;

export function toAuthDecisionRow(e: AuthDecision, at: KafkaPosition) {
  return {
    workspace_id: e.workspace_id,
    occurred_at: toDateTime64Text(e.occurred_at),
    event_id: e.event_id,
    request_id: e.request_id,
    key_id: e.key_id ?? '',
    key_prefix: e.key_prefix ?? '',
    presented_key_hash: e.presented_key_hash ?? '',
    key_env: e.key_env ?? '',
    credential: e.credential ?? '',
    key_type: e.key_type,
    session_id: e.session_id ?? '',
    end_user_id: e.end_user_id ?? '',
    resource: e.resource ?? '',
    method: e.method ?? '',
    route: e.route ?? '',
    required_scope: e.required_scope ?? '',
    granted_scopes: e.granted_scopes,
    outcome: e.outcome,
    http_status: e.http_status,
    deprecated_key: e.deprecated_key,
    rate_limit_window: e.rate_limit?.window ?? '',
    rate_limit_limit: e.rate_limit?.limit ?? null,
    rate_limit_remaining: e.rate_limit?.remaining ?? null,
    rate_limit_reset_at: nullableTime(e.rate_limit?.reset_at ?? null),
    retry_after_s: e.rate_limit?.retry_after_s ?? null,
    quota_period: e.quota?.period ?? '',
    quota_limit: e.quota?.limit ?? null,
    quota_remaining: e.quota?.remaining ?? null,
    quota_reset_at: nullableTime(e.quota?.reset_at ?? null),
    latency_ms: e.latency_ms,
    cost: e.cost,
    client_ip: e.client_ip ?? '',
    origin: e.origin ?? '',
    user_agent: e.user_agent ?? '',
    region: e.region ?? '',
    source_name: e.source?.name ?? '',
    source_version: e.source?.version ?? '',
    kafka_partition: at.partition,
    kafka_offset: at.offset,
    kafka_timestamp: toDateTime64Text(at.timestamp),
  };
}

export function insertAuthDecisions(
  ch: ClickHouseDriver,
  rows: readonly AuthDecisionRow[],
  options?: InsertOptions,
): Promise<void> {
  return ch.insert(AUTH_DECISIONS_TABLE, rows, options);
}

export async function countAuthDecisions(ch: ClickHouseDriver, workspaceId?: string): Promise<number> {
  const [row] = await ch.query<{ n: number }>(
    'SELECT count() AS n FROM auth_decisions WHERE {workspaceId:Nullable(String)} IS NULL OR workspace_id = {workspaceId:Nullable(String)}',
    { workspaceId: workspaceId ?? null },
  );
  return row?.n ?? 0;
}
