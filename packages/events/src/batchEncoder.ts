import type { EventCodec } from './codec.ts';
import type { AuthDecision, EventKind, KeyLifecycle } from './types.ts';

/** Encodes one batch's events (single-object Avro, as `codec.encode`) into shared chunks. */
export interface BatchEncoder {
  encode(kind: 'auth_decision', event: AuthDecision): Buffer;
  encode(kind: 'key_lifecycle', event: KeyLifecycle): Buffer;
}

const MAX_CHUNK_BYTES = 256 * 1024;

/**
 * A batch's encoder: each value is a view of a chunk the batch shares, so a batch allocates a
 * few chunks instead of two buffers per event (`codec.encode` builds the body, then the framed
 * copy), which is about half of a producer's garbage. Chunks are the batch's own (never reused),
 * so a value stays valid for as long as anything holds it. `expectedEvents` sizes the first chunk.
 */
export function createBatchEncoder(codec: EventCodec, expectedEvents = 1_000): BatchEncoder {
  // About 280 bytes a decision; a small batch (one ingest request) gets a small chunk.
  const chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(4_096, expectedEvents * 400));
  let chunk = Buffer.allocUnsafeSlow(chunkBytes);
  let at = 0;
  // One signature for both kinds: the overloads of BatchEncoder keep each call's event typed.
  const encodeInto = codec.encodeInto.bind(codec) as (
    kind: EventKind,
    event: unknown,
    target: Buffer,
    at: number,
  ) => number;
  const encodeAlone = codec.encode.bind(codec) as (kind: EventKind, event: unknown) => Buffer;
  const encode = (kind: EventKind, event: unknown): Buffer => {
    let end = encodeInto(kind, event, chunk, at);
    if (end < 0) {
      chunk = Buffer.allocUnsafeSlow(chunkBytes);
      at = 0;
      end = encodeInto(kind, event, chunk, 0);
      // An event larger than a chunk gets a buffer of its own.
      if (end < 0) return encodeAlone(kind, event);
    }
    const value = chunk.subarray(at, end);
    at = end;
    return value;
  };
  return { encode } as BatchEncoder;
}
