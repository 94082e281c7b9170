import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type avro from 'avsc';
import { fingerprintKey, fingerprintOf, HEADER_LENGTH, SINGLE_OBJECT_MAGIC } from './codec.ts';
import { crc64Avro } from './crc64.ts';
import { canonicalForm, SCHEMA_DIR, toAvroType } from './schemas.ts';

/**
 * Alerts are events too (DESIGN.md "Alerts"): each change of an alert is one AlertEvent on
 * `keytrail.alerts`, in the same Avro single-object encoding as decisions and lifecycle events,
 * its writer schema registered in the schema registry topic like theirs. They are a kind of
 * their own, not a third member of the ingest union: gateways never send them.
 */
export const ALERT_KIND_SYMBOLS = [
  'INVALID_KEY_SPIKE',
  'REVOKED_KEY_USED',
  'EXPIRED_KEY_STORM',
  'SUPERSEDED_KEY_IN_USE',
  'QUOTA_THRESHOLD',
  'ERROR_RATE',
  'COST_THRESHOLD',
] as const;
export type AlertKindSymbol = (typeof ALERT_KIND_SYMBOLS)[number];
export type AlertChangeType = 'FIRED' | 'UPDATED' | 'RESOLVED';

/** What an alert rests on, for a responder to judge it (DESIGN.md "Alerts"). */
export interface AlertEvidence {
  /** Matching decisions in the window (or used quota / cost, per kind). */
  count: number;
  /** What is normal for this scope, in the same unit as count (0 when the rule has none). */
  baseline: number;
  threshold: number;
  window_seconds: number;
  distinct_key_hashes: number;
  distinct_ips: number;
  sample_request_ids: string[];
}

export interface AlertEvent {
  event_id: string;
  /** Event time of the change: the alert's updated_at. */
  occurred_at: number;
  workspace_id: string;
  change: AlertChangeType;
  alert_id: string;
  kind: AlertKindSymbol;
  status: 'FIRING' | 'RESOLVED';
  severity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
  scope: {
    key_id: string | null;
    key_prefix: string | null;
    client_ip: string | null;
    end_user_id: string | null;
  };
  started_at: number;
  detected_at: number;
  updated_at: number;
  resolved_at: number | null;
  summary: string;
  evidence: AlertEvidence;
}

export const ALERT_SCHEMA_FILE = new URL('alerts/alert-event.v1.avsc', `file://${SCHEMA_DIR}`);

/** Thrown for bytes that are not an AlertEvent this codec can read. */
export class AlertDecodeError extends Error {
  override readonly name = 'AlertDecodeError';
}

export interface AlertEventCodec {
  encode(event: AlertEvent): Buffer;
  /** Throws AlertDecodeError for anything but an AlertEvent written with the shipped schema. */
  decode(bytes: Uint8Array): AlertEvent;
  /** What a producer registers (schema registry topic) before its first send. */
  registration: { key: string; canonical: string };
}

export function createAlertEventCodec(): AlertEventCodec {
  const schema = JSON.parse(readFileSync(ALERT_SCHEMA_FILE, 'utf8')) as avro.Schema;
  const type = toAvroType(schema);
  const canonical = canonicalForm(type);
  const fingerprint = crc64Avro(canonical);
  const header = Buffer.alloc(HEADER_LENGTH);
  SINGLE_OBJECT_MAGIC.copy(header, 0);
  header.writeBigUInt64LE(fingerprint, 2);
  return {
    encode(event) {
      return Buffer.concat([header, type.toBuffer(event)]);
    },
    decode(bytes) {
      const found = fingerprintOf(bytes);
      if (found === undefined) throw new AlertDecodeError('not Avro single-object encoding');
      if (found !== fingerprint)
        throw new AlertDecodeError(`unknown alert schema fingerprint ${fingerprintKey(found)}`);
      try {
        return type.fromBuffer(Buffer.from(bytes).subarray(HEADER_LENGTH)) as AlertEvent;
      } catch (err) {
        throw new AlertDecodeError(`cannot decode an AlertEvent: ${String(err)}`);
      }
    },
    registration: { key: fingerprintKey(fingerprint), canonical },
  };
}

/** The event id of one change of an alert: the same change published twice has the same id. */
export function alertEventId(alertId: string, change: AlertChangeType, updatedAt: number): string {
  return `ale_${createHash('sha256').update(`${alertId}\u0000${change}\u0000${updatedAt}`).digest('hex').slice(0, 24)}`;
}
