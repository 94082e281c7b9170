import { describe, expect, it } from 'vitest';
import { parseTabSeparated } from './types.ts';

describe('parseTabSeparated', () => {
  it('splits rows and fields and undoes ClickHouse’s backslash escapes', () => {
    const text = "2026-11-01\teu_1\t5\n2026-11-01\ta\\\\b\\tc\\nd\\'e\\0\t7\n";
    expect(parseTabSeparated(text)).toEqual([
      ['2026-11-01', 'eu_1', '5'],
      ['2026-11-01', "a\\b\tc\nd'e\0", '7'],
    ]);
  });

  it('keeps empty fields and returns nothing for an empty result', () => {
    expect(parseTabSeparated('2026-11-01\t\t0\n')).toEqual([['2026-11-01', '', '0']]);
    expect(parseTabSeparated('')).toEqual([]);
  });
});
