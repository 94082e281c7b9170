import type { AlertEvent } from '@keytrail/events';
import type { ClickHouseDriver } from '../driver/types.ts';
import { toDateTime64Text } from '../time.ts';

const CHANGE_RANK = { FIRED: 0, UPDATED: 1, RESOLVED: 2 } as const;

/** Writes alert changes as the alerts table keeps them (the latest change of each alert wins). */
export function insertAlertEvents(ch: ClickHouseDriver, events: readonly AlertEvent[]): Promise<void> {
  if (events.length === 0) return Promise.resolve();
  return ch.insert(
    'alerts',
    events.map((e) => ({
      workspace_id: e.workspace_id,
      alert_id: e.alert_id,
      kind: e.kind,
      status: e.status,
      severity: e.severity,
      key_id: e.scope.key_id ?? '',
      key_prefix: e.scope.key_prefix ?? '',
      client_ip: e.scope.client_ip ?? '',
      end_user_id: e.scope.end_user_id ?? '',
      started_at: toDateTime64Text(e.started_at),
      detected_at: toDateTime64Text(e.detected_at),
      updated_at: toDateTime64Text(e.updated_at),
      resolved_at: e.resolved_at === null ? null : toDateTime64Text(e.resolved_at),
      summary: e.summary,
      evidence: JSON.stringify(e.evidence),
      version: e.updated_at * 4 + CHANGE_RANK[e.change],
    })),
  );
}

/** An alert as the alerts table holds it (times as ClickHouse returns them, evidence as JSON). */
export interface AlertRow {
  alert_id: string;
  workspace_id: string;
  kind: string;
  status: string;
  severity: string;
  key_id: string;
  key_prefix: string;
  client_ip: string;
  end_user_id: string;
  started_at: string;
  detected_at: string;
  updated_at: string;
  resolved_at: string | null;
  summary: string;
  evidence: string;
}

/** Where a page of alerts starts: after this (detected_at, alert_id), newest first. */
export interface AlertsCursor {
  detectedAt: Date;
  alertId: string;
}

/**
 * A workspace's alerts detected in [from, to), newest first, one page after `after`. The table
 * is small (alerts, not decisions): FINAL merges each alert's versions at read time.
 */
export function listAlerts(
  ch: ClickHouseDriver,
  params: {
    workspaceId: string;
    from: Date;
    to: Date;
    status?: 'FIRING' | 'RESOLVED' | undefined;
    kind?: string | undefined;
    /** Only alerts whose scope names this key, source address or key prefix. */
    keyId?: string | undefined;
    clientIp?: string | undefined;
    keyPrefix?: string | undefined;
    after?: AlertsCursor | undefined;
    limit: number;
  },
): Promise<AlertRow[]> {
  return ch.query<AlertRow>(
    `SELECT alert_id, workspace_id, kind, status, severity, key_id, key_prefix, client_ip, end_user_id,
            started_at, detected_at, updated_at, resolved_at, summary, evidence
     FROM alerts FINAL
     WHERE workspace_id = {workspaceId:String}
       AND detected_at >= {from:DateTime64(3, 'UTC')} AND detected_at < {to:DateTime64(3, 'UTC')}
       AND ({status:String} = '' OR status = {status:String})
       AND ({kind:String} = '' OR kind = {kind:String})
       AND ({keyId:String} = '' OR key_id = {keyId:String})
       AND ({clientIp:String} = '' OR client_ip = {clientIp:String})
       AND ({keyPrefix:String} = '' OR key_prefix = {keyPrefix:String})
       AND (detected_at, alert_id) < ({afterAt:DateTime64(3, 'UTC')}, {afterId:String})
     ORDER BY detected_at DESC, alert_id DESC
     LIMIT {limit:UInt32}`,
    {
      workspaceId: params.workspaceId,
      from: params.from,
      to: params.to,
      status: params.status ?? '',
      kind: params.kind ?? '',
      keyId: params.keyId ?? '',
      clientIp: params.clientIp ?? '',
      keyPrefix: params.keyPrefix ?? '',
      afterAt: params.after ? params.after.detectedAt : params.to,
      afterId: params.after ? params.after.alertId : '\uffff',
      limit: params.limit,
    },
  );
}

/** Rule changes of a workspace (kinds it never changed have none). */
export function listAlertRuleChanges(
  ch: ClickHouseDriver,
  workspaceId?: string,
): Promise<{ workspace_id: string; kind: string; settings: string; updated_at: string }[]> {
  return ch.query(
    `SELECT workspace_id, kind, settings, updated_at FROM alert_rules FINAL
     WHERE {workspaceId:String} = '' OR workspace_id = {workspaceId:String}
     ORDER BY workspace_id, kind`,
    { workspaceId: workspaceId ?? '' },
  );
}

export function writeAlertRule(
  ch: ClickHouseDriver,
  rule: { workspace_id: string; kind: string; settings: object; updated_by: string; at: number },
): Promise<void> {
  return ch.insert('alert_rules', [
    {
      workspace_id: rule.workspace_id,
      kind: rule.kind,
      settings: JSON.stringify(rule.settings),
      updated_at: toDateTime64Text(rule.at),
      updated_by: rule.updated_by,
      version: rule.at,
    },
  ]);
}
