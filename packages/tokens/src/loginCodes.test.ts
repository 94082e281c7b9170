import { describe, expect, it } from 'vitest';
import { createLoginCodes } from './loginCodes.ts';

describe('login codes', () => {
  it('stand for their grant once, then never again', () => {
    const codes = createLoginCodes();
    const { code } = codes.issue({ token: 'kt_secret', workspaceId: 'ws_1' });
    expect(code).toMatch(/^ktl_[A-Za-z0-9_-]{43}$/);
    expect(code).not.toContain('kt_secret');
    expect(codes.redeem(code)).toEqual({ token: 'kt_secret', workspaceId: 'ws_1' });
    expect(codes.redeem(code)).toBeNull();
    expect(codes.redeem('ktl_unknown')).toBeNull();
  });

  it('expire after their lifetime', () => {
    let t = 1_000_000;
    const codes = createLoginCodes({ ttlMs: 60_000, now: () => t });
    const { code, expiresAt } = codes.issue({ token: 'kt_a', workspaceId: null });
    expect(expiresAt.getTime()).toBe(1_060_000);
    t += 60_000;
    expect(codes.redeem(code)).toBeNull();
  });

  it('keep at most `max`, the oldest giving way', () => {
    const codes = createLoginCodes({ max: 2 });
    const first = codes.issue({ token: 'kt_1', workspaceId: null }).code;
    const second = codes.issue({ token: 'kt_2', workspaceId: null }).code;
    const third = codes.issue({ token: 'kt_3', workspaceId: null }).code;
    expect(codes.redeem(first)).toBeNull();
    expect(codes.redeem(second)?.token).toBe('kt_2');
    expect(codes.redeem(third)?.token).toBe('kt_3');
  });
});
