import { describe, expect, it } from 'vitest';
import { dropRepeats } from './dedupe.ts';

const row = (event_id: string, n: number) => ({
  event: { event_id, n },
  at: { partition: 0, offset: String(n), timestamp: Date.UTC(2026, 10, 22, 4) },
});

describe('dropRepeats', () => {
  it('drops ids seen before and repeats inside the batch, keeping the first and the order', () => {
    const rows = [row('a', 1), row('b', 2), row('A', 3), row('c', 4), row('b', 5), row('d', 6)];
    const { kept, dropped } = dropRepeats(rows, { has: (id: string) => id === 'c' });
    expect(kept.map((r) => r.event.n)).toEqual([1, 2, 6]);
    expect(dropped).toBe(3);
  });
});
