import { generateTraffic } from '@keytrail/simulator';
import { describe, expect, it } from 'vitest';
import { createEventCodec } from './codec.ts';
import { eventFromJson, jsonFastPath } from './fromJson.ts';

const codec = createEventCodec();
const NOW = Date.UTC(2026, 10, 22, 12);
const traffic = [
  ...generateTraffic({
    seed: 7,
    startMs: NOW - 3_600_000,
    decisions: 3_000,
    probeAttack: true,
    ratePerSecond: 5,
  }),
] as Record<string, unknown>[];

/** A tiny seeded generator, so a failure replays. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const JUNK: unknown[] = [
  null,
  '',
  'x',
  42,
  -1,
  1.5,
  2 ** 40,
  2 ** 60,
  true,
  [],
  ['a'],
  [1],
  {},
  { name: 'gw' },
  'LIVE',
  'ALLOWED',
  '2026-11-22T10:00:00Z',
  '2026-11-22',
  'pf_live_abcdefghijklmnopqrstuvwxyz012345',
];

/** Both paths on one input: equal answers (a generated event_id aside). */
function expectSameAnswer(input: Record<string, unknown>) {
  const fast = eventFromJson(input, codec, NOW);
  const slow = eventFromJson(input, codec, NOW, { fastPath: false });
  const strip = (r: typeof fast) =>
    r.ok && input.event_id == null
      ? { ...r, value: { ...r.value, event: { ...r.value.event, event_id: 'generated' } } }
      : r;
  expect(strip(fast), JSON.stringify(input)).toEqual(strip(slow));
}

describe('the JSON fast path', () => {
  it('takes well-formed simulator events, and answers exactly as the general path', () => {
    let taken = 0;
    for (const input of traffic) {
      if (jsonFastPath(codec, input.type as 'auth_decision' | 'key_lifecycle')(input)) taken++;
      expectSameAnswer(input);
    }
    expect(taken).toBe(traffic.length);
  });

  it('never accepts what the general path refuses: broken events answer the same on both', () => {
    const next = random(20261202);
    for (let i = 0; i < 20_000; i++) {
      const base = traffic[Math.floor(next() * traffic.length)]!;
      const input: Record<string, unknown> = structuredClone(base);
      const keys = Object.keys(input);
      for (let changes = 1 + Math.floor(next() * 3); changes > 0; changes--) {
        const what = next();
        const key = keys[Math.floor(next() * keys.length)]!;
        if (what < 0.3) delete input[key];
        else if (what < 0.85) input[key] = structuredClone(JUNK[Math.floor(next() * JUNK.length)]);
        else if (what < 0.95) input[`extra_${Math.floor(next() * 3)}`] = 1;
        else if (typeof input.rate_limit === 'object' && input.rate_limit !== null)
          (input.rate_limit as Record<string, unknown>).limit = JUNK[Math.floor(next() * JUNK.length)];
      }
      expectSameAnswer(input);
    }
  });

  it('leaves the caller’s input as it was, arrays included', () => {
    const input = {
      ...traffic.find((t) => Array.isArray(t.granted_scopes) && (t.granted_scopes as unknown[]).length > 0)!,
    };
    const scopes = input.granted_scopes as string[];
    const before = structuredClone(input);
    const result = eventFromJson(input, codec, NOW);
    expect(result.ok).toBe(true);
    expect(input).toEqual(before);
    if (result.ok)
      expect((result.value.event as unknown as { granted_scopes: string[] }).granted_scopes).not.toBe(scopes);
  });
});
