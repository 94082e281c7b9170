import { describe, expect, it } from 'vitest';
import { RecordRing } from './ring.ts';

describe('RecordRing', () => {
  it('keeps order across wrap-around, refuses when full, and frees taken slots', () => {
    const ring = new RecordRing<string>(3);
    expect(ring.push('a', 1, 1)).toBe(true);
    expect(ring.push('b', 0, 2)).toBe(true);
    expect(ring.take(1)).toEqual([{ item: 'a', tag: 1, at: 1 }]);
    expect(ring.push('c', 1, 3)).toBe(true);
    expect(ring.push('d', 0, 4)).toBe(true);
    expect(ring.push('e', 1, 5)).toBe(false);
    expect(ring.size).toBe(3);
    expect(ring.take(10)).toEqual([
      { item: 'b', tag: 0, at: 2 },
      { item: 'c', tag: 1, at: 3 },
      { item: 'd', tag: 0, at: 4 },
    ]);
    expect(ring.size).toBe(0);
    expect(ring.take(5)).toEqual([]);
    expect(ring.push('f', 0, 6)).toBe(true);
    expect(ring.take(5)).toEqual([{ item: 'f', tag: 0, at: 6 }]);
  });
});
