import { describe, expect, it } from 'vitest';
import { assignPartitions } from './assigner.ts';

const partitions = (topic: string, count: number) =>
  Array.from({ length: count }, (_, partition) => ({ topic, partition }));
const all = [...partitions('decisions', 6), ...partitions('lifecycle', 2)];

describe('plan-aware assignment', () => {
  it('spreads partitions evenly when no batch is pending', () => {
    const assignment = assignPartitions(['b', 'a'], all, []);
    expect(assignment.get('a')).toEqual({ decisions: [0, 2, 4], lifecycle: [0] });
    expect(assignment.get('b')).toEqual({ decisions: [1, 3, 5], lifecycle: [1] });
  });

  it('gives every partition of a pending batch to one member, and balances the rest around it', () => {
    const pending = [{ topic: 'decisions', partitions: [1, 3, 4] }];
    const assignment = assignPartitions(['a', 'b', 'c'], all, pending);
    const holders = [...assignment].filter(([, topics]) =>
      [1, 3, 4].some((p) => topics.decisions?.includes(p)),
    );
    expect(holders).toHaveLength(1);
    expect(holders[0]![1].decisions).toEqual(expect.arrayContaining([1, 3, 4]));
    const counts = [...assignment.values()].map((t) => Object.values(t).flat().length).sort();
    expect(counts).toEqual([3, 3, 2].sort());
    // Every partition exactly once.
    const given = [...assignment.values()].flatMap((t) =>
      Object.entries(t).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`)),
    );
    expect(given.sort()).toEqual(all.map((p) => `${p.topic}/${p.partition}`).sort());
  });

  it('is the same whoever computes it, and ignores partitions that no longer exist', () => {
    const pending = [{ topic: 'decisions', partitions: [0, 5, 9] }];
    const first = assignPartitions(['m2', 'm1'], all, pending);
    const second = assignPartitions(['m1', 'm2'], [...all].reverse(), pending);
    expect([...first]).toEqual([...second]);
    expect(Object.values(Object.fromEntries(first)).some((t) => t.decisions?.includes(9))).toBe(false);
  });
});
