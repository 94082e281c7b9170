import type { ClickHouseDriver } from '../driver/types.ts';

export const SEEN_EVENT_IDS_TABLE = 'seen_event_ids';

export interface RecentIdsQuery {
  source: 'auth_decisions' | 'key_lifecycle';
  partition: number;
  /** Only ids written by batches before this offset (the committed one): an interrupted batch's rows do not count. */
  beforeOffset: string;
  /**
   * Only ids that arrived within this many hours before the newest one of the partition (Kafka
   * time, as the live window judges: a projector catching up on an old backlog rebuilds the
   * window that backlog needs, not one measured back from the wall clock).
   */
  windowHours: number;
}

/**
 * The event ids one partition wrote recently, oldest first: what a projector that takes the
 * partition over needs to recognise a client's retry of an event already counted.
 */
export async function* streamRecentEventIds(
  ch: ClickHouseDriver,
  query: RecentIdsQuery,
): AsyncIterable<{ id: string; at: number }> {
  const rows = ch.stream<{ id: string; at: number }>(
    `SELECT toString(event_id) AS id, toUnixTimestamp64Milli(seen_at) AS at
     FROM seen_event_ids
     WHERE source = {source:String} AND kafka_partition = {partition:UInt32}
       AND kafka_offset < {beforeOffset:UInt64}
       AND seen_at >= (
         SELECT max(seen_at) FROM seen_event_ids
         WHERE source = {source:String} AND kafka_partition = {partition:UInt32}
           AND kafka_offset < {beforeOffset:UInt64}
       ) - toIntervalHour({windowHours:UInt32})
     ORDER BY kafka_offset`,
    {
      source: query.source,
      partition: query.partition,
      beforeOffset: query.beforeOffset,
      windowHours: query.windowHours,
    },
  );
  yield* rows;
}
