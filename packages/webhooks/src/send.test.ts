import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedDispatcher } from './dispatcher.ts';
import { webhookBody, webhookMessageId } from './messages.ts';
import { sendWebhook } from './send.ts';

let server: Server;
let base = '';
const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ url: request.url ?? '', headers: request.headers, body });
      if (request.url === '/gone') response.writeHead(410).end();
      else if (request.url === '/moved') response.writeHead(301, { location: '/ok' }).end();
      else if (request.url === '/slow') setTimeout(() => response.writeHead(200).end(), 2_000);
      else response.writeHead(request.url === '/ok' ? 200 : 500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const dispatcher = createGuardedDispatcher({ allowPrivate: true });
const send = (path: string, timeoutMs?: number) =>
  sendWebhook({
    url: `${base}${path}`,
    messageId: webhookMessageId('ep_1', 'ale_1'),
    body: webhookBody('alert.fired', 0, { id: 'alt_1' }),
    secrets: [secret],
    dispatcher,
    allowPrivate: true,
    ...(timeoutMs ? { timeoutMs } : {}),
  });

describe('sendWebhook', () => {
  it('delivers a body a receiver verifies with its own HMAC-SHA256 (Standard Webhooks)', async () => {
    const result = await send('/ok');
    expect(result).toMatchObject({ outcome: 'DELIVERED', statusCode: 200, error: '' });
    const got = received.at(-1)!;
    const id = got.headers['webhook-id'] as string;
    const ts = got.headers['webhook-timestamp'] as string;
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${ts}.${got.body}`).digest('base64');
    expect(got.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(JSON.parse(got.body)).toEqual({
      type: 'alert.fired',
      timestamp: '1970-01-01T00:00:00.000Z',
      data: { id: 'alt_1' },
    });
  });

  it('says retry on a 5xx, gone on a 410, and does not follow a redirect', async () => {
    expect(await send('/fail')).toMatchObject({ outcome: 'RETRY', statusCode: 500, error: 'HTTP 500' });
    expect(await send('/gone')).toMatchObject({ outcome: 'ENDPOINT_GONE', statusCode: 410 });
    const before = received.length;
    const moved = await send('/moved');
    expect(moved).toMatchObject({ outcome: 'RETRY', statusCode: 301 });
    expect(moved.error).toMatch(/redirect to \/ok not followed/);
    expect(received.length).toBe(before + 1);
  });

  it('gives up on an endpoint that does not answer in time, as a retry', async () => {
    const result = await send('/slow', 300);
    expect(result).toMatchObject({ outcome: 'RETRY', statusCode: 0 });
    expect(result.error).toMatch(/no answer in 300 ms/);
  });

  it('turns a refused address into a retry with the reason, never a throw', async () => {
    const guarded = createGuardedDispatcher({ allowPrivate: false });
    const result = await sendWebhook({
      url: `${base}/ok`,
      messageId: 'msg_1',
      body: '{}',
      secrets: [secret],
      dispatcher: guarded,
      allowPrivate: false,
    });
    expect(result.outcome).toBe('RETRY');
    expect(result.error).toMatch(/loopback/);
  });
});
