/**
 * A fixed-capacity FIFO of recorded inputs, each with a small tag (its kind) and its record time. All slots are allocated up
 * front, so recording allocates nothing: the record call's cost stays flat (allocation slow
 * paths and the GC work they bring were most of the emitter's p99).
 */
export class RecordRing<Item> {
  private readonly items: (Item | undefined)[];
  private readonly tags: Uint8Array;
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<Item | undefined>(capacity).fill(undefined);
    this.tags = new Uint8Array(capacity);
    this.times = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends; false when full. */
  push(item: Item, tag: number, at: number): boolean {
    if (this.count === this.capacity) return false;
    const slot = (this.head + this.count) % this.capacity;
    this.items[slot] = item;
    this.tags[slot] = tag;
    this.times[slot] = at;
    this.count++;
    return true;
  }

  /** Removes and returns up to `max` of the oldest entries, oldest first. */
  take(max: number): { item: Item; tag: number; at: number }[] {
    const n = Math.min(max, this.count);
    const out = new Array<{ item: Item; tag: number; at: number }>(n);
    for (let i = 0; i < n; i++) {
      const slot = (this.head + i) % this.capacity;
      out[i] = { item: this.items[slot] as Item, tag: this.tags[slot]!, at: this.times[slot]! };
      this.items[slot] = undefined; // let the taken input be collected once it is sent
    }
    this.head = (this.head + n) % this.capacity;
    this.count -= n;
    return out;
  }
}
