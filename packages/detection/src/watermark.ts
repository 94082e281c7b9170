/**
 * Event-time progress of a partitioned stream. Each partition is read in order but its events
 * may be out of order by up to `latenessMs` (gateways stamp their own clocks); the watermark is
 * the slowest active partition's newest event time minus that lateness: every event up to it is
 * assumed to have arrived. A partition whose newest event is more than `idleMs` behind the
 * newest of all is idle and does not hold the others back. No wall clock anywhere, so a replay
 * of the same partitions moves the watermark exactly as the live run did.
 */
export interface Watermark {
  /** Records an event of `partition`; returns false when it is late (at or behind the watermark). */
  observe(partition: string, occurredAt: number): boolean;
  /**
   * Every partition has nothing older than `at` still to come (the reader is caught up and the
   * stream is quiet): the watermark may move to `at` − lateness although no event says so.
   */
  quietUntil(at: number): void;
  /**
   * Moves the watermark as far as the events observed allow and returns it. It moves only here,
   * not on each `observe`: a reader hands over one partition's batch after another, and the
   * events of the second must not count as late for what the first said.
   */
  advance(): number | undefined;
  /** Every event time ≤ this has arrived (as of the last `advance`); undefined before the first. */
  current(): number | undefined;
}

export function createWatermark(options: { latenessMs: number; idleMs: number }): Watermark {
  const newest = new Map<string, number>();
  let newestOverall = Number.NEGATIVE_INFINITY;
  let mark: number | undefined;

  const recompute = () => {
    if (newest.size === 0) return;
    let slowest = Number.POSITIVE_INFINITY;
    for (const at of newest.values())
      if (at >= newestOverall - options.idleMs) slowest = Math.min(slowest, at);
    const next = slowest - options.latenessMs;
    // Never backwards: a partition coming back from idle does not undo progress.
    if (mark === undefined || next > mark) mark = next;
  };

  return {
    observe(partition, occurredAt) {
      if (mark !== undefined && occurredAt <= mark) return false;
      if (occurredAt > (newest.get(partition) ?? Number.NEGATIVE_INFINITY)) newest.set(partition, occurredAt);
      if (occurredAt > newestOverall) newestOverall = occurredAt;
      return true;
    },
    quietUntil(at) {
      if (newest.size === 0) return;
      for (const [partition, seen] of newest) if (seen < at) newest.set(partition, at);
      if (at > newestOverall) newestOverall = at;
    },
    advance() {
      recompute();
      return mark;
    },
    current: () => mark,
  };
}
