import type { ClickHouseDriver } from './driver/types.ts';
import { DDL_SETTINGS } from './migrate.ts';

export interface RetentionSettings {
  /** Days raw auth decisions are kept (KEYTRAIL_RAW_TTL_DAYS, default 90). */
  rawTtlDays: number;
  /** Hours an event id is remembered for retries (KEYTRAIL_DEDUP_WINDOW_HOURS, default 24). */
  dedupWindowHours: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { rawTtlDays: 90, dedupWindowHours: 24 };

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 100_000)
    throw new Error(`${name} must be a whole number from 1 to 100000`);
  return value;
}

/**
 * Applies configured TTLs. DDL cannot take bound parameters, so the numbers are checked to be
 * plain integers before they enter the statement; they come from configuration, never requests.
 */
export async function applyRetention(ch: ClickHouseDriver, settings: RetentionSettings): Promise<void> {
  const days = positiveInteger('rawTtlDays', settings.rawTtlDays);
  const hours = positiveInteger('dedupWindowHours', settings.dedupWindowHours);
  const current = await currentTtls(ch);
  // Only when it changed: MODIFY TTL rewrites every part of the table.
  // The request-id index lives as long as the raw rows it points at.
  for (const table of ['auth_decisions', 'request_ids'] as const)
    if (!current[table]?.includes(`toIntervalDay(${days})`))
      await ch.command(
        `ALTER TABLE ${table} MODIFY TTL toDateTime(occurred_at) + INTERVAL ${days} DAY`,
        undefined,
        DDL_SETTINGS,
      );
  if (!current.seen_event_ids?.includes(`toIntervalHour(${hours})`)) {
    await ch.command(
      `ALTER TABLE seen_event_ids MODIFY TTL toDateTime(seen_at) + INTERVAL ${hours} HOUR`,
      undefined,
      DDL_SETTINGS,
    );
  }
}

async function currentTtls(ch: ClickHouseDriver): Promise<Record<string, string>> {
  const rows = await ch.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables
     WHERE database = currentDatabase() AND name IN ('auth_decisions', 'request_ids', 'seen_event_ids')`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.engine_full]));
}

/** The TTLs the tables hold now (what applyRetention last set), read back from ClickHouse. */
export async function readRetention(ch: ClickHouseDriver): Promise<Partial<RetentionSettings>> {
  const current = await currentTtls(ch);
  const days = /toIntervalDay\((\d+)\)/.exec(current.auth_decisions ?? '')?.[1];
  const hours = /toIntervalHour\((\d+)\)/.exec(current.seen_event_ids ?? '')?.[1];
  return {
    ...(days ? { rawTtlDays: Number(days) } : {}),
    ...(hours ? { dedupWindowHours: Number(hours) } : {}),
  };
}
