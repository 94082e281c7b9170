import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Endpoint secrets must be at hand to sign every delivery, so they cannot be stored hashed like
 * API tokens; they are stored sealed instead (AES-256-GCM), with the key kept outside the
 * database (KEYTRAIL_SECRET_KEY, or a key file in the data directory for `keytrail up`). A copy
 * of the database alone reveals no secret, and a tampered value fails to open.
 */
export interface EndpointSecret {
  secret: string;
  /** When this secret stops signing (the old one, 24 h after a rotation); null for the current one. */
  expires_at: number | null;
}

const VERSION = 'v1';

/** A 32-byte key from the configured text (any length: it is hashed). */
export function sealingKey(text: string): Buffer {
  if (text.length < 16) throw new Error('the secret key must be at least 16 characters');
  return createHash('sha256').update(`keytrail-seal:${text}`).digest();
}

export function sealSecrets(key: Buffer, secrets: readonly EndpointSecret[]): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    sealed.toString('base64url'),
  ].join('.');
}

export function openSecrets(key: Buffer, sealed: string): EndpointSecret[] {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || !body) throw new Error('not a sealed secret of this version');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
    'utf8',
  );
  return JSON.parse(text) as EndpointSecret[];
}

/** The secrets that sign at `now`: the current one and any rotated-out one still in its 24 h. */
export function signingSecrets(secrets: readonly EndpointSecret[], now: number): string[] {
  return secrets.filter((s) => s.expires_at === null || s.expires_at > now).map((s) => s.secret);
}

/** Both secrets sign for this long after a rotation (DESIGN.md "Webhooks"). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** The secrets after a rotation: the new one current, the old current one signing 24 h more. */
export function rotateSecrets(
  secrets: readonly EndpointSecret[],
  fresh: string,
  now: number,
): EndpointSecret[] {
  const old = secrets
    .filter((s) => s.expires_at === null)
    .map((s) => ({ secret: s.secret, expires_at: now + ROTATION_OVERLAP_MS }));
  return [{ secret: fresh, expires_at: null }, ...old];
}
