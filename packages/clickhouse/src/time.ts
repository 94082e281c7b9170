/** Epoch ms → the text ClickHouse reads into DateTime64(3) ("1795320000.123"). */
export function toDateTime64Text(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function nullableTime(ms: number | null): string | null {
  return ms === null ? null : toDateTime64Text(ms);
}

/** ClickHouse's ISO output ("2026-11-22T04:00:00.000Z" with date_time_output_format=iso) → Date. */
export function parseClickHouseTime(value: string): Date {
  return new Date(value.endsWith('Z') ? value : `${value.replace(' ', 'T')}Z`);
}
