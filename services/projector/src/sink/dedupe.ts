import { fromDateTime64Text } from '@keytrail/clickhouse';

/** A row that carries its event's identity. */
export interface IdentifiedRow {
  event_id: string;
  workspace_id: string;
  /** The message's Kafka timestamp, as written to the row ("2026-11-22 04:00:00.123"). */
  kafka_timestamp: string;
}

/** Milliseconds of a row's Kafka timestamp. */
export function rowTime(row: IdentifiedRow): number {
  return fromDateTime64Text(row.kafka_timestamp);
}

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
    const id = row.event_id.toLowerCase();
    if (seen.has(id, rowTime(row)) || inBatch.has(id)) continue;
    inBatch.add(id);
    kept.push(row);
  }
  return { kept, dropped: rows.length - kept.length };
}
