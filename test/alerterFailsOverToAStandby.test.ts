import { createHttpDriver, migrate } from '@keytrail/clickhouse';
import type { AuthDecision } from '@keytrail/events';
import { createAlertEventCodec } from '@keytrail/events';
import { fullAuthDecision } from '@keytrail/events/fixtures';
import { readWholeTopic } from '@keytrail/kafka';
import { describe, expect, it } from 'vitest';
import {
  createTestKafka,
  produceDecisions,
  type ServiceProcess,
  startChdbHttpServer,
  startService,
  uniquePrefix,
  waitFor,
} from './kit/index.ts';

// Distributed mode: two `keytrail alerter` processes on one group. One holds every partition and
// judges; the other stands by. SIGKILL the active one: the standby takes over, rebuilds from the
// topics, fires what is new and does not fire again what was already fired.
const WS = 'ws_failover';

let n = 0;
function probe(ip: string, count: number, start: number): AuthDecision[] {
  return Array.from({ length: count }, (_, i) =>
    fullAuthDecision({
      event_id: `0193bbbb-0000-7000-8000-${(++n).toString(16).padStart(12, '0')}`,
      workspace_id: WS,
      occurred_at: start + i * 200,
      request_id: `req_${ip}_${n}`,
      key_id: null,
      key_prefix: 'pf_live_zz',
      presented_key_hash: `hash_${n}`,
      client_ip: ip,
      outcome: 'INVALID_KEY',
      http_status: 401,
      quota: null,
      cost: 0,
    }),
  );
}

describe('keytrail alerter with a standby', () => {
  it('a standby takes over from a SIGKILLed alerter without firing an alert twice', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url });
    await migrate(ch);
    const prefix = uniquePrefix('alerter-failover');
    const { kafka, topics } = await createTestKafka(prefix);
    const env = { KEYTRAIL_SECRET_KEY: 'failover-test-secret-key' };
    const a = await startService('alerter', { clickhouseUrl: server.url, topicPrefix: prefix, env });
    const b = await startService('alerter', { clickhouseUrl: server.url, topicPrefix: prefix, env });
    try {
      const active = async (): Promise<[ServiceProcess, ServiceProcess] | undefined> => {
        const [ma, mb] = [
          await a.metric('keytrail_alerter_active'),
          await b.metric('keytrail_alerter_active'),
        ];
        if (ma + mb !== 1) return undefined;
        return ma === 1 ? [a, b] : [b, a];
      };
      const [first, standby] = await waitFor('one active alerter, one standing by', active, 60_000, 200);
      for (const service of [a, b]) expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

      await produceDecisions(kafka, topics, probe('203.0.113.10', 40, Date.now() - 10_000));
      const alerted = async (ip: string) => {
        const rows = await ch.query<{ alert_id: string }>(
          `SELECT alert_id FROM alerts FINAL WHERE workspace_id = {ws:String} AND client_ip = {ip:String}`,
          { ws: WS, ip },
        );
        return rows.length > 0 ? rows : undefined;
      };
      const [firstAlert] = await waitFor(
        'the first attack alerted',
        () => alerted('203.0.113.10'),
        60_000,
        200,
      );
      expect(await standby.metric('keytrail_alerts_total')).toBe(0);

      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      // The same attack goes on, and a new one starts, while the standby takes over.
      await produceDecisions(kafka, topics, [
        ...probe('203.0.113.10', 30, Date.now() - 5_000),
        ...probe('198.51.100.20', 40, Date.now() - 5_000),
      ]);
      await waitFor(
        'the standby active',
        async () => (await standby.metric('keytrail_alerter_active')) === 1,
        60_000,
        200,
      );
      await waitFor('the new attack alerted by the standby', () => alerted('198.51.100.20'), 60_000, 200);

      // keytrail.alerts holds one FIRED per attack: the takeover fired nothing twice.
      const codec = createAlertEventCodec();
      const fired: (string | null)[] = [];
      await readWholeTopic(kafka, topics.alerts, (message) => {
        const event = codec.decode(message.value!);
        if (event.change === 'FIRED') fired.push(event.scope.client_ip);
      });
      expect(fired.sort()).toEqual(['198.51.100.20', '203.0.113.10']);
      expect(await alerted('203.0.113.10')).toEqual([firstAlert]);
    } finally {
      await a.terminate();
      await b.terminate();
      await ch.close();
      await server.close();
    }
  });
});
