import { createHash, randomBytes } from 'node:crypto';

/** What a sign-in code stands for: the token it is exchanged for, and where the dashboard lands. */
export interface LoginGrant {
  token: string;
  workspaceId: string | null;
}

export interface LoginCodes {
  /** A new single-use code for `grant`, valid for the store's lifetime (`ktl_…`, 32 random bytes). */
  issue(grant: LoginGrant): { code: string; expiresAt: Date };
  /** The grant a code stands for, once: a used, expired or unknown code is null. */
  redeem(code: string): LoginGrant | null;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Short-lived sign-in codes, so a link can sign a browser in without holding the token itself
 * (`npm run demo` prints one). Kept in this process's memory, keyed by the code's hash: a code is
 * redeemed on the process that issued it (all-in-one, or behind sticky routing), and a restart
 * forgets every code, which only means signing in again.
 */
export function createLoginCodes(
  options: { ttlMs?: number; max?: number; now?: () => number } = {},
): LoginCodes {
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const max = options.max ?? 1_000;
  const now = options.now ?? Date.now;
  const grants = new Map<string, LoginGrant & { expiresAt: number }>();
  const prune = () => {
    const t = now();
    for (const [hash, grant] of grants) if (grant.expiresAt <= t) grants.delete(hash);
  };
  return {
    issue(grant) {
      prune();
      // Bounded: the oldest code gives way (Map keeps insertion order).
      if (grants.size >= max) grants.delete(grants.keys().next().value!);
      const code = `ktl_${randomBytes(32).toString('base64url')}`;
      const expiresAt = now() + ttlMs;
      grants.set(sha256(code), { ...grant, expiresAt });
      return { code, expiresAt: new Date(expiresAt) };
    },
    redeem(code) {
      const hash = sha256(code);
      const grant = grants.get(hash);
      grants.delete(hash);
      if (!grant || grant.expiresAt <= now()) return null;
      return { token: grant.token, workspaceId: grant.workspaceId };
    },
  };
}
