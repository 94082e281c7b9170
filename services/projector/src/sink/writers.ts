import { type EventCodec, fingerprintKey, fingerprintOf } from '@keytrail/events';
import type { SchemaRegistry } from '@keytrail/kafka';
import type { KafkaMessage } from 'kafkajs';

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
): Promise<void> {
  for (const message of messages) {
    const fingerprint = message.value ? fingerprintOf(message.value) : undefined;
    if (fingerprint === undefined || codec.knows(fingerprint)) continue;
    const key = fingerprintKey(fingerprint);
    if (missing.has(key)) continue;
    const canonical = await registry.lookup(key);
    try {
      if (canonical === undefined) missing.add(key);
      else codec.registerCanonical(canonical);
    } catch {
      missing.add(key); // registered, but not a Keytrail event schema
    }
  }
}
