import { describe, expect, it } from 'vitest';
import { createBatchEncoder } from './batchEncoder.ts';
import { createEventCodec } from './codec.ts';
import { fullAuthDecision, fullKeyLifecycle } from './fixtures.ts';

const codec = createEventCodec();

describe('createBatchEncoder', () => {
  it('writes the bytes codec.encode writes, each event a view of its own range', () => {
    const encoder = createBatchEncoder(codec, 10);
    const events = Array.from({ length: 50 }, (_, i) => fullAuthDecision({ request_id: `req_${i}` }));
    const values = events.map((e) => encoder.encode('auth_decision', e));
    const lifecycle = fullKeyLifecycle();
    const lifecycleValue = encoder.encode('key_lifecycle', lifecycle);
    // Later events (and the chunks that overflowed) never overwrite earlier ones.
    for (const [i, e] of events.entries())
      expect(values[i]!.equals(codec.encode('auth_decision', e))).toBe(true);
    expect(lifecycleValue.equals(codec.encode('key_lifecycle', lifecycle))).toBe(true);
    expect(codec.decode(values[49]!).event).toMatchObject({ request_id: 'req_49' });
    // 10 expected events get a 4 KiB chunk: 50 decisions needed more than one.
    expect(new Set(values.map((v) => v.buffer)).size).toBeGreaterThan(1);
  });

  it('gives an event larger than a chunk a buffer of its own, and throws as encode does', () => {
    const encoder = createBatchEncoder(codec, 1);
    const big = fullAuthDecision({ user_agent: 'x'.repeat(10_000) });
    const value = encoder.encode('auth_decision', big);
    expect(value.equals(codec.encode('auth_decision', big))).toBe(true);
    const bad = { ...fullAuthDecision(), outcome: 'NOT_AN_OUTCOME' } as unknown as ReturnType<
      typeof fullAuthDecision
    >;
    expect(() => encoder.encode('auth_decision', bad)).toThrow();
    expect(() => codec.encode('auth_decision', bad)).toThrow();
    // The failed write leaves nothing behind: the next event is whole.
    const after = fullAuthDecision({ request_id: 'after' });
    expect(encoder.encode('auth_decision', after).equals(codec.encode('auth_decision', after))).toBe(true);
  });
});
