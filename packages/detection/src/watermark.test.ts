import { describe, expect, it } from 'vitest';
import { createWatermark } from './watermark.ts';

describe('createWatermark', () => {
  it('follows the slowest partition, lateness behind, and calls events at or behind it late', () => {
    const mark = createWatermark({ latenessMs: 5_000, idleMs: 60_000 });
    expect(mark.current()).toBeUndefined();
    expect(mark.observe('a', 100_000)).toBe(true);
    expect(mark.current()).toBe(95_000);
    expect(mark.observe('b', 90_000)).toBe(false); // behind the mark already: late
    expect(mark.observe('b', 97_000)).toBe(true); // partition 1 is behind partition 0: it holds the mark
    expect(mark.current()).toBe(95_000);
    expect(mark.observe('a', 120_000)).toBe(true);
    expect(mark.current()).toBe(95_000); // partition 1 is still at 97 s
    expect(mark.observe('b', 118_000)).toBe(true);
    expect(mark.current()).toBe(113_000);
    expect(mark.observe('a', 113_000)).toBe(false); // out of order beyond the lateness: late
    expect(mark.observe('a', 113_001)).toBe(true); // inside it: on time
  });

  it('lets an idle partition stop holding the others back', () => {
    const mark = createWatermark({ latenessMs: 1_000, idleMs: 30_000 });
    mark.observe('a', 10_000);
    mark.observe('b', 10_000);
    mark.observe('a', 35_000);
    expect(mark.current()).toBe(9_000); // partition 1 is 25 s behind: not idle yet
    mark.observe('a', 41_000);
    expect(mark.current()).toBe(40_000); // 31 s behind: idle
  });
});
