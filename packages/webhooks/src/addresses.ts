import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may not go: anything but public unicast. ipaddr.js names the ranges (loopback,
 * private, link-local — the cloud metadata address 169.254.169.254 among them — carrier-grade
 * NAT, unique-local, multicast, reserved, unspecified); an IPv4-mapped IPv6 address is judged as
 * the IPv4 address it carries, so ::ffff:127.0.0.1 is loopback.
 */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range();
}

export function isForbiddenAddress(address: string): boolean {
  return addressRange(address) !== 'unicast';
}

export interface UrlProblem {
  path: 'url';
  message: string;
}

/**
 * Checks a webhook URL as given (before any DNS): http(s) only, no credentials in it, and no
 * literal address outside public unicast unless private addresses are allowed. A host name is
 * checked again at every connection (createGuardedDispatcher), after DNS.
 */
export function checkWebhookUrl(text: string, allowPrivate: boolean): UrlProblem | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { path: 'url', message: 'is not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { path: 'url', message: 'must be http or https' };
  if (url.username || url.password) return { path: 'url', message: 'must not carry credentials' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && ipaddr.isValid(host) && isForbiddenAddress(host))
    return {
      path: 'url',
      message: `points at a ${addressRange(host)} address; set KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1 to allow it`,
    };
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost')))
    return { path: 'url', message: 'points at localhost; set KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1 to allow it' };
  return undefined;
}
