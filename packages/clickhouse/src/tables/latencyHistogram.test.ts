import { describe, expect, it } from 'vitest';
import { histogramQuantiles, histogramTotal, LATENCY_HISTOGRAM } from './latencyHistogram.ts';

// The bucket index migration 0018 computes in SQL, mirrored to build histograms here.
function bucketOf(latencyMs: number): number {
  const { min, perOctave, buckets } = LATENCY_HISTOGRAM;
  const index = Math.floor(Math.log2(Math.max(latencyMs, min / 2) / min) * perOctave) + 1;
  return Math.min(buckets - 1, Math.max(0, index));
}

// As sumMap returns it: the buckets that hold values, ascending, and their counts.
function summarize(values: number[]) {
  const byBucket = new Map<number, number>();
  for (const v of values) byBucket.set(bucketOf(v), (byBucket.get(bucketOf(v)) ?? 0) + 1);
  const buckets = [...byBucket.keys()].sort((a, b) => a - b);
  return {
    buckets,
    counts: buckets.map((b) => byBucket.get(b)!),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

// A seeded generator, so a failure names a reproducible sample.
function lcg(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('histogramQuantiles', () => {
  it('is within 9.05 % of the exact quantile, for samples from 0.02 ms to 20 s', () => {
    const quantiles = [0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1];
    for (let seed = 1; seed <= 50; seed++) {
      const random = lcg(seed);
      const values = Array.from({ length: 500 }, () => 0.02 * 10 ** (random() * 6));
      const estimates = histogramQuantiles(summarize(values), quantiles)!;
      quantiles.forEach((q, i) => {
        const truth = exactQuantile(values, q);
        expect(Math.abs(estimates[i]! - truth) / truth, `seed ${seed} q ${q}`).toBeLessThanOrEqual(
          2 ** 0.125 - 1,
        );
      });
    }
  });

  it('is exact for a bucket of one value or of equal values', () => {
    expect(histogramQuantiles(summarize([7.25]), [0.5, 0.99])).toEqual([7.25, 7.25]);
    expect(histogramQuantiles(summarize([3, 3, 3, 3]), [0.5])).toEqual([3]);
  });

  it('keeps sub-0.016 ms latencies and zero within 0.008 ms, and the overflow bucket at its max', () => {
    const [p50] = histogramQuantiles(summarize([0, 0.001, 0.002, 0.012, 0.014]), [0.5])!;
    expect(Math.abs(p50! - 0.002)).toBeLessThan(0.008);
    expect(histogramQuantiles(summarize([1, 400_000, 900_000]), [1])).toEqual([900_000]);
  });

  it('returns null for an empty histogram, and counts what it holds', () => {
    const empty = { buckets: [], counts: [], min: Number.POSITIVE_INFINITY, max: 0 };
    expect(histogramQuantiles(empty, [0.5])).toBeNull();
    expect(histogramTotal(summarize([1, 2, 3]).counts)).toBe(3);
  });
});
