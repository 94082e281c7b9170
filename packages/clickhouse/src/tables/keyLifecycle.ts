import type { KeyLifecycle } from '@keytrail/events';
import type { ClickHouseDriver, InsertOptions } from '../driver/types.ts';
import { encodeRowBinary, rowBinaryLayout } from '../rowBinary.ts';
import { eventColumn, type PositionedEvent } from './positionedEvent.ts';

export const KEY_LIFECYCLE_TABLE = 'key_lifecycle';

export type KeyLifecycleRow = PositionedEvent<KeyLifecycle>;

const column = eventColumn<KeyLifecycle>;

/**
 * The columns of `key_lifecycle` the projector writes (all but ingested_at), in insert order.
 * A `*_set` flag says whether the event carried that field at all: key state keeps the last
 * value an event did set, so "unchanged" must differ from "set to empty".
 */
export const KEY_LIFECYCLE_LAYOUT = rowBinaryLayout<KeyLifecycleRow>([
  column('workspace_id', 'LowCardinality(String)', (e) => e.workspace_id),
  column('occurred_at', "DateTime64(3, 'UTC')", (e) => e.occurred_at),
  column('event_id', 'UUID', (e) => e.event_id),
  column('lifecycle_type', 'LowCardinality(String)', (e) => e.lifecycle_type),
  column('key_id', 'String', (e) => e.key_id),
  column('key_prefix', 'String', (e) => e.key_prefix ?? ''),
  column('key_env', 'LowCardinality(String)', (e) => e.key_env ?? ''),
  column('key_type', 'LowCardinality(String)', (e) => e.key_type ?? ''),
  column('name', 'String', (e) => e.name ?? ''),
  column('resource', 'String', (e) => e.resource ?? ''),
  column('scopes', 'Array(LowCardinality(String))', (e) => e.scopes ?? []),
  column('scopes_set', 'Bool', (e) => e.scopes !== null),
  column('rate_limit_per_minute', 'Nullable(Int64)', (e) => e.rate_limits?.per_minute ?? null),
  column('rate_limit_per_hour', 'Nullable(Int64)', (e) => e.rate_limits?.per_hour ?? null),
  column('rate_limit_per_day', 'Nullable(Int64)', (e) => e.rate_limits?.per_day ?? null),
  column('rate_limits_set', 'Bool', (e) => e.rate_limits !== null),
  column('quota_period', 'LowCardinality(String)', (e) => e.quota?.period ?? ''),
  column('quota_limit', 'Nullable(Int64)', (e) => e.quota?.limit ?? null),
  column('expires_at', "Nullable(DateTime64(3, 'UTC'))", (e) => e.expires_at),
  column('allowed_origins', 'Array(String)', (e) => e.allowed_origins ?? []),
  column('allowed_origins_set', 'Bool', (e) => e.allowed_origins !== null),
  column('grace_ends_at', "Nullable(DateTime64(3, 'UTC'))", (e) => e.grace_ends_at),
  column('replaced_by', 'String', (e) => e.replaced_by ?? ''),
  column('reason', 'String', (e) => e.reason ?? ''),
  column('actor_kind', 'LowCardinality(String)', (e) => e.actor?.kind ?? ''),
  column('actor_id', 'String', (e) => e.actor?.id ?? ''),
  column('session_id', 'String', (e) => e.session_id ?? ''),
  column('end_user_id', 'String', (e) => e.end_user_id ?? ''),
  column('parent_key_id', 'String', (e) => e.parent_key_id ?? ''),
  column('ttl_seconds', 'Nullable(Int32)', (e) => e.ttl_seconds),
  column('kafka_partition', 'UInt32', (_, at) => at.partition),
  column('kafka_offset', 'UInt64', (_, at) => at.offset),
  column('kafka_timestamp', "DateTime64(3, 'UTC')", (_, at) => at.timestamp),
]);

export function insertKeyLifecycle(
  ch: ClickHouseDriver,
  rows: readonly KeyLifecycleRow[],
  options?: InsertOptions,
): Promise<void> {
  return ch.insertRowBinary(KEY_LIFECYCLE_TABLE, encodeRowBinary(KEY_LIFECYCLE_LAYOUT, rows), options);
}

export interface LifecycleEntry {
  occurred_at: string;
  event_id: string;
  lifecycle_type: string;
  name: string;
  reason: string;
}

/** A key's lifecycle events in the order they happened. */
export function getKeyTimeline(
  ch: ClickHouseDriver,
  workspaceId: string,
  keyId: string,
): Promise<LifecycleEntry[]> {
  return ch.query<LifecycleEntry>(
    `SELECT occurred_at, toString(event_id) AS event_id, lifecycle_type, name, reason
     FROM key_lifecycle
     WHERE workspace_id = {workspaceId:String} AND key_id = {keyId:String}
     ORDER BY occurred_at, event_id`,
    { workspaceId, keyId },
  );
}
