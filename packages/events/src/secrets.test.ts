import { describe, expect, it } from 'vitest';
import { displayPrefix, redactEventSecrets, redactSecrets } from './secrets.ts';

describe('secret redaction', () => {
  it.each([
    ['pf_live_AbCdEfGhIjKlMnOpQrStUvWx1234', 'pf_live_AbCd…'],
    ['sk_live_0123456789abcdef0123', 'sk_live_0123…'],
    ['pk_live_abc123def456ghi789jkl012mno345pqr678stu901vwx234yz', 'pk_live_abc1…'],
    ['ck_9f8e7d6c5b4a39281706', 'ck_9f8e…'],
    // The shortest shape a secret can have (19 characters: the quick length check's bound).
    ['ck_0123456789abcdef', 'ck_0123…'],
    ['st_0123456789abcdef', 'st_0123…'],
    ['Bearer sk_test_aaaaaaaaaaaaaaaaaaaa', 'Bearer sk_test_aaaa…'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzQyIn0.c2lnbmF0dXJlX2hlcmU', 'token eyJhbGci…'],
  ])('cuts %s to its display prefix', (secret, shown) => {
    const { value, redactions } = redactSecrets(secret);
    expect(value).toBe(shown);
    expect(redactions).toBe(1);
  });

  it.each([
    'pf_live_a1b2',
    'sk_live_XXXX',
    'req_01HZX3',
    'sess_1',
    'key_1_3',
    'https://app.example.com',
    'node-fetch/3',
    'ck_0123456789abcde',
  ])('leaves %s (not a secret) alone', (text) => {
    expect(redactSecrets(text)).toEqual({ value: text, redactions: 0 });
  });

  it('redacts anywhere inside an event, nested fields and arrays included', () => {
    const event = {
      key_prefix: 'pf_live_AbCdEfGhIjKlMnOpQrStUvWx',
      user_agent: 'curl/8 Authorization: Bearer pk_live_abcdefghijklmnopqrstuvwxyz',
      granted_scopes: ['read', 'sk_live_0123456789abcdef0123'],
      source: { name: 'gw', version: 'ck_9f8e7d6c5b4a39281706' },
    };
    expect(redactEventSecrets(event)).toBe(4);
    expect(JSON.stringify(event)).not.toMatch(/[A-Za-z0-9]{16,}/);
  });
});

describe('displayPrefix', () => {
  it.each([
    ['pf_live_AbCdEfGhIjKlMnOp', 'pf_live_AbCd'],
    ['sk_test_0123456789', 'sk_test_0123'],
    ['ck_9f8e7d6c5b4a', 'ck_9f8e'],
    ['eyJhbGciOiJIUzI1NiJ9.payload.sig', 'eyJh'],
  ])('shows %s as %s', (credential, shown) => {
    expect(displayPrefix(credential)).toBe(shown);
  });
});
