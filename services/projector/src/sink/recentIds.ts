/**
 * The event ids one partition wrote recently, so a client's retry (same event_id, a separate
 * Kafka message) is counted once. The clock is the Kafka timestamp of the messages (arrival
 * time), not the wall clock: a replay of the same log then recognises exactly the retries the
 * live run did. Bounded twice: by that age (the dedup window) and by count, oldest out first, so
 * memory never grows without bound. Events with one id share a partition key, so one partition's
 * window is enough.
 */
/** Default bound of one partition's window (ids held in memory per partition). */
export const DEFAULT_MAX_IDS_PER_PARTITION = 2_000_000;

export class RecentIds {
  // Insertion order = Kafka order; the value is the message time (ms) of the id.
  private readonly ids = new Map<string, number>();

  constructor(
    /** How long after its arrival (Kafka time) an id still counts as seen. */
    readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  /** True when `id` arrived at most one window before `now` (a message time). */
  has(id: string, now: number): boolean {
    const at = this.ids.get(id.toLowerCase());
    return at !== undefined && now - at <= this.windowMs;
  }

  add(id: string, at: number): void {
    const key = id.toLowerCase();
    this.ids.delete(key);
    this.ids.set(key, at);
    this.evict(at);
  }

  private evict(now: number): void {
    for (const [id, at] of this.ids) {
      if (this.ids.size <= this.maxEntries && now - at <= this.windowMs) break;
      this.ids.delete(id);
    }
  }
}
