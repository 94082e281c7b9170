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

/** One lifecycle event with every field that can change a key's state (the key page's timeline). */
export interface LifecycleHistoryRow {
  event_id: string;
  occurred_at: string;
  lifecycle_type: string;
  actor_kind: string;
  actor_id: string;
  reason: string;
  name: string;
  scopes: string[];
  scopes_set: boolean;
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  rate_limit_per_day: number | null;
  rate_limits_set: boolean;
  quota_period: string;
  quota_limit: number | null;
  expires_at: string | null;
  allowed_origins: string[];
  allowed_origins_set: boolean;
  grace_ends_at: string | null;
  replaced_by: string;
  end_user_id: string;
  parent_key_id: string;
}

/**
 * Every lifecycle event of a key, oldest first: its own, and for a session those carrying its
 * session id (whatever key_id they hold, as key_state_v2 keys them).
 */
export function getKeyHistory(
  ch: ClickHouseDriver,
  params: { workspaceId: string; keyId: string },
): Promise<LifecycleHistoryRow[]> {
  return ch.query<LifecycleHistoryRow>(
    `SELECT toString(event_id) AS event_id, occurred_at, lifecycle_type, actor_kind, actor_id, reason, name,
            scopes, scopes_set, rate_limit_per_minute, rate_limit_per_hour, rate_limit_per_day, rate_limits_set,
            quota_period, quota_limit, expires_at, allowed_origins, allowed_origins_set, grace_ends_at,
            replaced_by, end_user_id, parent_key_id
     FROM key_lifecycle
     WHERE workspace_id = {workspaceId:String}
       AND if(startsWith(lifecycle_type, 'SESSION_') AND session_id != '', session_id, key_id) = {keyId:String}
     ORDER BY occurred_at, event_id`,
    params,
  );
}
