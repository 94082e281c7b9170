import { describe, expect, it } from 'vitest';
import {
  openSecrets,
  ROTATION_OVERLAP_MS,
  rotateSecrets,
  sealingKey,
  sealSecrets,
  signingSecrets,
} from './sealing.ts';

describe('sealed endpoint secrets', () => {
  const key = sealingKey('a-long-enough-test-key');
  const secrets = [{ secret: 'whsec_abc', expires_at: null }];

  it('open to what was sealed, and the sealed text does not hold the secret', () => {
    const sealed = sealSecrets(key, secrets);
    expect(sealed).not.toContain('whsec_abc');
    expect(openSecrets(key, sealed)).toEqual(secrets);
  });

  it('do not open with another key or once tampered with', () => {
    const sealed = sealSecrets(key, secrets);
    expect(() => openSecrets(sealingKey('another-key-of-16-chars'), sealed)).toThrow();
    const parts = sealed.split('.');
    // A different first character whatever it was (the IV is random: 'A' one time in 64).
    parts[3] = `${parts[3]!.startsWith('A') ? 'B' : 'A'}${parts[3]!.slice(1)}`;
    expect(() => openSecrets(key, parts.join('.'))).toThrow();
  });

  it('after a rotation sign with both secrets for 24 h, then with the new one only', () => {
    const now = 1_000_000;
    const rotated = rotateSecrets(secrets, 'whsec_new', now);
    expect(signingSecrets(rotated, now + ROTATION_OVERLAP_MS - 1)).toEqual(['whsec_new', 'whsec_abc']);
    expect(signingSecrets(rotated, now + ROTATION_OVERLAP_MS)).toEqual(['whsec_new']);
    // A second rotation drops the already-expiring secret's claim to be current.
    expect(rotateSecrets(rotated, 'whsec_third', now + 10).map((s) => s.secret)).toEqual([
      'whsec_third',
      'whsec_new',
    ]);
  });

  it('refuse a short key', () => {
    expect(() => sealingKey('short')).toThrow(/16 characters/);
  });
});
