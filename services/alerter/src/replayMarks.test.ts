import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint, ReplayMarks } from './replayMarks.ts';

describe('ReplayMarks', () => {
  it('restart at the newest mark at or before the cutoff, so every later event is read again', () => {
    const marks = new ReplayMarks(100n);
    // Offsets 100.. with event times in seconds, one out of order (105 at 2.5 s).
    const times = [1_000, 1_500, 2_000, 3_000, 4_000, 2_500, 5_000, 6_000];
    times.forEach((at, i) => {
      marks.saw(at, 100n + BigInt(i));
    });
    expect(marks.replayFrom(500)).toBe(100n); // nothing passed yet: where the run began
    expect(marks.replayFrom(3_000)).toBe(103n); // the mark of 3 s
    // Every event after the cutoff is at or after the offset returned.
    times.forEach((at, i) => {
      if (at > 3_000) expect(100n + BigInt(i)).toBeGreaterThanOrEqual(103n);
    });
    expect(marks.replayFrom(2_000)).toBe(103n); // never backwards
    expect(marks.replayFrom(10_000)).toBe(107n);
  });
});

describe('checkpoints', () => {
  it('round-trip, and anything else reads as no checkpoint', () => {
    expect(parseCheckpoint(formatCheckpoint({ watermark: 123 }))).toEqual({ watermark: 123 });
    expect(parseCheckpoint(null)).toEqual({});
    expect(parseCheckpoint('{"first":"5"}')).toEqual({});
    expect(parseCheckpoint('not json')).toEqual({});
  });
});
