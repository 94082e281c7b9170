import { describe, expect, it } from 'vitest';
import { createRepeatFilter } from './repeatFilter.ts';

describe('createRepeatFilter', () => {
  it('shows the first of a kind, holds repeats for the interval, then shows one with the count', () => {
    let t = 0;
    const filter = createRepeatFilter(10_000, () => t);
    expect(filter('refused')).toEqual({ show: true, repeated: 0 });
    for (let i = 0; i < 59; i++) {
      t += 100;
      expect(filter('refused').show).toBe(false);
    }
    expect(filter('other')).toEqual({ show: true, repeated: 0 });
    t = 10_000;
    expect(filter('refused')).toEqual({ show: true, repeated: 59 });
    t = 25_000;
    expect(filter('refused')).toEqual({ show: true, repeated: 0 });
  });
});
