import type { PositionedEvent } from '@keytrail/clickhouse';

/** A row that carries its event's identity and its Kafka timestamp (the window's clock). */
export type IdentifiedRow = PositionedEvent<{ event_id: string }>;

/**
 * Keeps the first row of each event id that `seen` does not already hold; returns the rest as
 * dropped. Pure and order-preserving, so a re-formed batch keeps exactly the same rows.
 */
export function dropRepeats<Row extends IdentifiedRow>(
  rows: readonly Row[],
  seen: { has(id: string, now: number): boolean },
): { kept: Row[]; dropped: number } {
  const kept: Row[] = [];
  const inBatch = new Set<string>();
  for (const row of rows) {
    const id = row.event.event_id.toLowerCase();
    if (seen.has(id, row.at.timestamp) || inBatch.has(id)) continue;
    inBatch.add(id);
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
