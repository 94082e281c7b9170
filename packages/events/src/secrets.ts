/**
 * Secrets never travel in events. A value shaped like a full API key or session token (the seeds'
 * formats: pf_live_…, sk_test_…, pk_live_…, ck_…, session tokens) is cut to its display prefix.
 */

// prefix_env_ then a long random tail. The display prefix keeps 4 characters of the tail.
const KEY_RE =
  /\b((?:pf|sk|pk|ck|rk|ak)_(?:(?:live|test|dev|prod|stg)_)*|(?:st|pfs)_(?:(?:live|test|dev)_)?)([A-Za-z0-9]{16,})\b/g;
const BEARER_RE = /\b(Bearer\s+)([A-Za-z0-9._~+/-]{20,}=*)/gi;
// A JWT (three base64url parts): session tokens are often JWTs.
const JWT_RE = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;

export const DISPLAY_TAIL = 4;

// What every match of the three patterns above has: at least 19 characters (a 3-character
// prefix and a 16-character tail is the shortest) and one of these runs. Checking that first
// clears almost every value without running the patterns.
const MIN_SECRET_LENGTH = 19;
const MAYBE_SECRET_RE = /[A-Za-z0-9]_[A-Za-z0-9]{16}|bearer\s|eyJ/i;
const maybeSecret = (value: string) => value.length >= MIN_SECRET_LENGTH && MAYBE_SECRET_RE.test(value);

/** Returns `value` with every secret-shaped run replaced by its display prefix and "…". */
export function redactSecrets(value: string): { value: string; redactions: number } {
  if (!maybeSecret(value)) return { value, redactions: 0 };
  let redactions = 0;
  let out = value.replace(KEY_RE, (_m, prefix: string, tail: string) => {
    redactions++;
    return `${prefix}${tail.slice(0, DISPLAY_TAIL)}…`;
  });
  out = out.replace(BEARER_RE, (_m, scheme: string, token: string) => {
    redactions++;
    return `${scheme}${token.slice(0, 8)}…`;
  });
  out = out.replace(JWT_RE, (m) => {
    redactions++;
    return `${m.slice(0, 8)}…`;
  });
  return { value: out, redactions };
}

/** The display prefix of a presented credential ("pf_live_AbCd"), never more than 16 characters. */
export function displayPrefix(credential: string): string {
  const match = /^((?:[a-z]{2,4}_)(?:(?:live|test|dev|prod|stg)_)*)([A-Za-z0-9])/.exec(credential);
  const prefix = match ? match[1]! : '';
  return `${prefix}${credential.slice(prefix.length, prefix.length + DISPLAY_TAIL)}`.slice(0, 16);
}

export function looksLikeSecret(value: string): boolean {
  return redactSecrets(value).redactions > 0;
}

/**
 * Redacts every string inside an event (deeply), in place, and returns how many values changed.
 * Runs on every event the emitter or ingest accepts.
 */
export function redactEventSecrets(event: object): number {
  return redactNode(event as Record<string, unknown>);
}

// A module-level function, not a closure made per event: this runs for every event, and a
// closure per call showed up in the ingest profile. for…in, not Object.entries: it allocates nothing.
function redactNode(node: Record<string, unknown>): number {
  let count = 0;
  for (const key in node) {
    const value = node[key];
    if (typeof value === 'string') {
      if (!maybeSecret(value)) continue;
      const { value: clean, redactions } = redactSecrets(value);
      if (redactions > 0) {
        count += redactions;
        node[key] = clean;
      }
    } else if (value !== null && typeof value === 'object') {
      count += redactNode(value as Record<string, unknown>);
    }
  }
  return count;
}
