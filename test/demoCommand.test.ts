import { execFileSync } from 'node:child_process';
import { isPortFree } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import { freePort, spawnKeytrail, tempDir } from './kit/index.ts';

function javaProcessesUsing(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('kafka.Kafka') && line.includes(dir));
}

/**
 * `npm run demo` is `keytrail up --demo`: with no KEYTRAIL_KAFKA_BROKERS it starts its own
 * Kafka broker, sends simulated traffic with a probe attack, and shows what it found.
 */
describe('keytrail up --demo', () => {
  it('runs the whole pipeline with a managed broker and leaves nothing behind', async () => {
    const dataDir = tempDir('demo');
    const port = await freePort();
    const env: Record<string, string> = { KEYTRAIL_DATA_DIR: dataDir, KEYTRAIL_PORT: String(port) };
    delete process.env.KEYTRAIL_KAFKA_BROKERS;
    const demo = spawnKeytrail(['up', '--demo', '--exit'], env);
    const code = await demo.exited;
    const output = demo.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/Keytrail is up at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/Admin token \(generated for this run\): kt_admin_/);
    expect(output).toMatch(/20000 decisions queryable/);
    // The probe attack comes from three addresses; the demo shows them.
    expect(output).toMatch(/198\.51\.100\.\d+\s+\d+ attempts/);
    // It ends with answers from the query API: busiest keys, where one was used from, billing.
    expect(output).toMatch(/Busiest keys in ws_1[\s\S]*key_\d+_\d+\s+\d+ requests/);
    expect(output).toMatch(/Where key_\d+_\d+ was used from[\s\S]*\d+ requests/);
    expect(output).toMatch(/period_start,end_user_id,billable_requests,cost_micros,keys/);
    // The attack fires an alert, shown from GET /alerts and received, verified, by the demo's receiver.
    expect(output).toMatch(/Alerts in ws_1[\s\S]*INVALID_KEY_SPIKE HIGH: \d+ invalid-key attempts/);
    expect(output).toMatch(
      /Webhook received by http:\/\/127\.0\.0\.1:\d+\/hooks\/keytrail, signature verified/,
    );
    expect(output).toMatch(/"type":"alert\.fired"/);
    // A one-click sign-in link for the dashboard: a one-time code, not the token.
    const link = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/#\/signin\?code=ktl_[A-Za-z0-9_-]{43})\s/.exec(
      output,
    );
    expect(link, output).not.toBeNull();
    const token = /Admin token \(generated for this run\): (\S+)/.exec(output)![1]!;
    expect(link![1]).not.toContain(token);
    expect(javaProcessesUsing(dataDir)).toEqual([]);
    expect(await isPortFree(port)).toBe(true);
  });
});
