import {
  type ClickHouseDriver,
  insertAuthDecisionContainer,
  insertKeyLifecycle,
  type KeyLifecycleRow,
} from '@keytrail/clickhouse';
import { createContainerBuilder, type EventCodec, type EventKind } from '@keytrail/events';
import type { SchemaRegistry, Topics } from '@keytrail/kafka';
import type { KafkaMessage } from 'kafkajs';
import { type BodyRow, decodeDecisionBodies } from './bodies.ts';
import type { DeadLetter } from './decode.ts';
import type { IdentifiedRow } from './dedupe.ts';
import { decodeBatchWithRegistry } from './writers.ts';

/** What one batch of messages becomes: rows to insert, in Kafka order, and dead letters. */
export interface SinkBatch<Row extends IdentifiedRow = IdentifiedRow> {
  rows: Row[];
  deadLetters: DeadLetter[];
  /** How many of the messages were decoded whole in JS (the rest went on as written). */
  decodedInJs: number;
}

/** Where one topic's events go: their kind, the raw table, how messages become rows, and the insert. */
export interface Sink<Row extends IdentifiedRow = IdentifiedRow> {
  kind: EventKind;
  /** The raw table, as recorded in seen_event_ids.source. */
  source: 'auth_decisions' | 'key_lifecycle';
  /** Step 2 of a batch: the same messages always give the same rows and letters. */
  prepare(partition: number, messages: readonly KafkaMessage[]): Promise<SinkBatch<Row>>;
  insert(
    ch: ClickHouseDriver,
    rows: readonly Row[],
    options: { settings: Record<string, string | number> },
  ): Promise<void>;
}

export interface SinkOptions {
  codec: EventCodec;
  /** Where writer schemas the codec does not ship are looked up (without one, they dead-letter). */
  registry?: SchemaRegistry | undefined;
  /** Registry keys of fingerprints no producer registered (shared by every batch). */
  unregistered: Set<string>;
}

/**
 * Topic name → sink, for the two topics the projector (and replay) consume.
 *  - Auth decisions, the volume: bodies go to ClickHouse as an Avro container, as the producers
 *    wrote them (`bodies.ts`); only what the gate is unsure of is decoded in JS.
 *  - Key lifecycle events, a handful per key: decoded, validated and written as RowBinary.
 */
export function createSinks(topics: Topics, options: SinkOptions): Map<string, Sink> {
  const { codec, registry, unregistered } = options;
  const containers = createContainerBuilder(codec.reader('auth_decision').schema as never);
  const decisions: Sink<BodyRow> = {
    kind: 'auth_decision',
    source: 'auth_decisions',
    prepare: (partition, messages) =>
      decodeDecisionBodies(codec, registry, unregistered, partition, messages),
    insert: (ch, rows, insertOptions) =>
      insertAuthDecisionContainer(ch, { rows: rows.length, data: containers.build(rows) }, insertOptions),
  };
  const lifecycle: Sink<KeyLifecycleRow> = {
    kind: 'key_lifecycle',
    source: 'key_lifecycle',
    prepare: async (partition, messages) => {
      const decoded = await decodeBatchWithRegistry(
        codec,
        registry,
        unregistered,
        'key_lifecycle',
        partition,
        messages,
      );
      return { ...(decoded as SinkBatch<KeyLifecycleRow>), decodedInJs: messages.length };
    },
    insert: insertKeyLifecycle,
  };
  return new Map<string, Sink>([
    [topics.authDecisions, decisions as unknown as Sink],
    [topics.keyLifecycle, lifecycle as unknown as Sink],
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
