/**
 * Where a restart must start reading one partition again to rebuild the last stretch of event
 * time. A mark is taken each time a new second of event time is reached (the partition's newest
 * event so far), with its offset: every message before a mark is older than the mark's time, so
 * the newest mark at or before `cutoff` is a safe place to start. Marks older than that are
 * dropped as they are passed, so memory stays at about one mark per second of the look-back.
 */
export class ReplayMarks {
  private marks: { at: number; offset: bigint }[] = [];
  private newest = Number.NEGATIVE_INFINITY;
  private from: bigint;

  /** `start`: where this run began reading (the restart point until a mark passes the cutoff). */
  constructor(start: bigint) {
    this.from = start;
  }

  saw(occurredAt: number, offset: bigint): void {
    if (occurredAt <= this.newest) return;
    this.newest = occurredAt;
    const last = this.marks.at(-1);
    if (!last || Math.floor(occurredAt / 1000) > Math.floor(last.at / 1000))
      this.marks.push({ at: occurredAt, offset });
  }

  /** The offset to start from to see every event after `cutoff` (event time). */
  replayFrom(cutoff: number): bigint {
    let passed = -1;
    for (let i = 0; i < this.marks.length && this.marks[i]!.at <= cutoff; i++) passed = i;
    if (passed >= 0) {
      this.from = this.marks[passed]!.offset;
      this.marks = this.marks.slice(passed);
    }
    return this.from;
  }
}

/** What an alerter commits with each offset: how far its published changes go. */
export interface Checkpoint {
  /** Every alert change up to this event time is on keytrail.alerts. */
  watermark?: number;
}

export function formatCheckpoint(checkpoint: Checkpoint): string {
  return JSON.stringify({ v: 1, w: checkpoint.watermark });
}

/** A commit's metadata, or an empty checkpoint when it holds none of ours. */
export function parseCheckpoint(metadata: string | null): Checkpoint {
  if (!metadata) return {};
  try {
    const parsed = JSON.parse(metadata) as { v?: number; w?: unknown };
    return parsed.v === 1 && typeof parsed.w === 'number' ? { watermark: parsed.w } : {};
  } catch {
    return {};
  }
}
