import type { KeyLifecycle } from '@keytrail/events';
import type { ClickHouseDriver, InsertOptions } from '../driver/types.ts';
import { nullableTime, toDateTime64Text } from '../time.ts';
import type { KafkaPosition } from './authDecisions.ts';

export const KEY_LIFECYCLE_TABLE = 'key_lifecycle';

export type KeyLifecycleRow = ReturnType<typeof toKeyLifecycleRow>;

export function toKeyLifecycleRow(e: KeyLifecycle, at: KafkaPosition) {
  return {
    workspace_id: e.workspace_id,
    occurred_at: toDateTime64Text(e.occurred_at),
    event_id: e.event_id,
    lifecycle_type: e.lifecycle_type,
    key_id: e.key_id,
    key_prefix: e.key_prefix ?? '',
    key_env: e.key_env ?? '',
    key_type: e.key_type ?? '',
    name: e.name ?? '',
    resource: e.resource ?? '',
    scopes: e.scopes ?? [],
    scopes_set: e.scopes !== null,
    rate_limit_per_minute: e.rate_limits?.per_minute ?? null,
    rate_limit_per_hour: e.rate_limits?.per_hour ?? null,
    rate_limit_per_day: e.rate_limits?.per_day ?? null,
    rate_limits_set: e.rate_limits !== null,
    quota_period: e.quota?.period ?? '',
    quota_limit: e.quota?.limit ?? null,
    expires_at: nullableTime(e.expires_at),
    allowed_origins: e.allowed_origins ?? [],
    allowed_origins_set: e.allowed_origins !== null,
    grace_ends_at: nullableTime(e.grace_ends_at),
    replaced_by: e.replaced_by ?? '',
    reason: e.reason ?? '',
    actor_kind: e.actor?.kind ?? '',
    actor_id: e.actor?.id ?? '',
    session_id: e.session_id ?? '',
    end_user_id: e.end_user_id ?? '',
    parent_key_id: e.parent_key_id ?? '',
    ttl_seconds: e.ttl_seconds,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
    kafka_timestamp: toDateTime64Text(at.timestamp),
  };
}

export function insertKeyLifecycle(
  ch: ClickHouseDriver,
  rows: readonly KeyLifecycleRow[],
  options?: InsertOptions,
): Promise<void> {
  return ch.insert(KEY_LIFECYCLE_TABLE, rows, options);
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
