import { appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  type ClickHouseDriver,
  createEmbeddedDriver,
  type DeduplicationRepair,
  orphanedEntries,
  parseDeduplicationLog,
} from '@keytrail/clickhouse';
import { describe, expect, it } from 'vitest';
import { clickHouseDriverSuite } from './kit/clickhouseDriverSuite.ts';
import { tempDir } from './kit/index.ts';

clickHouseDriverSuite('embedded (chdb)', async () => {
  const ch = createEmbeddedDriver({ path: tempDir('embedded') });
  return { ch, close: () => ch.close() };
});

describe('embedded driver: streams and other calls on its connections', () => {
  it('a stream is never ended by queries, inserts and pings running while it is read', async () => {
    const ch = createEmbeddedDriver({ path: tempDir('embedded-streams') });
    try {
      await ch.command('CREATE TABLE numbers_copy (n UInt64) ENGINE = MergeTree ORDER BY n');
      await ch.command('INSERT INTO numbers_copy SELECT number FROM numbers(300000)');
      const readAll = async () => {
        let rows = 0;
        let sum = 0;
        // Read slowly (yield to the event loop every 1,000 rows) so other calls arrive mid-stream.
        for await (const row of ch.stream<{ n: number }>('SELECT n FROM numbers_copy ORDER BY n')) {
          rows++;
          sum += row.n;
          if (rows % 1_000 === 0) await yieldToLoop();
        }
        return { rows, sum };
      };
      const others = async (round: number) => {
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 5; i++) {
          calls.push(ch.query('SELECT count() AS c FROM numbers_copy'));
          calls.push(ch.ping().then((up) => expect(up).toBe(true)));
          calls.push(ch.insert('numbers_copy', [{ n: 1_000_000 + round * 10 + i }]));
        }
        await Promise.all(calls);
      };
      for (let round = 0; round < 10; round++) {
        const [first, second] = await Promise.all([readAll(), readAll(), others(round)]);
        // Each stream sees the rows of when it started: the first 300,000 plus earlier rounds' inserts.
        expect(first!.rows).toBeGreaterThanOrEqual(300_000 + round * 5);
        expect(second!.rows).toBeGreaterThanOrEqual(300_000 + round * 5);
      }
      // A stream abandoned half-way (break) gives the session back.
      for await (const _ of ch.stream('SELECT n FROM numbers_copy')) break;
      expect(await ch.query<{ c: number }>('SELECT count() AS c FROM numbers_copy')).toEqual([
        { c: 300_050 },
      ]);
    } finally {
      await ch.close();
    }
  });

  it('answers a query while a long insert runs: reads and writes go through two connections', async () => {
    const ch = createEmbeddedDriver({ path: tempDir('embedded-parallel') });
    try {
      await ch.command('CREATE TABLE big (n UInt64) ENGINE = MergeTree ORDER BY n');
      let inserted = false;
      // Seconds of work for the write connection; with one connection the query below would
      // queue behind it and answer only after it.
      const insert = ch.command('INSERT INTO big SELECT number FROM numbers(50000000)').then(() => {
        inserted = true;
      });
      expect(await ch.query<{ x: number }>('SELECT {x:UInt8} AS x', { x: 7 })).toEqual([{ x: 7 }]);
      expect(inserted).toBe(false);
      await insert;
      expect(await ch.query<{ c: number }>('SELECT count() AS c FROM big')).toEqual([{ c: 50_000_000 }]);
    } finally {
      await ch.close();
    }
  });

  it('reads at a higher OS priority than writes, and the nice value is checked', async () => {
    const ch = createEmbeddedDriver({ path: tempDir('embedded-nice'), queryNice: -3 });
    try {
      // What each connection's statements run with, read back through the engine itself: a write
      // records its own setting in a table, a read reports its own.
      await ch.command('CREATE TABLE seen (priority Int64) ENGINE = MergeTree ORDER BY priority');
      await ch.command("INSERT INTO seen SELECT getSetting('os_thread_priority')");
      expect(await ch.query('SELECT priority FROM seen')).toEqual([{ priority: 0 }]);
      expect(await ch.query("SELECT getSetting('os_thread_priority') AS priority")).toEqual([
        { priority: -3 },
      ]);
    } finally {
      await ch.close();
    }
    expect(() => createEmbeddedDriver({ path: tempDir('embedded-nice-bad'), queryNice: 5 })).toThrow(
      /from -20 to 0/,
    );
  });
});

describe('embedded driver: a kill between the deduplication log and the part', () => {
  it('lets the redo of the lost block in, keeps every other block deduplicated, and cuts a half-written record', async () => {
    const path = tempDir('embedded-lost-part');
    const insert = (ch: ClickHouseDriver, token: string, values: string) =>
      ch.command(`INSERT INTO t SETTINGS insert_deduplication_token = '${token}' VALUES ${values}`);
    const rows = async (ch: ClickHouseDriver) =>
      (await ch.query<{ x: number }>('SELECT x FROM t ORDER BY x')).map((r) => r.x);

    let ch = createEmbeddedDriver({ path });
    await ch.command(
      `CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x PARTITION BY x % 2
       SETTINGS non_replicated_deduplication_window = 100`,
    );
    await insert(ch, 'batch-1', '(1), (2)'); // two partitions: two parts, two log entries
    await insert(ch, 'batch-2', '(3)');
    const [{ path: tableDir } = { path: '' }] = await ch.query<{ path: string }>(
      `SELECT data_paths[1] AS path FROM system.tables WHERE database = currentDatabase() AND name = 't'`,
    );
    const [lost] = await ch.query<{ name: string }>(
      `SELECT name FROM system.parts WHERE table = 't' AND active AND partition_id = '0'`,
    );
    await ch.close();
    // The state a SIGKILL leaves when it lands after ClickHouse logged batch-1's block of
    // partition 0 and before it renamed the part into place: the entry, and no part.
    rmSync(join(tableDir, lost!.name), { recursive: true });
    const logFile = join(tableDir, 'deduplication_logs', 'deduplication_log_1.txt');
    expect(
      orphanedEntries(parseDeduplicationLog(readFileSync(logFile, 'utf8')), readdirSync(tableDir)),
    ).toEqual([expect.objectContaining({ op: 'add', part: lost!.name })]);
    appendFileSync(logFile, '1\t0_9_9'); // and a record cut by the kill

    const repairs: DeduplicationRepair[] = [];
    ch = createEmbeddedDriver({ path, onDeduplicationRepair: (r) => repairs.push(r) });
    try {
      expect(repairs).toEqual([
        expect.objectContaining({ kind: 'dropped', table: 'default.t', part: lost!.name }),
      ]);
      expect(await rows(ch)).toEqual([1, 3]);
      // The redo of every batch: batch-1's lost block is written, its other block and batch-2 are not.
      await insert(ch, 'batch-1', '(1), (2)');
      await insert(ch, 'batch-2', '(3)');
      await insert(ch, 'batch-3', '(5)');
      expect(await rows(ch)).toEqual([1, 2, 3, 5]);
    } finally {
      await ch.close();
    }
    // The records appended after the cut one are still read at the next start.
    ch = createEmbeddedDriver({ path, onDeduplicationRepair: (r) => repairs.push(r) });
    try {
      await insert(ch, 'batch-1', '(1), (2)');
      await insert(ch, 'batch-3', '(5)');
      expect(await rows(ch)).toEqual([1, 2, 3, 5]);
      expect(repairs).toHaveLength(1);
    } finally {
      await ch.close();
    }
  });
});
