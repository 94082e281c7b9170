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
