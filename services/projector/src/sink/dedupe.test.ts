import { describe, expect, it } from 'vitest';
import { dropRepeats } from './dedupe.ts';

const HOUR = 3_600_000;
const row = (event_id: string, n: number, timestamp = Date.UTC(2026, 10, 22, 4)) => ({
  event: { event_id, n },
  at: { partition: 0, offset: String(n), timestamp },
});

describe('dropRepeats', () => {
  it('drops ids seen before and repeats inside the batch, keeping the first and the order', () => {
    const rows = [row('a', 1), row('b', 2), row('A', 3), row('c', 4), row('b', 5), row('d', 6)];
    const { kept, dropped } = dropRepeats(rows, { has: (id: string) => id === 'c', windowMs: HOUR });
    expect(kept.map((r) => r.event.n)).toEqual([1, 2, 6]);
    expect(dropped).toBe(3);
  });

  it('judges repeats inside a batch by the window too, so batch boundaries change nothing', () => {
    const t = Date.UTC(2026, 10, 22, 4);
    const rows = [
      row('a', 1, t),
      row('a', 2, t + 30 * 60_000),
      row('a', 3, t + 2 * HOUR),
      row('a', 4, t + 2 * HOUR + 1),
    ];
    const { kept } = dropRepeats(rows, { has: () => false, windowMs: HOUR });
    // 2 is within an hour of 1; 3 is past it (counted again); 4 is within an hour of 3.
    expect(kept.map((r) => r.event.n)).toEqual([1, 3]);
  });
});
