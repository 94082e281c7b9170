import { type ClickHouseDriver, countAuthDecisions, getProbeSources } from '@keytrail/clickhouse';
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
  const to = new Date().toISOString();
  const usage = await fetch(
    `${options.url}/v1/workspaces/ws_1/keys/key_1_3/usage?from=${from}&to=${to}&granularity=hour`,
    { headers: { authorization: `Bearer ${options.token}` } },
  ).then((r) => r.json());
  console.log('\nUsage of key_1_3 (GET /v1/workspaces/ws_1/keys/key_1_3/usage, hourly):');
  console.log(JSON.stringify(usage, null, 2));

  const probes = await getProbeSources(options.ch, {
    workspaceId: 'ws_1',
    from: new Date(from),
    to: new Date(to),
    limit: 5,
  });
  console.log('\nLeaked-key probes in ws_1 by source IP:');
  for (const p of probes)
    console.log(
      `  ${p.client_ip.padEnd(16)} ${String(p.attempts).padStart(6)} attempts, ${p.distinct_prefixes} key prefixes`,
    );
  console.log(
    `\nDemo: ${result.accepted} events accepted in ${result.requests} requests, ${rows} decisions queryable.`,
  );
  console.log(
    `Try: curl -H 'authorization: Bearer ${options.token}' '${options.url}/v1/workspaces/ws_1/keys/key_1_3/usage?from=${from}&to=${to}&granularity=minute'`,
  );
}
