import type { ClickHouseDriver } from '../driver/types.ts';

export type BillingPeriod = 'day' | 'month';
export type BillingFormat = 'csv' | 'ndjson';

// Fixed statements per period and format (tables and columns from the closed maps below); values
// are bound. Each reads the rollup whose primary key starts (workspace_id, period, end_user_id),
// and a page is a range of that key: its end is the key of the page-size-th row after the cursor,
// read in key order (so ClickHouse stops there), and the page aggregates that range alone. A
// LIMIT on the aggregation did not stop the scan (the sort after it read every row after the
// cursor, so the first pages of a month cost 3 to 4 times the last).
const BILLING_ROLLUPS = {
  // The day rollup keeps key_id in its key; the month rollup keeps the keys as a uniqExact state.
  day: { table: 'billing_usage_day', period: 'day', keys: 'uniqExact(key_id)' },
  month: { table: 'billing_usage_month', period: 'month', keys: 'uniqExactMerge(keys)' },
} as const satisfies Record<BillingPeriod, { table: string; period: string; keys: string }>;
type BillingRollup = (typeof BILLING_ROLLUPS)[BillingPeriod];

// The CSV cell of an end user id (RFC 4180 quoting), after OWASP's CSV-injection rule: a cell a
// spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) gets a
// leading apostrophe, so `=HYPERLINK(…)` shows as text. The other columns are dates and numbers.
const NEUTRALISED_END_USER = `if(match(end_user_id, '^[=+\\-@\\t\\r]'), concat('''', end_user_id), end_user_id)`;
const CSV_END_USER = `if(match(${NEUTRALISED_END_USER}, '[",\\r\\n]'),
       concat('"', replaceAll(${NEUTRALISED_END_USER}, '"', '""'), '"'), ${NEUTRALISED_END_USER})`;
/** Each row as its output line, less the newline the driver adds (so CSV lines end in CRLF). */
const LINE: Record<BillingFormat, string> = {
  csv: `concat(period_start, ',', ${CSV_END_USER}, ',', toString(billable_requests), ',',
               toString(cost_micros), ',', toString(keys), '\\r')`,
  ndjson: `formatRowNoNewline('JSONEachRow', period_start, end_user_id, billable_requests, cost_micros, keys)`,
};
/** The first line of a CSV export. */
export const BILLING_CSV_HEADER = 'period_start,end_user_id,billable_requests,cost_micros,keys\r\n';

const inRangeAfter = ({ table, period }: BillingRollup) =>
  `FROM ${table}
     WHERE workspace_id = {workspaceId:String} AND ${period} >= {fromDay:Date} AND ${period} < {toDay:Date}
       AND (${period} > {afterPeriod:Date} OR (${period} = {afterPeriod:Date} AND end_user_id > {afterUser:String}))`;
const upToPageEnd = ({ period }: BillingRollup) => `
       AND (${period} < {untilPeriod:Date} OR (${period} = {untilPeriod:Date} AND end_user_id <= {untilUser:String}))`;
// An end user whose live traffic was all refused at no cost has nothing to bill: no row. (HAVING
// is cheap here: a page is a bounded range, not a scan that a LIMIT has to stop.)
const pageLines = (format: BillingFormat, rollup: BillingRollup, upTo: string) =>
  `SELECT ${LINE[format]} FROM (
     SELECT toString(${rollup.period}) AS period_start, end_user_id,
            sum(billable_requests) AS billable_requests, sum(cost) AS cost_micros, ${rollup.keys} AS keys
     ${inRangeAfter(rollup)}${upTo}
     GROUP BY workspace_id, ${rollup.period}, end_user_id
     HAVING billable_requests > 0 OR cost_micros != 0
     ORDER BY workspace_id, ${rollup.period}, end_user_id
     LIMIT {left:UInt32})`;

type PerPeriod = Record<BillingPeriod, string>;
const perPeriod = (build: (rollup: BillingRollup) => string): PerPeriod => ({
  day: build(BILLING_ROLLUPS.day),
  month: build(BILLING_ROLLUPS.month),
});
const perFormat = (build: (format: BillingFormat) => PerPeriod): Record<BillingFormat, PerPeriod> => ({
  csv: build('csv'),
  ndjson: build('ndjson'),
});
/** The (period, end user) of the `skip`+1-th row after the cursor: where a page ends. */
const BILLING_PAGE_END_SQL = perPeriod(
  (rollup) => `SELECT toString(${rollup.period}) AS period_start, end_user_id
     ${inRangeAfter(rollup)}
     ORDER BY workspace_id, ${rollup.period}, end_user_id
     LIMIT 1 OFFSET {skip:UInt32}`,
);
/** A page: the rows after the cursor up to the page's end, inclusive. */
const BILLING_PAGE_SQL = perFormat((format) =>
  perPeriod((rollup) => pageLines(format, rollup, upToPageEnd(rollup))),
);
/** The last page: fewer rows than a page remain after the cursor. */
const BILLING_TAIL_SQL = perFormat((format) => perPeriod((rollup) => pageLines(format, rollup, '')));
// In key order; JSON lines as JSON.stringify writes them (forward slashes not escaped).
const PAGE_SETTINGS = { optimize_aggregation_in_order: 1, output_format_json_escape_forward_slashes: 0 };

/** Whether `day` (YYYY-MM-DD) is the first day of a month: a monthly export's bounds must be. */
export function isMonthStart(day: string): boolean {
  return day.endsWith('-01');
}

/**
 * The billing export's lines one page at a time (CSV without its header, BILLING_CSV_HEADER; or
 * NDJSON), one line per (period, end user; '' = usage no end user was attributed to), in
 * (period_start, end_user_id) order, so a month of a million end users streams with flat memory
 * and the embedded engine is free between pages. ClickHouse builds every line: no row is parsed
 * or formatted here. Days are UTC; [fromDay, toDay). A monthly export takes whole months: both
 * bounds are first days of a month (isMonthStart), which the caller checks.
 */
export async function* pageBillingExport(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    fromDay: string;
    toDay: string;
    period: BillingPeriod;
    format: BillingFormat;
    /** Rollup rows a page reads (so at most this many lines). */
    pageSize?: number;
    /** Stop after this many rows (a preview); every row of the range when absent. */
    limit?: number;
  },
): AsyncIterable<string> {
  let left = params.limit ?? 2 ** 32 - 1;
  const pageSize = Math.min(params.pageSize ?? 50_000, left);
  if (params.period === 'month' && !(isMonthStart(params.fromDay) && isMonthStart(params.toDay)))
    throw new Error(`a monthly billing export takes whole months, not ${params.fromDay}..${params.toDay}`);
  // The first page starts after (1970-01-01, ''): before any period the range can hold.
  let after = { afterPeriod: '1970-01-01', afterUser: '' };
  const range = { workspaceId: params.workspaceId, fromDay: params.fromDay, toDay: params.toDay };
  for (;;) {
    const [end] = await ch.queryTabSeparated(BILLING_PAGE_END_SQL[params.period], {
      ...range,
      ...after,
      skip: pageSize - 1,
    });
    const lines = await ch.queryLines(
      (end ? BILLING_PAGE_SQL : BILLING_TAIL_SQL)[params.format][params.period],
      { ...range, ...after, left, ...(end ? { untilPeriod: end[0]!, untilUser: end[1]! } : {}) },
      PAGE_SETTINGS,
    );
    if (lines.length > 0) {
      yield lines;
      left -= countLines(lines);
    }
    if (!end || left <= 0) return;
    after = { afterPeriod: end[0]!, afterUser: end[1]! };
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
