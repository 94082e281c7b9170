/**
 * The event ids one partition wrote recently, so a client's retry (same event_id, a separate
 * Kafka message) is counted once. Bounded twice: by age (the dedup window) and by count, oldest
 * out first, so memory never grows without bound. Events with one id share a partition key, so
 * one partition's window is enough.
 */
export class RecentIds {
  // Insertion order = Kafka order; the value is when the id was added (ms).
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id.toLowerCase());
  }

  add(id: string, now = Date.now()): void {
    const key = id.toLowerCase();
    this.ids.delete(key);
    this.ids.set(key, now);
    this.evict(now);
  }

  private evict(now: number): void {
    for (const [id, at] of this.ids) {
      if (this.ids.size <= this.maxEntries && now - at <= this.windowMs) break;
      this.ids.delete(id);
    }
  }
}
