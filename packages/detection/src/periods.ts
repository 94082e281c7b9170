/** Calendar periods in UTC, for quotas and cost thresholds: [start, end) around an event time. */
export type Period = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH';

const FIXED_MS: Record<Exclude<Period, 'MONTH'>, number> = {
  SECOND: 1_000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};

export function periodAround(at: number, period: Period): { start: number; end: number } {
  if (period === 'MONTH') {
    const d = new Date(at);
    return {
      start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
      end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
    };
  }
  const size = FIXED_MS[period];
  const start = Math.floor(at / size) * size;
  return { start, end: start + size };
}
