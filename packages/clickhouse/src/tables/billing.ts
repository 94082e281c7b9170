import type { ClickHouseDriver } from '../driver/types.ts';

export type BillingPeriod = 'day' | 'month';

/** One row of a billing export: a period and an end user ('' = usage no end user was attributed to). */
export interface BillingRow {
  period_start: string;
  end_user_id: string;
  billable_requests: number;
  cost_micros: number;
  keys: number;
}

// One fixed statement per period (table and column from the closed map below); values are bound. Each reads the rollup whose
// primary key starts (workspace_id, period, end_user_id) and pages by keyset on that prefix in
// WHERE, so ClickHouse aggregates in key order and a page stops at its LIMIT: a page costs its
// own rows, not the whole period's (the export's order is the key's order too). No HAVING: it
// stops ClickHouse from ending the scan at the LIMIT, so empty rows are dropped here instead.
const BILLING_ROLLUPS = {
  // The day rollup keeps key_id in its key; the month rollup keeps the keys as a uniqExact state.
  day: { table: 'billing_usage_day', period: 'day', keys: 'uniqExact(key_id)' },
  month: { table: 'billing_usage_month', period: 'month', keys: 'uniqExactMerge(keys)' },
} as const satisfies Record<BillingPeriod, { table: string; period: string; keys: string }>;
const BILLING_SQL = Object.fromEntries(
  Object.entries(BILLING_ROLLUPS).map(([name, { table, period, keys }]) => [
    name,
    `SELECT toString(${period}) AS period_start, end_user_id,
            sum(billable_requests) AS billable_requests, sum(cost) AS cost_micros, ${keys} AS keys
     FROM ${table}
     WHERE workspace_id = {workspaceId:String} AND ${period} >= {fromDay:Date} AND ${period} < {toDay:Date}
       AND (${period}, end_user_id) > ({afterPeriod:Date}, {afterUser:String})
     GROUP BY ${period}, end_user_id
     ORDER BY ${period}, end_user_id
     LIMIT {limit:UInt32}`,
  ]),
) as Record<BillingPeriod, string>;
const IN_KEY_ORDER = { optimize_aggregation_in_order: 1 };

/** Whether `day` (YYYY-MM-DD) is the first day of a month: a monthly export's bounds must be. */
export function isMonthStart(day: string): boolean {
  return day.endsWith('-01');
}

/**
 * The billing export one page at a time, in (period_start, end_user_id) order, so a month of a
 * million end users streams with flat memory, and the embedded engine is free between pages.
 * Days are UTC; [fromDay, toDay). A monthly export takes whole months: both bounds are first
 * days of a month (isMonthStart), which the caller checks.
 */
export async function* pageBillingExport(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    fromDay: string;
    toDay: string;
    period: BillingPeriod;
    pageSize?: number;
    /** Stop after this many rows (a preview); every row of the range when absent. */
    limit?: number;
  },
): AsyncIterable<BillingRow[]> {
  let left = params.limit ?? Number.POSITIVE_INFINITY;
  const limit = Math.min(params.pageSize ?? 50_000, left);
  if (params.period === 'month' && !(isMonthStart(params.fromDay) && isMonthStart(params.toDay)))
    throw new Error(`a monthly billing export takes whole months, not ${params.fromDay}..${params.toDay}`);
  // The first page starts after (1970-01-01, ''): before any period the range can hold.
  let after = { afterPeriod: '1970-01-01', afterUser: '' };
  for (;;) {
    // TabSeparated, not JSON: a page is up to 50,000 rows, and JSON cost more than the query.
    const page = await ch.queryTabSeparated(
      BILLING_SQL[params.period],
      { workspaceId: params.workspaceId, fromDay: params.fromDay, toDay: params.toDay, ...after, limit },
      IN_KEY_ORDER,
    );
    const rows: BillingRow[] = [];
    for (const [period_start, end_user_id, billable, cost, keys] of page) {
      const row = {
        period_start: period_start!,
        end_user_id: end_user_id!,
        billable_requests: Number(billable),
        cost_micros: Number(cost),
        keys: Number(keys),
      };
      // An end user whose live traffic was all refused at no cost has nothing to bill: no row.
      if (row.billable_requests > 0 || row.cost_micros !== 0) rows.push(row);
    }
    if (rows.length > left) rows.length = left;
    left -= rows.length;
    if (rows.length > 0) yield rows;
    if (page.length < limit || left <= 0) return;
    const last = page.at(-1)!;
    after = { afterPeriod: last[0]!, afterUser: last[1]! };
  }
}
