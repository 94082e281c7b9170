import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHttpDriver } from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import { clickHouseDriverSuite } from './kit/clickhouseDriverSuite.ts';
import { startChdbHttpServer } from './kit/index.ts';

// 1. Always: @clickhouse/client against the real ClickHouse engine behind chdb's HTTP endpoint.
clickHouseDriverSuite('http (@clickhouse/client → chdb endpoint)', async () => {
  const server = await startChdbHttpServer();
  const ch = createHttpDriver({ url: server.url });
  return {
    ch,
    close: async () => {
      await ch.close();
      await server.close();
    },
  };
});

describe('http driver priorities', () => {
  it('sends reads at a higher OS priority than writes and streams, and checks the nice value', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url, queryNice: -3 });
    try {
      // What each statement ran with, read back through the server: a write records its own
      // setting in a table, a read and a stream report theirs.
      await ch.command('CREATE TABLE seen (priority Int64) ENGINE = MergeTree ORDER BY priority');
      await ch.command("INSERT INTO seen SELECT getSetting('os_thread_priority')");
      expect(await ch.query('SELECT priority FROM seen')).toEqual([{ priority: 0 }]);
      const reported = "SELECT getSetting('os_thread_priority') AS priority";
      expect(await ch.query(reported)).toEqual([{ priority: -3 }]);
      expect(await ch.queryLines(reported)).toBe('-3\n');
      const streamed: unknown[] = [];
      for await (const row of ch.stream(reported)) streamed.push(row);
      expect(streamed).toEqual([{ priority: 0 }]);
    } finally {
      await ch.close();
      await server.close();
    }
    expect(() => createHttpDriver({ url: server.url, queryNice: 1 })).toThrow(/from -20 to 0/);
  });
});

describe('http driver outage', () => {
  it('reports an unreachable server as retriable and recovers when it returns', async () => {
    const server = await startChdbHttpServer();
    const ch = createHttpDriver({ url: server.url, requestTimeoutMs: 2_000 });
    try {
      expect(await ch.ping()).toBe(true);
      await server.stop();
      expect(await ch.ping()).toBe(false);
      const err = await ch.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
      await server.start();
      expect(await ch.query<{ x: number }>('SELECT 1 AS x')).toEqual([{ x: 1 }]);
    } finally {
      await ch.close();
      await server.close();
    }
  });
});

// 2. A real ClickHouse server: the one KEYTRAIL_CLICKHOUSE_URL names, else one started by
//    testcontainers when a Docker engine answers. Neither exists on a machine without Docker.
const dockerReachable = (() => {
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return false;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
})();
const serverUrl = process.env.KEYTRAIL_CLICKHOUSE_URL;

if (serverUrl) {
  clickHouseDriverSuite('http (KEYTRAIL_CLICKHOUSE_URL server)', async () => {
    const ch = createHttpDriver({ url: serverUrl });
    return { ch, close: () => ch.close() };
  });
} else if (dockerReachable) {
  clickHouseDriverSuite('http (ClickHouse server in testcontainers)', async () => {
    const { ClickHouseContainer } = await import('@testcontainers/clickhouse');
    const container = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start();
    const ch = createHttpDriver({ url: container.getConnectionUrl() });
    return {
      ch,
      close: async () => {
        await ch.close();
        await container.stop();
      },
    };
  });
} else {
  describe.skip('http driver against a real ClickHouse server (no KEYTRAIL_CLICKHOUSE_URL and no Docker engine here)', () => {
    it('runs the driver suite against clickhouse/clickhouse-server', () => {});
  });
}
