import { describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { eventFromJson, parseTimestamp } from './fromJson.ts';

const codec = createEventCodec();
const ok = {
  type: 'auth_decision',
  workspace_id: 'ws_1',
  occurred_at: '2026-11-22T04:00:00Z',
  request_id: 'r1',
  outcome: 'ALLOWED',
};

function errorsOf(input: unknown) {
  const result = eventFromJson(input, codec);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('eventFromJson', () => {
  it('accepts the minimal event, assigning a UUIDv7 and defaults', () => {
    const result = eventFromJson(ok, codec);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.event.event_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(result.value.event).toMatchObject({
      occurred_at: Date.UTC(2026, 10, 22, 4),
      http_status: 200,
      key_type: 'UNKNOWN',
      granted_scopes: [],
      cost: 0,
    });
  });

  it('keeps a client event_id so retries are counted once', () => {
    const id = '01936b2e-1f00-7000-8000-0000000000aa';
    const result = eventFromJson({ ...ok, event_id: id }, codec);
    expect(result.ok && result.value.event.event_id).toBe(id);
  });

  it('takes epoch milliseconds and RFC 3339 with offsets, and nothing looser', () => {
    expect(parseTimestamp(1795320000000)).toBe(1795320000000);
    expect(parseTimestamp('2026-11-22T05:00:00+01:00')).toBe(Date.UTC(2026, 10, 22, 4));
    expect(parseTimestamp('2026-11-22')).toBeUndefined();
    expect(parseTimestamp('Nov 22 2026')).toBeUndefined();
  });

  it.each([
    [{ ...ok, type: 'login' }, 'type'],
    [{ ...ok, workspace_id: undefined }, 'workspace_id'],
    [{ ...ok, outcome: 'DENIED' }, 'outcome'],
    [{ ...ok, occurred_at: 'yesterday' }, 'occurred_at'],
    [{ ...ok, latency_ms: -3 }, 'latency_ms'],
    [{ ...ok, workspace_id: '' }, 'workspace_id'],
    [{ ...ok, http_status: 200, outcome: 'INVALID_KEY' }, 'http_status'],
    [{ ...ok, rate_limit: { window: 'MINUTE', limit: 10 } }, 'rate_limit.remaining'],
    [{ ...ok, granted_scopes: ['read', 7] }, 'granted_scopes.1'],
    [{ ...ok, secret: 'x' }, 'secret'],
    [{ ...ok, occurred_at: 1795320000 }, 'occurred_at'],
    [
      {
        type: 'key_lifecycle',
        workspace_id: 'ws',
        occurred_at: 1795320000000,
        lifecycle_type: 'SUPERSEDED',
        key_id: 'k',
      },
      'grace_ends_at',
    ],
  ])('reports the bad field of %j at %s', (input, path) => {
    expect(errorsOf(input).map((e) => e.path)).toContain(path);
  });

  it('never throws on garbage', () => {
    for (const input of [
      null,
      42,
      'x',
      [],
      { type: 'auth_decision' },
      { type: 'key_lifecycle', lifecycle_type: {} },
    ]) {
      expect(() => eventFromJson(input, codec)).not.toThrow();
      expect(eventFromJson(input, codec).ok).toBe(false);
    }
  });
});
