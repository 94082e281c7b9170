import { describe, expect, it } from 'vitest';
import { createWatermark } from './watermark.ts';

describe('createWatermark', () => {
  it('follows the slowest partition, lateness behind, and calls events at or behind it late', () => {
    const mark = createWatermark({ latenessMs: 5_000, idleMs: 60_000 });
    expect(mark.advance()).toBeUndefined();
    expect(mark.observe('a', 100_000)).toBe(true);
    expect(mark.advance()).toBe(95_000);
    expect(mark.observe('b', 90_000)).toBe(false); // behind the mark already: late
    expect(mark.observe('b', 97_000)).toBe(true); // partition 1 is behind partition 0: it holds the mark
    expect(mark.advance()).toBe(95_000);
    expect(mark.observe('a', 120_000)).toBe(true);
    expect(mark.advance()).toBe(95_000); // partition 1 is still at 97 s
    expect(mark.observe('b', 118_000)).toBe(true);
    expect(mark.advance()).toBe(113_000);
    expect(mark.observe('a', 113_000)).toBe(false); // out of order beyond the lateness: late
    expect(mark.observe('a', 113_001)).toBe(true); // inside it: on time
  });

  it('lets an idle partition stop holding the others back', () => {
    const mark = createWatermark({ latenessMs: 1_000, idleMs: 30_000 });
    mark.observe('a', 10_000);
    mark.observe('b', 10_000);
    mark.observe('a', 35_000);
    expect(mark.advance()).toBe(9_000); // partition 1 is 25 s behind: not idle yet
    mark.observe('a', 41_000);
    expect(mark.advance()).toBe(40_000); // 31 s behind: idle
  });

  it('moves on in a quiet stream when told nothing older is coming, never backwards', () => {
    const mark = createWatermark({ latenessMs: 2_000, idleMs: 60_000 });
    mark.quietUntil(50_000);
    expect(mark.advance()).toBeUndefined(); // nothing seen yet: no time to move
    mark.observe('a', 10_000);
    mark.observe('b', 12_000);
    mark.quietUntil(20_000);
    expect(mark.advance()).toBe(18_000);
    mark.quietUntil(15_000);
    expect(mark.advance()).toBe(18_000);
    expect(mark.observe('a', 17_000)).toBe(false);
  });
});
