import { ALERT_KINDS, type AlertKind } from './types.ts';

/**
 * A workspace's rules: one per kind, every kind on by default. The defaults are what DESIGN.md
 * names (quota 80 %, error rate 5 %, superseded within 1 hour of its grace end) plus windows and
 * minimum volumes chosen so a single retyped key or a quiet key does not page anyone.
 */
export interface RuleBook {
  INVALID_KEY_SPIKE: {
    enabled: boolean;
    window_seconds: number;
    /** Never fire below this many attempts in the window, whatever the baseline. */
    min_count: number;
    /** Fire at this multiple of what is normal for the scope (the workspace's own baseline). */
    baseline_factor: number;
    /** A source IP or key prefix fires only with at least this many distinct presented keys. */
    min_distinct_key_hashes: number;
    cooldown_seconds: number;
  };
  REVOKED_KEY_USED: { enabled: boolean; cooldown_seconds: number };
  EXPIRED_KEY_STORM: {
    enabled: boolean;
    window_seconds: number;
    min_count: number;
    cooldown_seconds: number;
  };
  SUPERSEDED_KEY_IN_USE: {
    enabled: boolean;
    /** Fire when a superseded key is used this close to the end of its grace period. */
    before_grace_end_seconds: number;
    cooldown_seconds: number;
  };
  QUOTA_THRESHOLD: { enabled: boolean; threshold_percent: number };
  ERROR_RATE: {
    enabled: boolean;
    threshold_percent: number;
    window_seconds: number;
    /** Decisions of the key in the window before a rate means anything. */
    min_count: number;
    cooldown_seconds: number;
  };
  COST_THRESHOLD: {
    enabled: boolean;
    period: 'DAY' | 'MONTH';
    /** Micro-credits of one key, or one end user, in the period. */
    amount_micros: number;
  };
}

export const DEFAULT_RULES: RuleBook = {
  INVALID_KEY_SPIKE: {
    enabled: true,
    window_seconds: 60,
    min_count: 20,
    baseline_factor: 4,
    min_distinct_key_hashes: 3,
    cooldown_seconds: 300,
  },
  REVOKED_KEY_USED: { enabled: true, cooldown_seconds: 3600 },
  EXPIRED_KEY_STORM: { enabled: true, window_seconds: 60, min_count: 20, cooldown_seconds: 600 },
  SUPERSEDED_KEY_IN_USE: { enabled: true, before_grace_end_seconds: 3600, cooldown_seconds: 3600 },
  QUOTA_THRESHOLD: { enabled: true, threshold_percent: 80 },
  ERROR_RATE: {
    enabled: true,
    threshold_percent: 5,
    window_seconds: 300,
    min_count: 50,
    cooldown_seconds: 600,
  },
  COST_THRESHOLD: { enabled: true, period: 'DAY', amount_micros: 100_000_000 },
};

/** Bounds of every numeric setting: [min, max]. Enforced by validateRule, shown in errors. */
const BOUNDS: Record<string, [number, number]> = {
  window_seconds: [10, 3600],
  min_count: [1, 1_000_000],
  baseline_factor: [1, 1000],
  min_distinct_key_hashes: [1, 1000],
  cooldown_seconds: [0, 86_400],
  before_grace_end_seconds: [60, 30 * 86_400],
  threshold_percent: [1, 100],
  amount_micros: [1, Number.MAX_SAFE_INTEGER],
};

export interface RuleProblem {
  path: string;
  message: string;
}

/**
 * Checks a partial update of one kind's rule against its shape; returns the merged rule or the
 * problems (unknown fields, wrong types, out-of-range numbers), for a 400 with details.
 */
export function validateRule<K extends AlertKind>(
  kind: K,
  current: RuleBook[K],
  update: Record<string, unknown>,
): { ok: true; rule: RuleBook[K] } | { ok: false; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const merged: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(update)) {
    const was = (current as Record<string, unknown>)[field];
    if (was === undefined) {
      problems.push({ path: field, message: `is not a setting of ${kind}` });
    } else if (typeof was === 'boolean') {
      if (typeof value !== 'boolean') problems.push({ path: field, message: 'must be true or false' });
      else merged[field] = value;
    } else if (typeof was === 'number') {
      const [min, max] = BOUNDS[field] ?? [0, Number.MAX_SAFE_INTEGER];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
        problems.push({ path: field, message: `must be a number from ${min} to ${max}` });
      else merged[field] = value;
    } else if (field === 'period') {
      if (value !== 'DAY' && value !== 'MONTH')
        problems.push({ path: field, message: 'must be DAY or MONTH' });
      else merged[field] = value;
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rule: merged as RuleBook[K] };
}

export function isAlertKind(kind: string): kind is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(kind);
}

/**
 * A workspace's rule book: the defaults with the changes it stored (each the whole rule of its
 * kind, as validateRule returned it, in JSON). A stored field no longer known is ignored.
 */
export function ruleBookWith(changes: readonly { kind: string; settings: string }[]): RuleBook {
  const book: Record<string, object> = { ...DEFAULT_RULES };
  for (const change of changes) {
    if (!isAlertKind(change.kind)) continue;
    const defaults = DEFAULT_RULES[change.kind] as Record<string, unknown>;
    const stored = JSON.parse(change.settings) as Record<string, unknown>;
    book[change.kind] = Object.fromEntries(Object.keys(defaults).map((f) => [f, stored[f] ?? defaults[f]]));
  }
  return book as unknown as RuleBook;
}
