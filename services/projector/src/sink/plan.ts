/**
 * Deterministic batches. Before a batch is inserted, its last offset is committed to Kafka as
 * the group's offset metadata (the offset itself stays at the batch's first message). After a
 * crash, whoever owns the partition next reads that plan and re-forms exactly the same batch, so
 * the re-insert carries the same deduplication token and ClickHouse discards it.
 */
export interface BatchPlan {
  /** First offset of the planned batch (= the committed offset). */
  first: bigint;
  /** Last offset, inclusive. */
  last: bigint;
}

const PLAN_VERSION = 1;

export function formatPlanMetadata(last: bigint): string {
  return JSON.stringify({ v: PLAN_VERSION, last: last.toString() });
}

/** Reads a plan from committed metadata; null when there is none (or it is not ours). */
export function parsePlanMetadata(
  committedOffset: string,
  metadata: string | null | undefined,
): BatchPlan | null {
  if (!metadata) return null;
  try {
    const parsed = JSON.parse(metadata) as { v?: number; last?: string };
    if (parsed.v !== PLAN_VERSION || typeof parsed.last !== 'string') return null;
    const first = BigInt(committedOffset);
    const last = BigInt(parsed.last);
    return first >= 0n && last >= first ? { first, last } : null;
  } catch {
    return null;
  }
}

/** The insert_deduplication_token of a batch: same topic, partition and offsets → same token. */
export function dedupToken(topic: string, partition: number, first: bigint, last: bigint): string {
  return `${topic}/${partition}/${first}-${last}`;
}

/**
 * Where the next batch ends, as an index into `offsets` (ascending), or -1 to wait for more
 * messages. A pending plan that starts at offsets[start] fixes the end; otherwise the batch takes
 * up to `maxEvents` messages.
 */
export function nextBatchEnd(
  offsets: readonly bigint[],
  start: number,
  maxEvents: number,
  plan: BatchPlan | null,
): number {
  const firstOffset = offsets[start];
  if (firstOffset === undefined) return -1;
  if (plan && plan.first === firstOffset) {
    for (let i = start; i < offsets.length; i++) {
      if (offsets[i]! === plan.last) return i;
      if (offsets[i]! > plan.last) return i - 1; // the planned last offset vanished (a transaction marker): end before it
    }
    return -1;
  }
  return Math.min(offsets.length, start + maxEvents) - 1;
}
