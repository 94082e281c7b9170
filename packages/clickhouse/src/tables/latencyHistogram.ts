/**
 * The key usage rollups' latency histogram (migration 0018): fixed log-scale buckets, four per
 * octave, stored sparse, so merging buckets is adding counters and a quantile is found by walking them. Each
 * bucket spans a factor of 2^(1/4); its geometric middle is within 2^(1/8) - 1 = 9.05 % of any
 * value in it, and estimates are clamped to the observed min and max (so a bucket of one value,
 * or of equal values, is exact). Below 2^-6 ms (bucket 0) the error is under 0.008 ms instead.
 */
export const LATENCY_HISTOGRAM = {
  /** Lower bound of bucket 1 in ms (bucket 0 holds everything below it). */
  min: 2 ** -6,
  perOctave: 4,
  /** Buckets 0..97: the last one holds everything from min × 2^((buckets - 2) / perOctave) ms. */
  buckets: 98,
} as const;

/** The geometric middle of bucket `i` in ms (the middle of [0, min) for bucket 0). */
function bucketMiddle(i: number): number {
  const { min, perOctave } = LATENCY_HISTOGRAM;
  return i === 0 ? min / 2 : min * 2 ** ((i - 0.5) / perOctave);
}

export interface LatencySummary {
  /** The buckets that hold latencies, ascending, and how many each holds (sumMap's pair). */
  buckets: readonly number[];
  counts: readonly number[];
  /** Smallest and largest latency seen (clamp the estimates). */
  min: number;
  max: number;
}

/**
 * Quantiles (each in (0, 1]) of the latencies a histogram counts, or null when it counts none.
 * The q-quantile is the value of rank ⌈q × n⌉; its estimate is the geometric middle of the bucket
 * that holds that rank (as DDSketch does: the middle bounds the relative error, where
 * interpolating inside a bucket could be off by its whole width), clamped to [min, max].
 */
export function histogramQuantiles(summary: LatencySummary, quantiles: readonly number[]): number[] | null {
  const total = histogramTotal(summary.counts);
  if (total === 0) return null;
  return quantiles.map((q) => {
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    let bucket = summary.buckets.at(-1)!;
    for (let i = 0; i < summary.counts.length; i++) {
      seen += summary.counts[i]!;
      if (seen >= rank) {
        bucket = summary.buckets[i]!;
        break;
      }
    }
    // The open-ended last bucket has no middle: its values are bounded by max alone.
    const estimate = bucket === LATENCY_HISTOGRAM.buckets - 1 ? summary.max : bucketMiddle(bucket);
    return Math.min(summary.max, Math.max(summary.min, estimate));
  });
}

/** How many latencies a histogram counts (to tell a complete bucket from one written before 0018). */
export function histogramTotal(counts: readonly number[]): number {
  return counts.reduce((sum, c) => sum + c, 0);
}
