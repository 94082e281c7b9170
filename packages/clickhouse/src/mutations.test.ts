import { describe, expect, it } from 'vitest';
import { describeMutations, type RunningMutation } from './mutations.ts';

const materialize = (parts_to_do: number, latest_fail_reason = ''): RunningMutation => ({
  table: 'auth_decisions',
  mutation_id: 'mutation_7.txt',
  command: '(MATERIALIZE PROJECTION by_end_user)',
  parts_to_do,
  latest_fail_reason,
});

describe('describeMutations', () => {
  it('counts parts done against the most parts a mutation had left when first seen', () => {
    const seen = new Map<string, number>();
    expect(describeMutations([materialize(12)], seen)).toEqual([
      'auth_decisions: MATERIALIZE PROJECTION by_end_user, 0 of 12 parts done',
    ]);
    expect(describeMutations([materialize(5)], seen)).toEqual([
      'auth_decisions: MATERIALIZE PROJECTION by_end_user, 7 of 12 parts done',
    ]);
  });

  it('puts a multi-line command on one line, without the parentheses system.mutations adds, and says why the last attempt failed', () => {
    const m = {
      ...materialize(2, 'Memory limit exceeded'),
      command: '(MODIFY TTL\n  toDateTime(occurred_at) + toIntervalDay(30))',
    };
    expect(describeMutations([m], new Map())).toEqual([
      'auth_decisions: MODIFY TTL toDateTime(occurred_at) + toIntervalDay(30), 0 of 2 parts done; last attempt failed: Memory limit exceeded',
    ]);
  });
});
