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

// Fixed statements per period (a closed map); values are bound. Keyset paging on
// (period_start, end_user_id), which is also the export's order.
const BILLING_SQL: Record<BillingPeriod, string> = Object.fromEntries(
  (['day', 'month'] as const).map((period) => [
    period,
    `SELECT toString(${period === 'day' ? 'day' : 'toStartOfMonth(day)'}) AS period_start, end_user_id,
            sum(billable_requests) AS billable_requests, sum(cost) AS cost_micros, uniqExact(key_id) AS keys
     FROM billing_usage_day
     WHERE workspace_id = {workspaceId:String} AND day >= {fromDay:Date} AND day < {toDay:Date}
     GROUP BY period_start, end_user_id
     HAVING (period_start, end_user_id) > ({afterPeriod:String}, {afterUser:String})
     ORDER BY period_start, end_user_id
     LIMIT {limit:UInt32}`,
  ]),
) as Record<BillingPeriod, string>;

/**
 * The billing export one page at a time, in (period_start, end_user_id) order, so a month of a
 * million end users streams with flat memory, and the embedded engine is free between pages.
 * Days are UTC; [fromDay, toDay).
 */
export async function* pageBillingExport(
  ch: ClickHouseDriver,
  params: { workspaceId: string; fromDay: string; toDay: string; period: BillingPeriod; pageSize?: number },
): AsyncIterable<BillingRow[]> {
  const limit = params.pageSize ?? 10_000;
  let after = { afterPeriod: '', afterUser: '' };
  for (;;) {
    const page = await ch.query<BillingRow>(BILLING_SQL[params.period], {
      workspaceId: params.workspaceId,
      fromDay: params.fromDay,
      toDay: params.toDay,
      ...after,
      limit,
    });
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    const last = page.at(-1)!;
    after = { afterPeriod: last.period_start, afterUser: last.end_user_id };
  }
}
