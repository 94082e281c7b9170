import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { createWebhookSecret, maskWebhookSecret, signWebhook } from './signing.ts';

/** The Standard Webhooks signature computed from the spec alone, not with the library. */
function specSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe('signWebhook', () => {
  const body = JSON.stringify({
    type: 'alert.fired',
    timestamp: '2026-11-22T12:00:00.000Z',
    data: { id: 'alt_1' },
  });
  const at = new Date('2026-11-22T12:00:03.250Z');

  it('signs as the Standard Webhooks spec says, checked by an independent HMAC', () => {
    const secret = createWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const headers = signWebhook([secret], 'msg_1', at, body);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-timestamp']).toBe('1795348803');
    expect(headers['webhook-signature']).toBe(specSignature(secret, 'msg_1', '1795348803', body));
  });

  it('signs with both secrets during a rotation, so either verifies', () => {
    const [old, fresh] = [createWebhookSecret(), createWebhookSecret()];
    const headers = signWebhook([fresh, old], 'msg_2', at, body);
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toEqual([
      specSignature(fresh, 'msg_2', headers['webhook-timestamp'], body),
      specSignature(old, 'msg_2', headers['webhook-timestamp'], body),
    ]);
    // A receiver using the library with either secret accepts it (inside its 5-minute tolerance).
    const now = signWebhook([fresh, old], 'msg_3', new Date(), body);
    for (const secret of [old, fresh]) expect(new Webhook(secret).verify(body, { ...now })).toBeTruthy();
    expect(() => new Webhook(createWebhookSecret()).verify(body, { ...now })).toThrow();
  });

  it('refuses to sign without a secret and never shows a whole secret', () => {
    expect(() => signWebhook([], 'm', at, body)).toThrow('at least one secret');
    const secret = createWebhookSecret();
    const masked = maskWebhookSecret(secret);
    expect(masked).not.toContain(secret.slice(10, -4));
    expect(masked.startsWith('whsec_')).toBe(true);
  });
});
