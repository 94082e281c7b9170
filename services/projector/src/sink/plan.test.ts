import { describe, expect, it } from 'vitest';
import { dedupToken, formatPlanMetadata, nextBatchEnd, parsePlanMetadata } from './plan.ts';

const offsets = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => BigInt(from + i));

describe('deterministic batches', () => {
  it('round-trips a plan through offset metadata', () => {
    expect(parsePlanMetadata('100', formatPlanMetadata(149n), 3)).toEqual({
      first: 100n,
      last: 149n,
      slices: [{ partition: 3, first: 100n, last: 149n }],
    });
  });

  it('round-trips a plan of several partitions, read from any of them', () => {
    const slices = [
      { partition: 2, first: 7n, last: 9n },
      { partition: 0, first: 100n, last: 149n },
    ];
    const sorted = [slices[1]!, slices[0]!];
    expect(parsePlanMetadata('100', formatPlanMetadata(149n, slices), 0)).toEqual({
      first: 100n,
      last: 149n,
      slices: sorted,
    });
    expect(parsePlanMetadata('7', formatPlanMetadata(9n, slices), 2)?.slices).toEqual(sorted);
    // Committed against the wrong partition or offset, it is not this partition's plan.
    expect(parsePlanMetadata('7', formatPlanMetadata(9n, slices), 1)).toBeNull();
    expect(parsePlanMetadata('8', formatPlanMetadata(9n, slices), 2)).toBeNull();
  });

  it.each([
    null,
    '',
    'not json',
    '{"v":2,"last":"5"}',
    '{"v":1,"last":"50"}',
    '{"v":3,"last":"120"}',
    '{"v":2,"last":"120","batch":[[0,"100","120"]]}',
    '{"v":2,"last":"120","batch":[[0,"100","120"],[1,"x"]]}',
  ])('ignores metadata %j that is not a plan for the committed offset', (metadata) => {
    expect(parsePlanMetadata('100', metadata, 0)).toBeNull();
  });

  it('without a plan takes up to maxEvents messages', () => {
    expect(nextBatchEnd(offsets(0, 9), 0, 4, null)).toBe(3);
    expect(nextBatchEnd(offsets(0, 9), 8, 4, null)).toBe(9);
  });

  it('with a plan ends exactly at the planned offset, whatever the fetch brought', () => {
    const plan = { first: 10n, last: 14n };
    expect(nextBatchEnd(offsets(10, 30), 0, 1000, plan)).toBe(4);
    expect(nextBatchEnd(offsets(10, 12), 0, 1000, plan)).toBe(-1); // wait for more
  });

  it('a plan for another offset does not apply', () => {
    expect(nextBatchEnd(offsets(20, 30), 0, 5, { first: 10n, last: 14n })).toBe(4);
  });

  it('a planned last offset that vanished (transaction marker) ends the batch before it', () => {
    expect(nextBatchEnd([10n, 11n, 13n, 14n], 0, 100, { first: 10n, last: 12n })).toBe(1);
  });

  it('names the batch by topic, partitions and offsets', () => {
    expect(dedupToken('keytrail.auth-decisions', [{ partition: 2, first: 100n, last: 149n }])).toBe(
      'keytrail.auth-decisions/2/100-149',
    );
    const slices = [
      { partition: 1, first: 5n, last: 9n },
      { partition: 0, first: 100n, last: 149n },
    ];
    expect(dedupToken('t', slices)).toBe('t/0/100-149+1/5-9');
    expect(dedupToken('t', [...slices].reverse())).toBe('t/0/100-149+1/5-9');
  });
});
