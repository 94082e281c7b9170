import { type ClickHouseDriver, countAuthDecisions } from '@keytrail/clickhouse';
import { sleep } from '@keytrail/core';
import { simulate } from './simulate.ts';

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
  const ask = async (path: string) => {
    const response = await fetch(`${options.url}${path}`, {
      headers: { authorization: `Bearer ${options.token}` },
    });
    return response.headers.get('content-type')?.startsWith('application/json')
      ? response.json()
      : response.text();
  };
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

  console.log(
    `\nDemo: ${result.accepted} events accepted in ${result.requests} requests, ${rows} decisions queryable.`,
  );
  console.log(`API reference: ${options.url}/docs`);
  console.log(
    `Try: curl -H 'authorization: Bearer ${options.token}' '${options.url}/v1/workspaces/ws_1/keys/${key}/usage?${range}&granularity=hour'`,
  );
}
