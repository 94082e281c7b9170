import type { RowBinaryColumn, RowBinaryType } from '../rowBinary.ts';

/** Where a row came from in Kafka (kept in the row for audits and replays). */
export interface KafkaPosition {
  partition: number;
  offset: string;
  /** The message's Kafka timestamp (ms). */
  timestamp: number;
}

/** An event with the Kafka position it was read from: what one raw-table row is made of. */
export interface PositionedEvent<Event> {
  event: Event;
  at: KafkaPosition;
}

/** A raw-table column whose value comes from the event, or from where Kafka had it. */
export function eventColumn<Event>(
  name: string,
  type: RowBinaryType,
  value: (event: Event, at: KafkaPosition) => unknown,
): RowBinaryColumn<PositionedEvent<Event>> {
  return { name, type, value: (row) => value(row.event, row.at) };
}
