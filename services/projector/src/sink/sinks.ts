import { type ClickHouseDriver, insertAuthDecisions, insertKeyLifecycle } from '@keytrail/clickhouse';
import type { EventKind } from '@keytrail/events';
import type { Topics } from '@keytrail/kafka';
import type { ProjectedRow } from './decode.ts';

/** Where one topic's events go: their kind, the raw table, and its insert. */
export interface Sink {
  kind: EventKind;
  /** The raw table, as recorded in seen_event_ids.source. */
  source: 'auth_decisions' | 'key_lifecycle';
  insert: (
    ch: ClickHouseDriver,
    rows: readonly ProjectedRow[],
    options: { settings: Record<string, string | number> },
  ) => Promise<void>;
}

/** Topic name → sink, for the two topics the projector (and replay) consume. */
export function createSinks(topics: Topics): Map<string, Sink> {
  return new Map<string, Sink>([
    [
      topics.authDecisions,
      { kind: 'auth_decision', source: 'auth_decisions', insert: insertAuthDecisions as Sink['insert'] },
    ],
    [
      topics.keyLifecycle,
      { kind: 'key_lifecycle', source: 'key_lifecycle', insert: insertKeyLifecycle as Sink['insert'] },
    ],
  ]);
}

/** Settings of every projector insert: the batch's token, honoured by every materialized view too. */
export function insertSettings(token: string): Record<string, string | number> {
  return {
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // The raw table feeds several views; let them work side by side.
    parallel_view_processing: 1,
  };
}
