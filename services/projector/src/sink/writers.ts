import { type EventCodec, type EventKind, fingerprintKey, fingerprintOf } from '@keytrail/events';
import type { SchemaRegistry } from '@keytrail/kafka';
import type { KafkaMessage } from 'kafkajs';
import { type DecodedBatch, decodeBatch } from './decode.ts';

/**
 * Teaches `codec` the writer schemas of `messages` it does not know yet, from the registry
 * topic, so decoding resolves them to the reader schema instead of dead-lettering them. A
 * fingerprint in no registry is remembered in `missing` (its messages dead-letter as
 * UNKNOWN_FINGERPRINT). Producers register before their first send, so the answer for a message
 * already in Kafka never changes: a batch redone after a crash decodes the same way.
 */
export async function learnWriterSchemas(
  codec: EventCodec,
  registry: SchemaRegistry,
  messages: readonly KafkaMessage[],
  missing: Set<string>,
): Promise<boolean> {
  let learnt = false;
  for (const message of messages) {
    const fingerprint = message.value ? fingerprintOf(message.value) : undefined;
    if (fingerprint === undefined || codec.knows(fingerprint)) continue;
    const key = fingerprintKey(fingerprint);
    if (missing.has(key)) continue;
    const canonical = await registry.lookup(key);
    try {
      if (canonical === undefined) missing.add(key);
      else {
        codec.registerCanonical(canonical);
        learnt = true;
      }
    } catch {
      missing.add(key); // registered, but not a Keytrail event schema
    }
  }
  return learnt;
}

/**
 * `decodeBatch`, then, only when some messages had a writer schema this codec lacks, learning
 * those from the registry and decoding again: the common batch pays nothing for the registry.
 */
export async function decodeBatchWithRegistry(
  codec: EventCodec,
  registry: SchemaRegistry | undefined,
  missing: Set<string>,
  kind: EventKind,
  partition: number,
  messages: readonly KafkaMessage[],
): Promise<DecodedBatch> {
  const decoded = decodeBatch(codec, kind, partition, messages);
  if (!registry) return decoded;
  const unknown = decoded.deadLetters.filter((l) => l.reason === 'UNKNOWN_FINGERPRINT').map((l) => l.message);
  if (unknown.length === 0) return decoded;
  const learnt = await learnWriterSchemas(codec, registry, unknown, missing);
  return learnt ? decodeBatch(codec, kind, partition, messages) : decoded;
}
