import type { AuthDecisionRow, KeyLifecycleRow } from '@keytrail/clickhouse';
import {
  type DecodeFailure,
  type EventCodec,
  EventDecodeError,
  type EventKind,
  validateAuthDecision,
  validateKeyLifecycle,
} from '@keytrail/events';
import type { KafkaMessage } from 'kafkajs';

/** Why a message went to the dead-letter topic (the `keytrail-dlq-reason` header). */
export type DeadLetterReason =
  | DecodeFailure
  | 'INVALID_EVENT'
  | 'WRONG_TOPIC'
  | 'EMPTY'
  /** Valid, but ClickHouse refuses the row on its own (e.g. a value out of a column's range). */
  | 'REFUSED_BY_CLICKHOUSE';

export interface DeadLetter {
  message: KafkaMessage;
  reason: DeadLetterReason;
  detail: string;
}

/** A valid event of either topic with its Kafka position: one raw-table row. */
export type ProjectedRow = AuthDecisionRow | KeyLifecycleRow;

export interface DecodedBatch {
  /** All of the topic's kind. */
  rows: ProjectedRow[];
  deadLetters: DeadLetter[];
}

/**
 * Turns one batch of messages into table rows; anything that cannot become a valid event of the
 * topic's kind becomes a dead letter instead. Pure: the same messages always give the same split,
 * which a re-formed batch relies on. "Now" for validation is the message's own timestamp.
 */
export function decodeBatch(
  codec: EventCodec,
  kind: EventKind,
  partition: number,
  messages: readonly KafkaMessage[],
): DecodedBatch {
  const rows: ProjectedRow[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of messages) {
    if (!message.value || message.value.length === 0) {
      deadLetters.push({ message, reason: 'EMPTY', detail: 'message has no value' });
      continue;
    }
    let decoded: ReturnType<EventCodec['decode']>;
    try {
      decoded = codec.decode(message.value);
    } catch (err) {
      const reason = err instanceof EventDecodeError ? err.reason : 'BAD_BODY';
      deadLetters.push({ message, reason, detail: (err as Error).message });
      continue;
    }
    if (decoded.kind !== kind) {
      deadLetters.push({
        message,
        reason: 'WRONG_TOPIC',
        detail: `a ${decoded.kind} event on the ${kind} topic`,
      });
      continue;
    }
    const now = Number(message.timestamp);
    const at = { partition, offset: message.offset, timestamp: Number(message.timestamp) };
    if (decoded.kind === 'auth_decision') {
      const errors = validateAuthDecision(decoded.event, now);
      if (errors.length > 0) {
        deadLetters.push({ message, reason: 'INVALID_EVENT', detail: JSON.stringify(errors) });
        continue;
      }
      rows.push({ event: decoded.event, at });
    } else {
      const errors = validateKeyLifecycle(decoded.event, now);
      if (errors.length > 0) {
        deadLetters.push({ message, reason: 'INVALID_EVENT', detail: JSON.stringify(errors) });
        continue;
      }
      rows.push({ event: decoded.event, at });
    }
  }
  return { rows, deadLetters };
}
