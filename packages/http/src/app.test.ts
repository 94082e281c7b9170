import { deflateSync, gzipSync } from 'node:zlib';
import { createLogger, ID_PATTERN, MAX_ID_LENGTH } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from './app.ts';
import { adminAuthenticator } from './auth.ts';
import type { ReadinessCheck } from './readiness.ts';

const appWith = (readiness: Record<string, ReadinessCheck>, bodyLimit?: number) =>
  createHttpApp({
    logger: createLogger('test', 'silent'),
    authenticate: adminAuthenticator('kt_x_0123456789'),
    readiness,
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
  });

describe('/readyz', () => {
  it('is 200 only when every check passes, and names each', async () => {
    const ready = await appWith({ kafka: async () => true, migrations: async () => true }).inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { kafka: true, migrations: true } });
    const pending = await appWith({ kafka: async () => true, migrations: async () => false }).inject(
      '/readyz',
    );
    expect(pending.statusCode).toBe(503);
    expect(pending.json()).toEqual({ status: 'not_ready', checks: { kafka: true, migrations: false } });
  });

  it('answers within a second when a dependency hangs or throws', async () => {
    const app = appWith({
      kafka: () => new Promise<boolean>(() => {}),
      clickhouse: async () => Promise.reject(new Error('ECONNREFUSED')),
    });
    const started = Date.now();
    const reply = await app.inject('/readyz');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reply.statusCode).toBe(503);
    expect(reply.json().checks).toEqual({ kafka: false, clickhouse: false });
  });
});

describe('ids in paths', () => {
  const ID_SCHEMA = { type: 'string', maxLength: MAX_ID_LENGTH, pattern: ID_PATTERN } as const;
  const appWithIdRoute = () => {
    const app = appWith({});
    app.get(
      '/things/:id',
      { schema: { params: { type: 'object', properties: { id: ID_SCHEMA } } } },
      async (request) => ({ id: (request.params as { id: string }).id }),
    );
    return app;
  };

  it('routes every id the event rule allows, percent-encoded, to the route', async () => {
    const app = appWithIdRoute();
    // 256 characters of 3 UTF-8 bytes each: 2,304 characters in the URL.
    for (const id of ['r'.repeat(MAX_ID_LENGTH), '€'.repeat(MAX_ID_LENGTH), `req_${'x'.repeat(146)}`]) {
      const reply = await app.inject(`/things/${encodeURIComponent(id)}`);
      expect(reply.statusCode).toBe(200);
      expect(reply.json()).toEqual({ id });
    }
  });

  it('refuses a longer id in the one error shape, from the schema or the router', async () => {
    const app = appWithIdRoute();
    const schemaSays = await app.inject(`/things/${'r'.repeat(MAX_ID_LENGTH + 1)}`);
    expect(schemaSays.statusCode).toBe(400);
    expect(schemaSays.json().error.code).toBe('VALIDATION_FAILED');
    const routerSays = await app.inject({
      url: `/things/${'r'.repeat(MAX_ID_LENGTH * 9 + 1)}`,
      headers: { 'x-request-id': 'req-long' },
    });
    expect(routerSays.statusCode).toBe(400);
    expect(routerSays.headers['x-request-id']).toBe('req-long');
    expect(routerSays.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(`at most ${MAX_ID_LENGTH} characters`),
        request_id: 'req-long',
        details: [{ path: 'params', message: expect.any(String) }],
      },
    });
    // The path is not echoed back.
    expect(routerSays.body).not.toContain('rrrrrrrr');
  });

  it('answers a malformed percent-encoding with BAD_REQUEST and the request id', async () => {
    const reply = await appWithIdRoute().inject({
      url: '/things/%zz',
      headers: { 'x-request-id': 'req-bad' },
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({
      error: { code: 'BAD_REQUEST', message: expect.any(String), request_id: 'req-bad' },
    });
  });
});

describe('JSON bodies', () => {
  const appWithEcho = (bodyLimit?: number) => {
    const app = appWith({}, bodyLimit);
    app.post('/echo', async (request) => ({ body: request.body ?? null }));
    return app;
  };
  const post = (payload: string) =>
    appWithEcho().inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-json' },
      payload,
    });

  it('says where a body stops being JSON', async () => {
    const reply = await post('{"events": [1, 2,]}');
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({
      error: {
        code: 'INVALID_BODY',
        message: expect.stringMatching(/^The body is not valid JSON: Unexpected token '\]'/),
        request_id: 'req-json',
      },
    });
  });

  it.each([
    ['{"a": {"__proto__": {"admin": true}}}', '__proto__'],
    ['{"constructor": {"prototype": {"admin": true}}}', 'constructor.prototype'],
  ])('names the refused key in %s', async (payload, key) => {
    const reply = await post(payload);
    expect(reply.statusCode).toBe(400);
    expect(reply.json().error).toMatchObject({
      code: 'INVALID_BODY',
      message: expect.stringContaining(`"${key}"`),
    });
  });

  const postEncoded = (coding: string, payload: Buffer, limit?: number, type = 'application/json') =>
    appWithEcho(limit).inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': type, 'content-encoding': coding },
      payload,
    });

  it('decodes gzip and deflate bodies', async () => {
    const json = '{"events": [{"a": "é"}]}';
    for (const [coding, payload] of [
      ['gzip', gzipSync(json)],
      ['x-gzip', gzipSync(json)],
      ['Deflate', deflateSync(json)],
      ['identity', Buffer.from(json)],
    ] as const) {
      const reply = await postEncoded(coding, payload);
      expect(reply.statusCode, coding).toBe(200);
      expect(reply.json()).toEqual({ body: { events: [{ a: 'é' }] } });
    }
  });

  it('refuses a body that is not what its coding says, a bomb past the limit, and other codings', async () => {
    const notGzip = await postEncoded('gzip', Buffer.from('{"a": 1}'));
    expect(notGzip.statusCode).toBe(400);
    expect(notGzip.json().error).toMatchObject({
      code: 'INVALID_BODY',
      message: expect.stringMatching(/^The body is not valid gzip: /),
    });
    // 64 MiB of spaces is 64 KiB of gzip: within the limit as sent, far past it decoded.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const exploded = await postEncoded('gzip', bomb, 1024 * 1024);
    expect(exploded.statusCode).toBe(413);
    expect(exploded.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    // A body no parser reads (an unknown content type) is never decoded: a 415, and its decoding
    // error does not reach the process (vitest fails the run on an unhandled error).
    const unread = await postEncoded('gzip', Buffer.from('not gzip at all'), undefined, 'image/png');
    expect(unread.statusCode).toBe(415);
    const brotli = await postEncoded('br', Buffer.from('{}'));
    expect(brotli.statusCode).toBe(415);
    expect(brotli.json().error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringContaining('"br" is not supported'),
    });
  });

  it('says which content type it refused, or that none was sent', async () => {
    const app = appWithEcho();
    const none = await app.inject({ method: 'POST', url: '/echo', payload: Buffer.from('{}') });
    expect(none.statusCode).toBe(415);
    expect(none.json().error.message).toMatch(/^The body has no Content-Type: send application\/json/);
    const xml = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(xml.json().error.message).toMatch(/^Content-Type "application\/xml" is not accepted here/);
  });

  it('parses JSON, and takes an empty body as none', async () => {
    expect((await post('{"a": [1, "é"]}')).json()).toEqual({ body: { a: [1, 'é'] } });
    expect((await post('')).json()).toEqual({ body: null });
  });
});
