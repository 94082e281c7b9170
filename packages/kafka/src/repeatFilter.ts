/**
 * Lets the first occurrence of a message through, then at most one per `intervalMs`, carrying how
 * many were held back since: a broker that is down for a minute gives a few lines with counts
 * instead of a hundred connection-refused lines.
 */
export function createRepeatFilter(intervalMs: number, now: () => number = Date.now) {
  const seen = new Map<string, { lastShown: number; held: number }>();
  /** Whether to log `key` now, and how many of it were held back since it was last logged. */
  return (key: string): { show: boolean; repeated: number } => {
    const at = now();
    const entry = seen.get(key);
    if (!entry || at - entry.lastShown >= intervalMs) {
      const repeated = entry?.held ?? 0;
      seen.set(key, { lastShown: at, held: 0 });
      if (seen.size > 1_000) seen.delete(seen.keys().next().value as string);
      return { show: true, repeated };
    }
    entry.held++;
    return { show: false, repeated: 0 };
  };
}
