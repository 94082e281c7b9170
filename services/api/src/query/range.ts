import { parseClickHouseTime } from '@keytrail/clickhouse';
import { KeytrailError } from '@keytrail/core';

/** A ClickHouse time as the API writes times: RFC 3339 with milliseconds, UTC. */
export const isoTime = (t: string): string => parseClickHouseTime(t).toISOString();

export type Granularity = 'minute' | 'hour' | 'day';
export const GRANULARITY_MS: Record<Granularity, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};
/** A range may hold at most this many buckets (a week of minutes, a year of hours). */
export const MAX_BUCKETS = 10_080;

const invalid = (path: string, message: string) =>
  new KeytrailError('VALIDATION_FAILED', `${path}: ${message}`, { details: [{ path, message }] });

/** `from` and `to` (RFC 3339, checked by the route schema) as Dates, `from` strictly first. */
export function parseRange(query: { from: string; to: string }): { from: Date; to: Date } {
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (Number.isNaN(from.getTime())) throw invalid('from', 'is not an RFC 3339 time');
  if (Number.isNaN(to.getTime())) throw invalid('to', 'is not an RFC 3339 time');
  if (!(from < to)) throw invalid('from', 'must be before "to"');
  return { from, to };
}

/** Refuses a range of more than MAX_BUCKETS buckets (counting a bucket the range cuts into). */
export function checkBuckets(range: { from: Date; to: Date }, granularity: Granularity): void {
  const step = GRANULARITY_MS[granularity];
  const buckets = Math.ceil((range.to.getTime() - Math.floor(range.from.getTime() / step) * step) / step);
  if (buckets > MAX_BUCKETS)
    throw invalid(
      'granularity',
      `the range holds ${buckets} ${granularity} buckets, more than ${MAX_BUCKETS}; use a coarser granularity or a shorter range`,
    );
}
