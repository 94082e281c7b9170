import type { KafkaPosition } from '@keytrail/clickhouse';
import {
  type AuthDecision,
  createDecisionGate,
  type DecisionGate,
  type EventCodec,
  HEADER_LENGTH,
} from '@keytrail/events';
import type { SchemaRegistry } from '@keytrail/kafka';
import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter } from './decode.ts';
import { decodeBatchWithRegistry } from './writers.ts';

/** An auth decision as the projector passes it on: its body as written, its id, where Kafka had it. */
export interface BodyRow {
  /** Only the id: what dedup needs. */
  event: { event_id: string };
  at: KafkaPosition;
  /** The Avro body in the reader schema (a view into the message where it already was one). */
  body: Uint8Array;
}

const gates = new WeakMap<EventCodec, DecisionGate>();

/**
 * Step 2 for auth decisions, without decoding what needs no decoding. A message whose body is in
 * the reader schema and that the gate finds plainly valid keeps its bytes: only its event id is
 * read. Every other message (another writer version, a schema from the registry, anything the
 * gate is unsure of, and everything that is no decision at all) takes the general path,
 * `decodeBatchWithRegistry`, which decides exactly as before: its dead letters carry the same
 * reasons, and the events it accepts are re-encoded in the reader schema. Pure apart from the
 * registry lookups, which never change their answer for a message already in Kafka: the same
 * messages always give the same rows, in Kafka order.
 */
export async function decodeDecisionBodies(
  codec: EventCodec,
  registry: SchemaRegistry | undefined,
  unregistered: Set<string>,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<{ rows: BodyRow[]; deadLetters: DeadLetter[]; decodedInJs: number }> {
  const reader = codec.reader('auth_decision');
  let gate = gates.get(codec);
  if (!gate) {
    gate = createDecisionGate(reader.schema as never);
    gates.set(codec, gate);
  }
  const { header } = reader;
  const rows: (BodyRow | undefined)[] = new Array(messages.length);
  const general: KafkaMessage[] = [];
  const generalAt: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const value = message.value;
    const timestamp = Number(message.timestamp);
    const id =
      value && value.length > HEADER_LENGTH && header.compare(value, 0, HEADER_LENGTH) === 0
        ? gate.pass(value, HEADER_LENGTH, value.length, timestamp)
        : undefined;
    if (id === undefined) {
      general.push(message);
      generalAt.push(i);
      continue;
    }
    rows[i] = {
      event: { event_id: id },
      at: { partition, offset: message.offset, timestamp },
      body: value!.subarray(HEADER_LENGTH),
    };
  }
  if (general.length === 0) return { rows: rows as BodyRow[], deadLetters: [], decodedInJs: 0 };

  const decoded = await decodeBatchWithRegistry(
    codec,
    registry,
    unregistered,
    'auth_decision',
    partition,
    general,
  );
  const byOffset = new Map(decoded.rows.map((row) => [row.at.offset, row]));
  const deadLetters = decoded.deadLetters;
  for (let j = 0; j < general.length; j++) {
    const message = general[j]!;
    const row = byOffset.get(message.offset);
    if (!row) continue; // a dead letter
    let body: Buffer;
    try {
      body = codec.encode('auth_decision', row.event as AuthDecision).subarray(HEADER_LENGTH);
    } catch (err) {
      // Not seen: a resolved, valid event always fits its reader. Refused for good if it does not.
      deadLetters.push({ message, reason: 'BAD_BODY', detail: `not encodable in the reader schema: ${err}` });
      continue;
    }
    rows[generalAt[j]!] = { event: { event_id: row.event.event_id }, at: row.at, body };
  }
  return { rows: rows.filter((row) => row !== undefined), deadLetters, decodedInJs: general.length };
}
