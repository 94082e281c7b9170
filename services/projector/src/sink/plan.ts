/**
 * Deterministic batches. A batch is one insert: a run of messages from one or more partitions of
 * a topic (a slice each). Before it is inserted, each slice's partition commits its first offset
 * with the plan as the offset metadata: its own last offset and, for a batch of several
 * partitions, every slice of the batch. After a crash, whoever owns the partitions next reads
 * that plan and re-forms exactly the same batch, so the re-insert carries the same deduplication
 * token and ClickHouse discards it. The plan-aware assignor (assigner.ts) hands every partition
 * of a pending batch to one member, so the batch can always be re-formed whole.
 */

/** One partition's part of a batch: offsets first..last, inclusive. */
export interface BatchSlice {
  partition: number;
  first: bigint;
  last: bigint;
}

export interface BatchPlan {
  /** First offset of the planned batch in this partition (= the committed offset). */
  first: bigint;
  /** Last offset in this partition, inclusive. */
  last: bigint;
  /** Every slice of the batch, this partition's among them, by partition; one for a batch of one partition. */
  slices: BatchSlice[];
}

/** v1: one partition's batch (what every version writes for a batch of one partition). v2: a batch of several. */
const SINGLE_PLAN = 1;
const MULTI_PLAN = 2;

/** The metadata a partition commits before its batch: `last` is its own slice's end. */
export function formatPlanMetadata(last: bigint, slices: readonly BatchSlice[] = []): string {
  if (slices.length <= 1) return JSON.stringify({ v: SINGLE_PLAN, last: last.toString() });
  return JSON.stringify({
    v: MULTI_PLAN,
    last: last.toString(),
    batch: slices.map((s) => [s.partition, s.first.toString(), s.last.toString()]),
  });
}

/** Reads `partition`'s plan from its committed offset and metadata; null when there is none (or it is not ours). */
export function parsePlanMetadata(
  committedOffset: string,
  metadata: string | null | undefined,
  partition: number,
): BatchPlan | null {
  if (!metadata) return null;
  try {
    const parsed = JSON.parse(metadata) as { v?: number; last?: string; batch?: unknown };
    if (typeof parsed.last !== 'string') return null;
    const first = BigInt(committedOffset);
    const last = BigInt(parsed.last);
    if (first < 0n || last < first) return null;
    if (parsed.v === SINGLE_PLAN) return { first, last, slices: [{ partition, first, last }] };
    if (parsed.v !== MULTI_PLAN || !Array.isArray(parsed.batch) || parsed.batch.length < 2) return null;
    const slices = parsed.batch.map((entry: unknown): BatchSlice => {
      if (!Array.isArray(entry) || entry.length !== 3) throw new Error('not a slice');
      const [p, f, l] = entry as [unknown, unknown, unknown];
      if (!Number.isInteger(p) || typeof f !== 'string' || typeof l !== 'string')
        throw new Error('not a slice');
      return { partition: p as number, first: BigInt(f), last: BigInt(l) };
    });
    const own = slices.find((s) => s.partition === partition);
    // The plan must describe this partition's own slice as its offset and metadata do.
    if (!own || own.first !== first || own.last !== last) return null;
    return { first, last, slices: [...slices].sort((a, b) => a.partition - b.partition) };
  } catch {
    return null;
  }
}

/**
 * The insert_deduplication_token of a batch: same topic, partitions and offsets → same token. A
 * batch of one partition keeps the form it has always had (`topic/partition/first-last`).
 */
export function dedupToken(topic: string, slices: readonly BatchSlice[]): string {
  const sorted = [...slices].sort((a, b) => a.partition - b.partition);
  return `${topic}/${sorted.map((s) => `${s.partition}/${s.first}-${s.last}`).join('+')}`;
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
  plan: Pick<BatchPlan, 'first' | 'last'> | null,
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
