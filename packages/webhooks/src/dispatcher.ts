import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent } from 'undici';
import { forbiddenAddressReason, isForbiddenAddress } from './addresses.ts';

type Lookup = typeof dnsLookup;

/** Refused by the guard: the address a host name resolved to at connect time. */
export class ForbiddenAddressError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_FORBIDDEN';
}

/**
 * An undici dispatcher for `fetch` whose every connection checks the address DNS gave for it,
 * at connect time: the address checked is the address connected to, so a name that resolves to
 * a public address when the endpoint is created and to 127.0.0.1 later (DNS rebinding) is
 * refused at delivery. Deliveries use `redirect: 'manual'`, so a redirect is never followed to
 * an address nobody checked. `lookup` is Node's own unless a test gives another.
 */
export function createGuardedDispatcher(options: { allowPrivate: boolean; lookup?: Lookup }): Agent {
  const resolve = options.lookup ?? dnsLookup;
  const guardedLookup = ((
    hostname: string,
    lookupOptions: object,
    callback: (...args: unknown[]) => void,
  ) => {
    resolve(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err);
      const list = addresses as unknown as LookupAddress[];
      const refused = list.find((a) => isForbiddenAddress(a.address, options.allowPrivate));
      if (refused)
        return callback(
          new ForbiddenAddressError(
            `${hostname} resolves to ${refused.address}, ${forbiddenAddressReason(refused.address, options.allowPrivate)}`,
          ),
        );
      if ((lookupOptions as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  }) as unknown as Lookup;
  return new Agent({ connect: { lookup: guardedLookup } });
}
