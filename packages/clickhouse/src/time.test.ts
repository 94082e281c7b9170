import { describe, expect, it } from 'vitest';
import { parseClickHouseTime, toDateTime64Text } from './time.ts';

describe('DateTime64 text', () => {
  it.each([0, Date.UTC(2000, 2, 1, 12, 0, 0, 5), Date.UTC(2026, 10, 22, 4, 0, 0, 123)])(
    'round-trips %i ms unambiguously',
    (ms) => {
      const text = toDateTime64Text(ms);
      expect(text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(parseClickHouseTime(text).getTime()).toBe(ms);
    },
  );

  it('reads ClickHouse ISO output', () => {
    expect(parseClickHouseTime('2026-11-22T04:00:00.123Z').getTime()).toBe(
      Date.UTC(2026, 10, 22, 4, 0, 0, 123),
    );
    expect(parseClickHouseTime('2026-11-22 04:00:00').getTime()).toBe(Date.UTC(2026, 10, 22, 4));
  });
});
