import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, isAlertKind, ruleBookWith, validateRule } from './rules.ts';
import { ALERT_KINDS } from './types.ts';

describe('rules', () => {
  it('has a rule for every kind, each on by default', () => {
    expect(Object.keys(DEFAULT_RULES).sort()).toEqual([...ALERT_KINDS].sort());
    for (const kind of ALERT_KINDS) expect(DEFAULT_RULES[kind].enabled).toBe(true);
    expect(DEFAULT_RULES.QUOTA_THRESHOLD.threshold_percent).toBe(80);
    expect(DEFAULT_RULES.ERROR_RATE.threshold_percent).toBe(5);
    expect(DEFAULT_RULES.SUPERSEDED_KEY_IN_USE.before_grace_end_seconds).toBe(3600);
  });

  it('merges a valid partial update', () => {
    expect(
      validateRule('ERROR_RATE', DEFAULT_RULES.ERROR_RATE, { threshold_percent: 10, enabled: false }),
    ).toEqual({
      ok: true,
      rule: { ...DEFAULT_RULES.ERROR_RATE, threshold_percent: 10, enabled: false },
    });
    expect(validateRule('COST_THRESHOLD', DEFAULT_RULES.COST_THRESHOLD, { period: 'MONTH' })).toMatchObject({
      ok: true,
      rule: { period: 'MONTH' },
    });
  });

  it('names every problem of a bad update', () => {
    const result = validateRule('INVALID_KEY_SPIKE', DEFAULT_RULES.INVALID_KEY_SPIKE, {
      min_count: 0,
      enabled: 'yes',
      window_seconds: '60',
      password: 1,
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: 'min_count', message: 'must be a number from 1 to 1000000' },
        { path: 'enabled', message: 'must be true or false' },
        { path: 'window_seconds', message: 'must be a number from 10 to 3600' },
        { path: 'password', message: 'is not a setting of INVALID_KEY_SPIKE' },
      ],
    });
    expect(validateRule('COST_THRESHOLD', DEFAULT_RULES.COST_THRESHOLD, { period: 'WEEK' })).toMatchObject({
      ok: false,
      problems: [{ path: 'period' }],
    });
  });

  it('knows the kinds', () => {
    expect(isAlertKind('ERROR_RATE')).toBe(true);
    expect(isAlertKind('error_rate')).toBe(false);
  });
});

describe('ruleBookWith', () => {
  it('puts stored changes over the defaults, kind by kind, ignoring unknown kinds and fields', () => {
    const book = ruleBookWith([
      {
        kind: 'ERROR_RATE',
        settings: JSON.stringify({ ...DEFAULT_RULES.ERROR_RATE, threshold_percent: 20, gone: 1 }),
      },
      { kind: 'NOT_A_KIND', settings: '{}' },
    ]);
    expect(book.ERROR_RATE).toEqual({ ...DEFAULT_RULES.ERROR_RATE, threshold_percent: 20 });
    expect(book.INVALID_KEY_SPIKE).toEqual(DEFAULT_RULES.INVALID_KEY_SPIKE);
    expect(Object.keys(book).sort()).toEqual(Object.keys(DEFAULT_RULES).sort());
  });
});
