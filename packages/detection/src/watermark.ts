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
  /** Every event time ≤ this has arrived; undefined before the first event. */
  current(): number | undefined;
}

export function createWatermark(options: { latenessMs: number; idleMs: number }): Watermark {
  const newest = new Map<string, number>();
  let newestOverall = Number.NEGATIVE_INFINITY;
  let mark: number | undefined;

  const recompute = () => {
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
      recompute();
      return true;
    },
    current: () => mark,
  };
}
