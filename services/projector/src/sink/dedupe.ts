import type { PositionedEvent } from '@keytrail/clickhouse';

/** A row that carries its event's identity and its Kafka timestamp (the window's clock). */
export type IdentifiedRow = PositionedEvent<{ event_id: string }>;

/**
 * Keeps each row whose event id was not seen within the window before it: neither in `seen`
 * (earlier batches) nor earlier in this batch, both judged by Kafka time, so where a batch
 * boundary falls never changes what is counted. Returns the rest as dropped. Pure and
 * order-preserving, so a re-formed batch keeps exactly the same rows.
 */
export function dropRepeats<Row extends IdentifiedRow>(
  rows: readonly Row[],
  seen: { has(id: string, now: number): boolean; readonly windowMs: number },
): { kept: Row[]; dropped: number } {
  const kept: Row[] = [];
  const inBatch = new Map<string, number>(); // id → Kafka time of its kept copy
  for (const row of rows) {
    const id = row.event.event_id.toLowerCase();
    const now = row.at.timestamp;
    const earlier = inBatch.get(id);
    if (seen.has(id, now) || (earlier !== undefined && now - earlier <= seen.windowMs)) continue;
    inBatch.set(id, now);
    kept.push(row);
  }
  return { kept, dropped: rows.length - kept.length };
}

/** Adds the kept rows' ids to the window, once their batch is committed. */
export function rememberRows(
  rows: readonly IdentifiedRow[],
  window: { add(id: string, at: number): void },
): void {
  for (const row of rows) window.add(row.event.event_id, row.at.timestamp);
}
