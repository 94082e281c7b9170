import type { LifecycleHistoryRow } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import { createCursorCodec } from './cursor.ts';
import { checkBuckets, parseRange } from './range.ts';
import { describeTimeline } from './timeline.ts';

describe('cursors', () => {
  const codec = createCursorCodec('secret');
  it('round-trip a position', () => {
    const cursor = codec.encode('decisions', { at: '2026-11-22T04:00:00.000Z', id: 'abc' });
    expect(codec.decode('decisions', cursor)).toEqual({ at: '2026-11-22T04:00:00.000Z', id: 'abc' });
  });

  it.each([
    [
      'a changed position',
      (c: string) =>
        `${Buffer.from('{"at":"2000-01-01","id":"x"}').toString('base64url')}.${c.split('.')[1]}`,
    ],
    ['a changed signature', (c: string) => `${c.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA`],
    ['a truncated cursor', (c: string) => c.slice(0, 10)],
    ['garbage', () => 'not a cursor'],
  ])('refuse %s with VALIDATION_FAILED', (_what, tamper) => {
    const cursor = codec.encode('decisions', { at: '2026-11-22T04:00:00.000Z', id: 'abc' });
    expect(() => codec.decode('decisions', tamper(cursor))).toThrow(/not one this API gave out/);
  });

  it("refuse another list's cursor and another secret's", () => {
    const cursor = codec.encode('keys', { at: 'x', id: 'y' });
    expect(() => codec.decode('decisions', cursor)).toThrow(/not one this API gave out/);
    expect(() => createCursorCodec('other').decode('keys', cursor)).toThrow(/not one this API gave out/);
  });
});

describe('ranges', () => {
  it('parses RFC 3339 and refuses from >= to', () => {
    expect(parseRange({ from: '2026-11-22T00:00:00Z', to: '2026-11-23T00:00:00Z' }).to.toISOString()).toBe(
      '2026-11-23T00:00:00.000Z',
    );
    expect(() => parseRange({ from: '2026-11-23T00:00:00Z', to: '2026-11-22T00:00:00Z' })).toThrow(/before/);
    expect(() => parseRange({ from: 'yesterday', to: '2026-11-22T00:00:00Z' })).toThrow(/RFC 3339/);
  });

  it('counts the bucket a range cuts into, and refuses more than 10,080', () => {
    const week = parseRange({ from: '2026-11-15T00:00:00Z', to: '2026-11-22T00:00:00Z' });
    expect(() => checkBuckets(week, 'minute')).not.toThrow();
    const weekAndABit = parseRange({ from: '2026-11-14T23:59:30Z', to: '2026-11-22T00:00:00Z' });
    expect(() => checkBuckets(weekAndABit, 'minute')).toThrow(/10081 minute buckets/);
  });
});

describe('timeline', () => {
  const base: LifecycleHistoryRow = {
    event_id: 'e1',
    occurred_at: '2026-11-20T09:00:00.000Z',
    lifecycle_type: 'CREATED',
    actor_kind: 'USER',
    actor_id: 'u1',
    reason: '',
    name: 'Production',
    scopes: ['read'],
    scopes_set: true,
    rate_limit_per_minute: 100,
    rate_limit_per_hour: null,
    rate_limit_per_day: null,
    rate_limits_set: true,
    quota_period: '',
    quota_limit: null,
    expires_at: null,
    allowed_origins: [],
    allowed_origins_set: false,
    grace_ends_at: null,
    replaced_by: '',
    end_user_id: '',
    parent_key_id: '',
  };
  it('says what each event changed, from what to what', () => {
    const entries = describeTimeline(
      [
        base,
        {
          ...base,
          event_id: 'e2',
          lifecycle_type: 'SCOPES_CHANGED',
          name: '',
          rate_limits_set: false,
          scopes: ['read', 'build'],
        },
        {
          ...base,
          event_id: 'e3',
          lifecycle_type: 'SUPERSEDED',
          name: '',
          scopes_set: false,
          rate_limits_set: false,
          grace_ends_at: '2026-11-21T09:00:00.000Z',
          replaced_by: 'key_2',
          reason: 'rotation',
        },
      ],
      (t) => new Date(t).toISOString(),
    );
    expect(entries[0]!.changes).toEqual({
      name: { from: null, to: 'Production' },
      scopes: { from: null, to: ['read'] },
      rate_limits: { from: null, to: { per_minute: 100, per_hour: null, per_day: null } },
    });
    expect(entries[1]!.changes).toEqual({ scopes: { from: ['read'], to: ['read', 'build'] } });
    expect(entries[2]).toMatchObject({
      lifecycle_type: 'SUPERSEDED',
      reason: 'rotation',
      actor: { kind: 'USER', id: 'u1' },
      changes: {
        grace_ends_at: { from: null, to: '2026-11-21T09:00:00.000Z' },
        replaced_by: { from: null, to: 'key_2' },
      },
    });
  });
});
