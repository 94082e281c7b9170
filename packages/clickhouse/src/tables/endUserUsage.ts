import type { ClickHouseDriver } from '../driver/types.ts';

export interface EndUserUsage {
  end_user_id: string;
  requests: number;
  billable_requests: number;
  cost: number;
}

/** Billable usage per end user (live keys only) over [fromDay, toDay). */
export function getEndUserUsage(
  ch: ClickHouseDriver,
  params: { workspaceId: string; fromDay: string; toDay: string },
): Promise<EndUserUsage[]> {
  return ch.query<EndUserUsage>(
    `SELECT end_user_id, sum(requests) AS requests, sum(billable_requests) AS billable_requests, sum(cost) AS cost
     FROM end_user_usage_day
     WHERE workspace_id = {workspaceId:String} AND day >= {fromDay:Date} AND day < {toDay:Date}
     GROUP BY end_user_id
     ORDER BY end_user_id`,
    params,
  );
}
