import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedDispatcher, ForbiddenAddressError } from './dispatcher.ts';

// A real HTTP server on loopback; host names resolve through a lookup the test controls, as a
// DNS server would answer them.
let server: Server;
let port = 0;
const hits: string[] = [];
beforeAll(async () => {
  server = createServer((request, response) => {
    hits.push(request.url ?? '');
    if (request.url === '/redirect') {
      response.writeHead(302, { location: `http://127.0.0.1:${port}/inside` }).end();
      return;
    }
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A resolver that answers each call with the next address of `answers`. */
function resolver(...answers: string[]) {
  let call = 0;
  return ((_host: string, _options: object, callback: (err: Error | null, a: LookupAddress[]) => void) => {
    const address = answers[Math.min(call++, answers.length - 1)]!;
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
  }) as never;
}

async function deliver(url: string, dispatcher: ReturnType<typeof createGuardedDispatcher>) {
  try {
    const response = await fetch(url, { method: 'POST', body: '{}', redirect: 'manual', dispatcher });
    return { status: response.status };
  } catch (err) {
    return { error: (err as Error & { cause?: Error }).cause ?? (err as Error) };
  }
}

describe('createGuardedDispatcher', () => {
  it('refuses a host name that resolves to a private address, at connect time', async () => {
    const result = await deliver(
      `http://hooks.example:${port}/a`,
      createGuardedDispatcher({ allowPrivate: false, lookup: resolver('127.0.0.1') }),
    );
    expect(result.error).toBeInstanceOf(ForbiddenAddressError);
    expect(result.error?.message).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);
    expect(hits).not.toContain('/a');
  });

  it('checks the address it connects to, so DNS that changes after a check (rebinding) is refused', async () => {
    // The first answer (the check when the endpoint was created) is public; the next, at
    // delivery, is loopback.
    const lookup = resolver('93.184.216.34', '127.0.0.1');
    const atCreation = await new Promise<LookupAddress[]>((resolve) =>
      (lookup as (h: string, o: object, cb: (e: null, a: LookupAddress[]) => void) => void)(
        'rebind.example',
        {},
        (_e, a) => resolve(a),
      ),
    );
    expect(atCreation[0]!.address).toBe('93.184.216.34');
    const result = await deliver(
      `http://rebind.example:${port}/b`,
      createGuardedDispatcher({ allowPrivate: false, lookup }),
    );
    expect(result.error).toBeInstanceOf(ForbiddenAddressError);
    expect(hits).not.toContain('/b');
  });

  it('refuses IPv4-mapped IPv6 and metadata answers too', async () => {
    for (const answer of ['::ffff:127.0.0.1', '169.254.169.254']) {
      const result = await deliver(
        `http://mapped.example:${port}/c`,
        createGuardedDispatcher({ allowPrivate: false, lookup: resolver(answer) }),
      );
      expect(result.error, answer).toBeInstanceOf(ForbiddenAddressError);
    }
  });

  it('refuses a metadata answer even when private addresses are allowed', async () => {
    const result = await deliver(
      `http://metadata.example:${port}/c`,
      createGuardedDispatcher({ allowPrivate: true, lookup: resolver('169.254.169.254') }),
    );
    expect(result.error).toBeInstanceOf(ForbiddenAddressError);
    expect(result.error?.message).toMatch(/169\.254\.169\.254, a linkLocal address, where webhooks never go/);
  });

  it('delivers to loopback only when private addresses are allowed, and never follows a redirect', async () => {
    const dispatcher = createGuardedDispatcher({ allowPrivate: true, lookup: resolver('127.0.0.1') });
    expect(await deliver(`http://receiver.example:${port}/ok`, dispatcher)).toEqual({ status: 204 });
    expect(await deliver(`http://receiver.example:${port}/redirect`, dispatcher)).toEqual({ status: 302 });
    expect(hits).toContain('/ok');
    expect(hits).not.toContain('/inside');
  });
});
