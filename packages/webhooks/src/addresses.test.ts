import { describe, expect, it } from 'vitest';
import { addressRange, checkWebhookUrl, isForbiddenAddress } from './addresses.ts';

describe('addresses webhooks may not reach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], // cloud metadata
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fd00::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped IPv6 is judged as its IPv4
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::', 'unspecified'],
  ])('%s is %s: forbidden', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('%s is public: allowed', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    ['127.0.0.1', false],
    ['::1', false],
    ['10.1.2.3', false],
    ['192.168.1.1', false],
    ['fd00::1', false],
    ['100.64.0.1', false], // a VPN's range
    ['169.254.169.254', true], // cloud metadata: never
    ['::ffff:169.254.169.254', true],
    ['fe80::1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['8.8.8.8', false],
  ])('with private addresses allowed, %s forbidden: %s', (address, forbidden) => {
    expect(isForbiddenAddress(address, true)).toBe(forbidden);
  });

  it('checks a URL before any DNS: scheme, credentials, literal addresses, localhost', () => {
    expect(checkWebhookUrl('https://hooks.example.com/keytrail', false)).toBeUndefined();
    expect(checkWebhookUrl('not a url', false)?.message).toBe('is not a URL');
    expect(checkWebhookUrl('ftp://hooks.example.com/', false)?.message).toBe('must be http or https');
    expect(checkWebhookUrl('https://user:pw@hooks.example.com/', false)?.message).toBe(
      'must not carry credentials',
    );
    expect(checkWebhookUrl('http://169.254.169.254/latest/meta-data', false)?.message).toMatch(
      /linkLocal address/,
    );
    expect(checkWebhookUrl('http://[::ffff:7f00:1]:8080/', false)?.message).toMatch(/loopback address/);
    expect(checkWebhookUrl('http://localhost:3000/', false)?.message).toMatch(/localhost/);
    expect(checkWebhookUrl('http://127.0.0.1:3000/', true)).toBeUndefined();
    expect(checkWebhookUrl('http://localhost:3000/', true)).toBeUndefined();
    expect(checkWebhookUrl('http://169.254.169.254/latest/meta-data', true)?.message).toMatch(
      /linkLocal address, where webhooks never go/,
    );
  });
});
