import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

// Random bytes are drawn 16 KiB at a time: uuid's own pool holds 256 bytes, so every 16th id
// waited for a randomFillSync call, which alone put the emitter's record call p99 above 2 µs.
const RANDOM_POOL_BYTES = 16 * 1024;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let poolAt = RANDOM_POOL_BYTES;
/** Last id's time and counter: ids made in one millisecond still sort in creation order. */
const clock = { msecs: -1, seq: 0 };

/** A UUIDv7: time-ordered (monotonic within this process), so event ids sort by creation time. */
export function newEventId(): string {
  if (poolAt + 16 > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    poolAt = 0;
  }
  const random = randomPool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  const now = Date.now();
  if (now > clock.msecs) {
    // As uuid's v7: a fresh random 31-bit counter each millisecond, incremented within it.
    clock.msecs = now;
    clock.seq = (random[6]! << 23) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    clock.seq = (clock.seq + 1) | 0;
    if (clock.seq === 0) clock.msecs++;
  }
  return v7({ random, msecs: clock.msecs, seq: clock.seq });
}

/**
 * The one rule for ids (workspace, key, request, session, end user), at ingest, in the projector
 * and in the query API's paths: 1–256 characters, no control characters (a NUL included), no
 * whitespace at either end.
 */
export const MAX_ID_LENGTH = 256;
export const ID_PATTERN = '^[^\\p{Cc}\\s](?:[^\\p{Cc}]*[^\\p{Cc}\\s])?$';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** A short random request id, as sent back in X-Request-Id when the client gave none. */
export function newRequestId(): string {
  return `req_${v7().replaceAll('-', '')}`;
}
