/**
 * Epoch ms → the text ClickHouse reads into DateTime64(3, 'UTC'): "2026-11-22 04:00:00.123".
 * Not epoch seconds: ClickHouse takes a short number such as "0.000" for a malformed date.
 */
export function toDateTime64Text(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** ClickHouse's ISO output ("2026-11-22T04:00:00.000Z" with date_time_output_format=iso) → Date. */
export function parseClickHouseTime(value: string): Date {
  return new Date(value.endsWith('Z') ? value : `${value.replace(' ', 'T')}Z`);
}
