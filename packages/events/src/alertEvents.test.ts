import { describe, expect, it } from 'vitest';
import { AlertDecodeError, type AlertEvent, alertEventId, createAlertEventCodec } from './alertEvents.ts';
import { createEventCodec } from './codec.ts';
import { fullAuthDecision } from './fixtures.ts';

const alert: AlertEvent = {
  event_id: alertEventId('alt_1', 'FIRED', 1_700_000_060_000),
  occurred_at: 1_700_000_060_000,
  workspace_id: 'ws_1',
  change: 'FIRED',
  alert_id: 'alt_1',
  kind: 'INVALID_KEY_SPIKE',
  status: 'FIRING',
  severity: 'HIGH',
  scope: { key_id: null, key_prefix: null, client_ip: '203.0.113.9', end_user_id: null },
  started_at: 1_700_000_001_000,
  detected_at: 1_700_000_060_000,
  updated_at: 1_700_000_060_000,
  resolved_at: null,
  summary: '40 invalid-key attempts in 60 s from 203.0.113.9',
  evidence: {
    count: 40,
    baseline: 0.5,
    threshold: 20,
    window_seconds: 60,
    distinct_key_hashes: 38,
    distinct_ips: 1,
    sample_request_ids: ['req_1', 'req_2'],
  },
};

describe('alert events', () => {
  it('round-trip through single-object Avro with the registered fingerprint in the header', () => {
    const codec = createAlertEventCodec();
    const bytes = codec.encode(alert);
    expect([bytes[0], bytes[1]]).toEqual([0xc3, 0x01]);
    expect(bytes.subarray(2, 10).toString('hex')).toBe(codec.registration.key);
    expect(codec.decode(bytes)).toEqual(alert);
    expect(JSON.parse(codec.registration.canonical).name).toBe('dev.keytrail.alerts.AlertEvent');
  });

  it('refuse an auth decision and garbage with a clear error', () => {
    const codec = createAlertEventCodec();
    const decision = createEventCodec().encode('auth_decision', fullAuthDecision());
    expect(() => codec.decode(decision)).toThrow(AlertDecodeError);
    expect(() => codec.decode(Buffer.from('{"not":"avro"}'))).toThrow(/single-object/);
  });

  it('name one change of one alert by the same event id every time, and different changes differently', () => {
    expect(alertEventId('alt_1', 'FIRED', 5)).toBe(alertEventId('alt_1', 'FIRED', 5));
    expect(alertEventId('alt_1', 'UPDATED', 5)).not.toBe(alertEventId('alt_1', 'FIRED', 5));
    expect(alertEventId('alt_1', 'UPDATED', 6)).not.toBe(alertEventId('alt_1', 'UPDATED', 5));
  });
});
