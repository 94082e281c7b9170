import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClickHouseDriver, countAuthDecisions } from '@keytrail/clickhouse';
import { sleep } from '@keytrail/core';
import { simulate } from './simulate.ts';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on loopback for the demo (`up --demo` turns on the private-address opt-in
 * for it): it keeps what it is sent, so the demo can verify and print the first alert.
 */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      deliveries.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // It keeps taking deliveries while `up` runs, and never keeps the process alive by itself.
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/keytrail`, deliveries };
}

/** Standard Webhooks verification as a receiver would write it: HMAC-SHA256 of "id.timestamp.body". */
function verify(secret: string, delivery: Delivery): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${delivery.headers['webhook-id']}.${delivery.headers['webhook-timestamp']}.${delivery.body}`)
    .digest('base64');
  return String(delivery.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

const DEMO_DECISIONS = 20_000;

/** `keytrail up --demo`: simulated traffic with a probe attack, then what Keytrail saw of it. */
export async function runDemo(options: {
  url: string;
  token: string;
  ch: ClickHouseDriver;
  seed: number;
}): Promise<void> {
  const startMs = Date.now() - 30 * 60 * 1000;
  const before = await countAuthDecisions(options.ch);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${options.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return response.headers.get('content-type')?.startsWith('application/json')
      ? response.json()
      : response.text();
  };
  const receiver = await startReceiver();
  const endpoint = (await call('POST', '/v1/workspaces/ws_1/webhooks', { url: receiver.url })) as {
    id: string;
    secret: string;
  };
  console.log(
    `Webhook receiver at ${receiver.url} (endpoint ${endpoint.id}, secret shown once: ${endpoint.secret.slice(0, 10)}…)`,
  );
  console.log(
    `Sending ${DEMO_DECISIONS} simulated auth decisions (seed ${options.seed}) with a leaked-key probe attack…`,
  );
  const result = await simulate({
    url: options.url,
    token: options.token,
    seed: options.seed,
    decisions: DEMO_DECISIONS,
    probeAttack: true,
    startMs,
    onProgress: (sent) => process.stdout.write(`\r  accepted ${sent}`),
  });
  process.stdout.write('\n');

  // Wait for the projector: every accepted decision becomes one row.
  const deadline = Date.now() + 120_000;
  let rows = 0;
  while (Date.now() < deadline) {
    rows = (await countAuthDecisions(options.ch)) - before;
    process.stdout.write(`\r  projected ${rows} of ${DEMO_DECISIONS} decisions`);
    if (rows >= DEMO_DECISIONS) break;
    await sleep(500);
  }
  process.stdout.write('\n');

  const from = new Date(startMs - 60_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  // Every answer below comes through the public API, as a user would ask it.
  const ask = (path: string) => call('GET', path);
  const range = `from=${from}&to=${to}`;

  const probes = (await ask(`/v1/workspaces/ws_1/probes?${range}&group_by=client_ip&limit=5`)) as {
    rows: { value: string; attempts: number; distinct_key_hashes: number }[];
  };
  console.log('\nTop probing IPs in ws_1 (GET /v1/workspaces/ws_1/probes?group_by=client_ip):');
  for (const p of probes.rows)
    console.log(
      `  ${p.value.padEnd(16)} ${String(p.attempts).padStart(6)} attempts, ${p.distinct_key_hashes} distinct keys`,
    );

  const top = (await ask(`/v1/workspaces/ws_1/usage?${range}&group_by=key_id&limit=4`)) as {
    rows: { value: string; total: number; by_outcome: Record<string, number> }[];
  };
  console.log('\nBusiest keys in ws_1 (GET /v1/workspaces/ws_1/usage?group_by=key_id):');
  for (const r of top.rows)
    console.log(
      `  ${(r.value || '(unknown key)').padEnd(14)} ${String(r.total).padStart(6)} requests ${JSON.stringify(r.by_outcome)}`,
    );

  // The busiest known key (probes with unknown keys have no key id).
  const key = top.rows.find((r) => r.value !== '')?.value ?? 'key_1_3';
  const activity = (await ask(`/v1/workspaces/ws_1/keys/${key}/activity?${range}&limit=5`)) as {
    sources: { client_ip: string; requests: number; new: boolean; by_outcome: Record<string, number> }[];
  };
  console.log(`\nWhere ${key} was used from (GET /v1/workspaces/ws_1/keys/${key}/activity):`);
  for (const a of activity.sources)
    console.log(
      `  ${a.client_ip.padEnd(16)} ${String(a.requests).padStart(6)} requests${a.new ? '  NEW' : ''}`,
    );

  const day = (t: string) => t.slice(0, 10);
  const nextDay = new Date(Date.now() + 86_400_000).toISOString();
  const billing = (await ask(
    `/v1/workspaces/ws_1/billing/export?from=${day(from)}T00:00:00Z&to=${day(nextDay)}T00:00:00Z&period=day&format=csv`,
  )) as string;
  console.log('\nBilling export excerpt (GET /v1/workspaces/ws_1/billing/export?period=day&format=csv):');
  for (const line of billing.trim().split('\r\n').slice(0, 6)) console.log(`  ${line}`);

  // The probe attack fires an alert; it is in GET /alerts and was delivered to the receiver.
  const alertDeadline = Date.now() + 60_000;
  let alert: { id: string; kind: string; summary: string; severity: string } | undefined;
  let delivery: Delivery | undefined;
  while (Date.now() < alertDeadline && !(alert && delivery)) {
    const { alerts } = (await ask('/v1/workspaces/ws_1/alerts?kind=INVALID_KEY_SPIKE')) as {
      alerts: { id: string; kind: string; summary: string; severity: string }[];
    };
    alert = alerts[0];
    delivery = receiver.deliveries.find((d) => alert && JSON.parse(d.body).data?.id === alert.id);
    if (!(alert && delivery)) await sleep(500);
  }
  if (alert) {
    console.log('\nAlerts in ws_1 (GET /v1/workspaces/ws_1/alerts):');
    console.log(`  ${alert.kind} ${alert.severity}: ${alert.summary}`);
  } else console.log('\nNo alert arrived within 60 s (see keytrail_alerter_* in /metrics).');
  // The simulator's other causes: a key in a retry loop (ws_2) and a key near its quota (ws_3).
  for (const ws of ['ws_2', 'ws_3']) {
    const { alerts: firing } = (await ask(`/v1/workspaces/${ws}/alerts?status=firing&limit=5`)) as {
      alerts: { kind: string; severity: string; summary: string }[];
    };
    if (firing.length === 0) continue;
    console.log(`Alerts in ${ws}:`);
    for (const a of firing) console.log(`  ${a.kind} ${a.severity}: ${a.summary}`);
  }
  if (delivery) {
    console.log(
      `\nWebhook received by ${receiver.url}, signature ${verify(endpoint.secret, delivery) ? 'verified' : 'NOT VALID'} (webhook-id ${delivery.headers['webhook-id']}):`,
    );
    console.log(`  ${delivery.body.slice(0, 400)}${delivery.body.length > 400 ? '…' : ''}`);
  }

  console.log(
    `\nDemo: ${result.accepted} events accepted in ${result.requests} requests, ${rows} decisions queryable.`,
  );
  console.log(`API reference: ${options.url}/docs`);
  // A one-time code, not the token, goes in the link: it is exchanged for the token once, in a body.
  const signIn = (await call('POST', '/v1/login-codes', { workspace_id: 'ws_1' })) as { path?: string };
  if (signIn.path)
    console.log(`Dashboard: ${options.url}${signIn.path}  (one-click sign-in, valid 15 min, once)`);
  else console.log(`Dashboard: ${options.url}/ (sign in with the admin token)`);
  console.log(
    `Try: curl -H 'authorization: Bearer ${options.token}' '${options.url}/v1/workspaces/ws_1/keys/${key}/usage?${range}&granularity=hour'`,
  );
}
