import { describe, expect, it } from 'vitest';
import { RecentIds } from './recentIds.ts';

describe('RecentIds', () => {
  it('remembers ids case-insensitively', () => {
    const ids = new RecentIds(60_000, 10);
    ids.add('AB-1', 0);
    expect(ids.has('ab-1', 0)).toBe(true);
    expect(ids.has('ab-2', 0)).toBe(false);
  });

  it('forgets the oldest beyond the count bound', () => {
    const ids = new RecentIds(60_000, 3);
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) ids.add(id, i);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(id, 3))).toEqual([false, true, true, true]);
    expect(ids.size).toBe(3);
  });

  it('forgets ids older than the window', () => {
    const ids = new RecentIds(1_000, 100);
    ids.add('old', 0);
    expect(ids.has('old', 900)).toBe(true);
    expect(ids.has('old', 1_100)).toBe(false); // judged by the time of the message asking
    ids.add('new', 1_500);
    expect(ids.has('new', 1_500)).toBe(true);
  });
});
