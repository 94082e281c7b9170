import { mkdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChdbQueryStream, Session } from 'chdb';
import { createEngineQueue, type Lane } from './engineQueue.ts';
import { toClickHouseError } from './errors.ts';
import {
  type ClickHouseDriver,
  COMMON_SETTINGS,
  checkDatabaseName,
  type InsertOptions,
  normalizeParams,
  parseTabSeparated,
  type QueryParams,
  type QuerySettings,
  toCompactNdjson,
} from './types.ts';

export interface EmbeddedDriverOptions {
  /** Folder of the embedded database; created when missing. */
  path: string;
}

function withSettings(sql: string, settings?: QuerySettings): string {
  if (!settings || Object.keys(settings).length === 0) return sql;
  // Setting names and values come from code, never from users; still, accept only safe shapes.
  const parts = Object.entries(settings).map(([k, v]) => {
    if (!/^[a-z_0-9]+$/.test(k)) throw new Error(`bad setting name ${k}`);
    const value = typeof v === 'string' ? `'${v.replace(/[\\']/g, '\\$&')}'` : Number(v);
    return `${k} = ${value}`;
  });
  return `${sql}\nSETTINGS ${parts.join(', ')}`;
}

interface SharedSession {
  session: Session;
  /** The database the session is USE-ing now. */
  current: string;
  /**
   * Calls run one at a time (chdb does anyway); a call first switches the session's database if
   * needed. Reads go before queued writes (see createEngineQueue).
   */
  exclusive<T>(lane: Lane, fn: () => Promise<T>): Promise<T>;
  /** Calls queued or running: while any is, the engine is at work, so it is up. */
  pending: number;
  closed: boolean;
  /** Folder of RowBinary files being inserted, and how many were written. */
  scratch: string;
  files: number;
}

/**
 * chdb: the ClickHouse engine inside this process. One data folder per process (the engine is
 * a process-wide singleton), and queries run one at a time — fine for all-in-one mode.
 */
export function createEmbeddedDriver(options: EmbeddedDriverOptions): ClickHouseDriver {
  mkdirSync(options.path, { recursive: true });
  // RowBinary batches on their way in; a crash may leave some, which are of no use after it.
  const scratch = join(options.path, 'keytrail_inserts');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  const session = new Session(options.path, {
    connectionArgs: Object.entries(COMMON_SETTINGS).map(([k, v]) => `--${k}=${v}`),
  });
  const queue = createEngineQueue();
  const shared: SharedSession = {
    session,
    current: 'default',
    pending: 0,
    closed: false,
    scratch,
    files: 0,
    exclusive(lane, fn) {
      shared.pending++;
      return queue.run(lane, fn).finally(() => shared.pending--);
    },
  };
  return embeddedView(shared, 'default');
}

function embeddedView(shared: SharedSession, database: string): ClickHouseDriver {
  const { session } = shared;
  // chdb allows no multi-statement in streams, so the session is switched with its own USE.
  const use = async () => {
    if (shared.current === database) return;
    await session.queryAsync(`USE ${database}`, { format: 'Null' });
    shared.current = database;
  };
  const run = <T>(lane: Lane, fn: () => Promise<T>): Promise<T> =>
    shared.exclusive(lane, async () => {
      await use();
      return fn();
    });

  return {
    kind: 'embedded',
    database,
    withDatabase: (name) => embeddedView(shared, checkDatabaseName(name)),
    async command(sql, params?: QueryParams, settings?: QuerySettings) {
      try {
        await run('write', () =>
          session.queryBindAsync(withSettings(sql, settings), normalizeParams(params), { format: 'Null' }),
        );
      } catch (err) {
        throw toClickHouseError(err, 'command failed');
      }
    },
    async query<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        const result = await run('read', () =>
          session.queryBindAsync(withSettings(sql, settings), normalizeParams(params), {
            format: 'JSONEachRow',
          }),
        );
        const text = result.text();
        if (text.length === 0) return [];
        return text
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as Row);
      } catch (err) {
        throw toClickHouseError(err, 'query failed');
      }
    },
    async queryTabSeparated(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        const result = await run('read', () =>
          session.queryBindAsync(withSettings(sql, settings), normalizeParams(params), {
            format: 'TabSeparated',
          }),
        );
        return parseTabSeparated(result.text());
      } catch (err) {
        throw toClickHouseError(err, 'query failed');
      }
    },
    async *stream<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      // A chdb session has one streaming query at a time, and any other call on the session ends
      // it ("No active streaming query"). So the stream holds the session from start until it is
      // drained, fails or is abandoned (`finally`); every other call waits its turn. The one rule
      // this makes: do not await another call on this driver while iterating a stream.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      const opened = new Promise<ChdbQueryStream>((resolve, reject) => {
        void shared
          .exclusive('read', async () => {
            await use();
            resolve(
              session.queryStreamBind(withSettings(sql, settings), normalizeParams(params), {
                format: 'JSONEachRow',
              }),
            );
            await held;
          })
          .catch(reject);
      });
      let stream: ChdbQueryStream | undefined;
      try {
        stream = await opened;
        for await (const chunk of stream) for (const row of chunk.rows<Row>()) yield row;
      } catch (err) {
        throw toClickHouseError(err, 'stream failed');
      } finally {
        stream?.cancel();
        release();
      }
    },
    async insert(table: string, rows: readonly object[], insertOptions: InsertOptions = {}) {
      if (rows.length === 0) return;
      // Values only, one array per row: about half the bytes of objects, to build and to parse.
      const columns = insertOptions.columns ?? Object.keys(rows[0]!);
      const values = toCompactNdjson(rows, columns);
      try {
        await run('write', () =>
          session.insert({
            table: `${database}.${table}`,
            values,
            format: 'JSONCompactEachRow',
            columns,
            settings: { ...insertOptions.settings },
          }),
        );
      } catch (err) {
        throw toClickHouseError(err, `insert into ${table} failed`);
      }
    },
    async insertRowBinary(table, batch, insertOptions = {}) {
      if (batch.rows === 0) return;
      // chdb takes only text formats inline, so the batch goes through a file it reads natively.
      const file = join(shared.scratch, `${process.pid}-${++shared.files}.rowbinary`);
      try {
        await writeFile(file, batch.data);
        await run('write', () =>
          session.queryBindAsync(
            withSettings(
              `INSERT INTO ${database}.${table} (${batch.names.join(', ')})
               SELECT * FROM file({file:String}, 'RowBinary', {structure:String})`,
              insertOptions.settings,
            ),
            { file, structure: batch.structure },
            { format: 'Null' },
          ),
        );
      } catch (err) {
        throw toClickHouseError(err, `insert into ${table} failed`);
      } finally {
        await rm(file, { force: true });
      }
    },
    async ping() {
      if (shared.closed) return false;
      // In-process: busy means alive. Queueing behind a large insert would only make a probe late.
      if (shared.pending > 0) return true;
      try {
        await run('read', () => session.queryAsync('SELECT 1', { format: 'Null' }));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      // Only the view on the original database owns the session.
      if (database !== 'default' || shared.closed) return;
      shared.closed = true;
      await shared.exclusive('write', async () => session.close());
    },
  };
}
