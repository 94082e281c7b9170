import { describe, expect, it } from 'vitest';
import { RecentIds } from './recentIds.ts';

describe('RecentIds', () => {
  it('remembers ids case-insensitively', () => {
    const ids = new RecentIds(60_000, 10);
    ids.add('AB-1', 0);
    expect(ids.has('ab-1')).toBe(true);
    expect(ids.has('ab-2')).toBe(false);
  });

  it('forgets the oldest beyond the count bound', () => {
    const ids = new RecentIds(60_000, 3);
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) ids.add(id, i);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(id))).toEqual([false, true, true, true]);
    expect(ids.size).toBe(3);
  });

  it('forgets ids older than the window', () => {
    const ids = new RecentIds(1_000, 100);
    ids.add('old', 0);
    ids.add('new', 1_500);
    expect(ids.has('old')).toBe(false);
    expect(ids.has('new')).toBe(true);
  });
});
