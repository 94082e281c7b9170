import type { LifecycleHistoryRow } from '@keytrail/clickhouse';

export interface TimelineEntry {
  event_id: string;
  occurred_at: string;
  lifecycle_type: string;
  actor: { kind: string; id: string } | null;
  reason: string | null;
  /** Each field this event changed: what it was before (null at first) and what it became. */
  changes: Record<string, { from: unknown; to: unknown }>;
}

type Snapshot = Record<string, unknown>;

/** The fields an event sets; a field it leaves unchanged is absent. */
function fieldsOf(row: LifecycleHistoryRow): Snapshot {
  const set: Snapshot = {};
  if (row.name) set.name = row.name;
  if (row.scopes_set) set.scopes = row.scopes;
  if (row.rate_limits_set)
    set.rate_limits = {
      per_minute: row.rate_limit_per_minute,
      per_hour: row.rate_limit_per_hour,
      per_day: row.rate_limit_per_day,
    };
  if (row.quota_period) set.quota = { period: row.quota_period, limit: row.quota_limit };
  if (row.expires_at) set.expires_at = row.expires_at;
  if (row.allowed_origins_set) set.allowed_origins = row.allowed_origins;
  if (row.lifecycle_type === 'SUPERSEDED') {
    set.grace_ends_at = row.grace_ends_at;
    if (row.replaced_by) set.replaced_by = row.replaced_by;
  }
  if (row.end_user_id) set.end_user_id = row.end_user_id;
  if (row.parent_key_id) set.parent_key_id = row.parent_key_id;
  return set;
}

/** A key's lifecycle, oldest first, each entry with what it changed (scopes before → after, …). */
export function describeTimeline(
  rows: readonly LifecycleHistoryRow[],
  toIso: (t: string) => string,
): TimelineEntry[] {
  const state: Snapshot = {};
  return rows.map((row) => {
    const changes: TimelineEntry['changes'] = {};
    for (const [field, value] of Object.entries(fieldsOf(row))) {
      const normalized = field.endsWith('_at') && typeof value === 'string' ? toIso(value) : value;
      if (JSON.stringify(state[field] ?? null) !== JSON.stringify(normalized))
        changes[field] = { from: state[field] ?? null, to: normalized };
      state[field] = normalized;
    }
    return {
      event_id: row.event_id,
      occurred_at: toIso(row.occurred_at),
      lifecycle_type: row.lifecycle_type,
      actor: row.actor_kind ? { kind: row.actor_kind, id: row.actor_id } : null,
      reason: row.reason || null,
      changes,
    };
  });
}
