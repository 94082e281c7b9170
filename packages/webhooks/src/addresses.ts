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

/**
 * What KEYTRAIL_WEBHOOK_ALLOW_PRIVATE opens: a receiver on this machine or its network (a VPN's
 * carrier-grade NAT range included). Link-local (the cloud metadata address), multicast,
 * unspecified and reserved ranges stay closed: no webhook receiver lives there.
 */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);

export function isForbiddenAddress(address: string, allowPrivate = false): boolean {
  const range = addressRange(address);
  return range !== 'unicast' && !(allowPrivate && PRIVATE_RANGES.has(range));
}

/** Why an address is refused, for the API's answer and the delivery's error. */
export function forbiddenAddressReason(address: string, allowPrivate: boolean): string {
  const range = addressRange(address);
  return allowPrivate
    ? `a ${range} address, where webhooks never go (KEYTRAIL_WEBHOOK_ALLOW_PRIVATE opens loopback and private addresses only)`
    : `a ${range} address; set KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1 to allow it`;
}

export interface UrlProblem {
  path: 'url';
  message: string;
}

/**
 * Checks a webhook URL as given (before any DNS): http(s) only, no credentials in it, and no
 * literal address outside public unicast (or, when private addresses are allowed, outside
 * PRIVATE_RANGES too). A host name is checked again at every connection
 * (createGuardedDispatcher), after DNS.
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
  if (ipaddr.isValid(host) && isForbiddenAddress(host, allowPrivate))
    return { path: 'url', message: `points at ${forbiddenAddressReason(host, allowPrivate)}` };
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost')))
    return { path: 'url', message: 'points at localhost; set KEYTRAIL_WEBHOOK_ALLOW_PRIVATE=1 to allow it' };
  return undefined;
}
