import { type AlertEvent, alertEventId } from '@keytrail/events';
import type { Alert, AlertChange, AlertScope } from './types.ts';

/** The event an alert change is published as on keytrail.alerts. */
export function alertEventOf({ change, alert }: AlertChange): AlertEvent {
  return {
    event_id: alertEventId(alert.id, change, alert.updated_at),
    occurred_at: alert.updated_at,
    workspace_id: alert.workspace_id,
    change,
    alert_id: alert.id,
    kind: alert.kind,
    status: alert.status,
    severity: alert.severity,
    scope: {
      key_id: alert.scope.key_id ?? null,
      key_prefix: alert.scope.key_prefix ?? null,
      client_ip: alert.scope.client_ip ?? null,
      end_user_id: alert.scope.end_user_id ?? null,
    },
    started_at: alert.started_at,
    detected_at: alert.detected_at,
    updated_at: alert.updated_at,
    resolved_at: alert.resolved_at,
    summary: alert.summary,
    evidence: alert.evidence,
  };
}

/** The alert a published event carries (what a restart restores). */
export function alertOf(event: AlertEvent): Alert {
  const scope: AlertScope = {};
  for (const field of ['key_id', 'key_prefix', 'client_ip', 'end_user_id'] as const) {
    const value = event.scope[field];
    if (value !== null) scope[field] = value;
  }
  return {
    id: event.alert_id,
    workspace_id: event.workspace_id,
    kind: event.kind,
    status: event.status,
    severity: event.severity,
    scope,
    started_at: event.started_at,
    detected_at: event.detected_at,
    updated_at: event.updated_at,
    resolved_at: event.resolved_at,
    summary: event.summary,
    evidence: event.evidence,
  };
}

/**
 * An alert as the API and webhooks show it (DESIGN.md "Alerts"): times in RFC 3339, scope
 * without the fields it does not have. One shape for `GET /alerts` and every webhook's `data`.
 */
export function alertView(alert: Alert) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: alert.id,
    workspace_id: alert.workspace_id,
    kind: alert.kind,
    status: alert.status,
    severity: alert.severity,
    scope: alert.scope,
    started_at: iso(alert.started_at),
    detected_at: iso(alert.detected_at),
    resolved_at: alert.resolved_at === null ? null : iso(alert.resolved_at),
    summary: alert.summary,
    evidence: alert.evidence,
  };
}
