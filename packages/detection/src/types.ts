/** What an alert is about, and the shapes the detectors produce (DESIGN.md "Alerts"). */
import { ALERT_KIND_SYMBOLS, type AlertEvidence } from '@keytrail/events';

export type { AlertEvidence };

/** The kinds, in the order of the Avro enum that carries them (`@keytrail/events`). */
export const ALERT_KINDS = ALERT_KIND_SYMBOLS;
export type AlertKind = (typeof ALERT_KINDS)[number];

export type AlertStatus = 'FIRING' | 'RESOLVED';
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** Which part of a workspace an alert is about; absent fields mean "the whole workspace". */
export interface AlertScope {
  key_id?: string;
  key_prefix?: string;
  client_ip?: string;
  end_user_id?: string;
}

export interface Alert {
  /** Deterministic: the same episode found twice (a replay, a restart) has the same id. */
  id: string;
  workspace_id: string;
  kind: AlertKind;
  status: AlertStatus;
  severity: Severity;
  scope: AlertScope;
  /** Event time (epoch ms) of the episode's first anomalous decision. */
  started_at: number;
  /** Event time at which the rule fired: time to detect = detected_at − started_at. */
  detected_at: number;
  /** Event time of the last update (the same as detected_at when it fires). */
  updated_at: number;
  resolved_at: number | null;
  summary: string;
  evidence: AlertEvidence;
}

/** What one step of detection changed: the alert as it now stands. */
export interface AlertChange {
  change: 'FIRED' | 'UPDATED' | 'RESOLVED';
  alert: Alert;
}
