/** One decision as a spike window keeps it: enough for counts and evidence. */
export interface Attempt {
  at: number;
  keyHash: string;
  ip: string;
  prefix: string;
  requestId: string;
}

/**
 * The attempts of one scope in a sliding event-time window, in time order. Counting at a tick
 * `t` takes the attempts in (t − window, t]; attempts ahead of the tick (another partition ran
 * ahead) wait for a later tick.
 */
export class AttemptWindow {
  private readonly attempts: Attempt[] = [];

  constructor(readonly windowMs: number) {}

  add(attempt: Attempt): void {
    // Nearly always appended in order; a late-but-on-time attempt is moved back into place.
    let i = this.attempts.length;
    while (i > 0 && this.attempts[i - 1]!.at > attempt.at) i--;
    this.attempts.splice(i, 0, attempt);
  }

  /** Drops attempts older than the window at `t`; true when none are left. */
  evict(t: number): boolean {
    let drop = 0;
    while (drop < this.attempts.length && this.attempts[drop]!.at <= t - this.windowMs) drop++;
    if (drop > 0) this.attempts.splice(0, drop);
    return this.attempts.length === 0;
  }

  /** The attempts in (t − window, t], oldest first (call evict(t) first). */
  at(t: number): Attempt[] {
    let end = this.attempts.length;
    while (end > 0 && this.attempts[end - 1]!.at > t) end--;
    return this.attempts.slice(0, end);
  }
}

/** Evidence counts over some attempts: distinct presented keys and IPs, a few request ids. */
export function describeAttempts(attempts: readonly Attempt[]): {
  distinct_key_hashes: number;
  distinct_ips: number;
  sample_request_ids: string[];
} {
  const hashes = new Set<string>();
  const ips = new Set<string>();
  for (const a of attempts) {
    if (a.keyHash) hashes.add(a.keyHash);
    if (a.ip) ips.add(a.ip);
  }
  return {
    distinct_key_hashes: hashes.size,
    distinct_ips: ips.size,
    sample_request_ids: sampleRequestIds(attempts.map((a) => a.requestId)),
  };
}

/** Up to five request ids: the first two and the last three (where it began, where it is). */
export function sampleRequestIds(ids: readonly string[]): string[] {
  const present = ids.filter((id) => id !== '');
  return present.length <= 5 ? [...present] : [...present.slice(0, 2), ...present.slice(-3)];
}

/**
 * What is normal for a scope, per minute: the plain mean of the minutes seen while there are
 * fewer than 1/alpha of them (so it is right after a few minutes), then an exponentially weighted
 * moving average (`alpha` = 1/30 weighs roughly the last half hour, following daily cycles).
 */
export class MinuteBaseline {
  value = 0;
  minutes = 0;

  constructor(private readonly alpha = 1 / 30) {}

  add(perMinute: number): void {
    this.minutes++;
    this.value += Math.max(this.alpha, 1 / this.minutes) * (perMinute - this.value);
  }
}
