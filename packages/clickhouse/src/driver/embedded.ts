import { mkdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { KeytrailError } from '@keytrail/core';
import type { Session, StreamChunk } from 'chdb';
import { type DeduplicationRepair, repairDeduplicationLogs } from './deduplicationLog.ts';
import { toClickHouseError } from './errors.ts';
import {
  type ClickHouseDriver,
  COMMON_SETTINGS,
  checkDatabaseName,
  checkQueryNice,
  type InsertOptions,
  normalizeParams,
  parseTabSeparated,
  type QueryParams,
  type QuerySettings,
  stringLiteral,
  toCompactNdjson,
} from './types.ts';

export interface EmbeddedDriverOptions {
  /** Folder of the embedded database; created when missing. */
  path: string;
  /** Told of each deduplication-log entry dropped at open because a kill lost its part. */
  onDeduplicationRepair?: ((repair: DeduplicationRepair) => void) | undefined;
  /** OS nice value (-20 to 0) of the read connection's statements; default QUERY_NICE. */
  queryNice?: number | undefined;
}

function withSettings(sql: string, settings?: QuerySettings): string {
  if (!settings || Object.keys(settings).length === 0) return sql;
  // Setting names and values come from code, never from users; still, accept only safe shapes.
  const parts = Object.entries(settings).map(([k, v]) => {
    if (!/^[a-z_0-9]+$/.test(k)) throw new Error(`bad setting name ${k}`);
    const value = typeof v === 'string' ? stringLiteral(v) : Number(v);
    return `${k} = ${value}`;
  });
  return `${sql}\nSETTINGS ${parts.join(', ')}`;
}

/** One chdb connection to the engine: its own current database and its own queue of calls. */
interface Connection {
  session: Session;
  /** The database this connection is USE-ing now. */
  current: string;
  /** Calls on one connection run one at a time (a stream holds it until drained). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

interface Engine {
  /** Queries, streams, pings and every statement with bound parameters. */
  reader: Connection;
  /** Inserts and commands without bound parameters. */
  writer: Connection;
  /** Calls queued or running on either connection: while any is, the engine is at work, so it is up. */
  pending: number;
  closed: boolean;
  /** The data folder: each stream opens a connection of its own to it. */
  path: string;
  /** Folder of RowBinary files being inserted, and how many were written. */
  scratch: string;
  files: number;
}

// The engine (a few hundred MB of native library, about 150 MiB of RSS and 0.2 s to load) is
// loaded when a process first opens it: a lone ingest or a process on a ClickHouse server never does.
let chdb: typeof import('chdb') | undefined;
function loadChdb(): typeof import('chdb') {
  chdb ??= createRequire(import.meta.url)('chdb') as typeof import('chdb');
  return chdb;
}

/** `settings` apply to every statement of the connection. */
function newSession(path: string, settings: QuerySettings = {}): Session {
  return new (loadChdb().Session)(path, {
    connectionArgs: Object.entries({ ...COMMON_SETTINGS, ...settings }).map(([k, v]) => `--${k}=${v}`),
  });
}

function openConnection(path: string, engine: { pending: number }, settings?: QuerySettings): Connection {
  const session = newSession(path, settings);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    session,
    current: 'default',
    exclusive(fn) {
      engine.pending++;
      const run = chain.then(fn, fn).finally(() => engine.pending--);
      chain = run.catch(() => {});
      return run;
    },
  };
}

/**
 * chdb: the ClickHouse engine inside this process. One data folder per process (the engine is a
 * process-wide singleton), reached through two connections that run in parallel: one for reads,
 * one for writes (and one more per stream, see openStream). So an API query never waits behind a
 * projector insert, which is what bounds a query's latency while the projector writes. (chdb
 * runs statements with bound parameters one at a time process-wide, because its parameter state
 * is not per connection: reads bind their parameters, so the write path binds none, its few
 * values are inlined as escaped literals.)
 */
export function createEmbeddedDriver(options: EmbeddedDriverOptions): ClickHouseDriver {
  const queryNice = checkQueryNice(options.queryNice);
  mkdirSync(options.path, { recursive: true });
  // Before the engine reads the logs: a redo of the batch a kill interrupted must not be dropped.
  for (const repair of repairDeduplicationLogs(options.path)) options.onDeduplicationRepair?.(repair);
  // RowBinary batches on their way in; a crash may leave some, which are of no use after it.
  const scratch = join(options.path, 'keytrail_inserts');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch);
  const engine = { pending: 0, closed: false, path: options.path, scratch, files: 0 } as Engine;
  // Reads before writes for CPU (QUERY_NICE); a stream's connection keeps 0, as writes do.
  engine.reader = openConnection(options.path, engine, { os_thread_priority: queryNice });
  engine.writer = openConnection(options.path, engine);
  return embeddedView(engine, 'default');
}

function embeddedView(engine: Engine, database: string): ClickHouseDriver {
  // chdb allows no multi-statement in streams, so a connection is switched with its own USE.
  const run = <T>(connection: Connection, fn: (session: Session) => Promise<T>): Promise<T> =>
    connection.exclusive(async () => {
      if (connection.current !== database) {
        await connection.session.queryAsync(`USE ${database}`, { format: 'Null' });
        connection.current = database;
      }
      return fn(connection.session);
    });
  const { reader, writer } = engine;

  /**
   * chdb takes only text formats inline, so binary batches go through a file it reads natively,
   * each column computed by `select` from the file's fields. No bound parameters (see
   * createEmbeddedDriver): the file name, select list and structure are ours, the strings escaped.
   */
  const insertFile = async (
    table: string,
    names: string,
    select: string,
    format: 'RowBinary' | 'Avro',
    structure: string,
    data: Buffer,
    insertOptions: { settings?: QuerySettings },
  ): Promise<void> => {
    const file = join(engine.scratch, `${process.pid}-${++engine.files}.${format.toLowerCase()}`);
    try {
      await writeFile(file, data);
      await run(writer, (session) =>
        session.queryAsync(
          withSettings(
            `INSERT INTO ${database}.${table} (${names})
             SELECT ${select} FROM file(${stringLiteral(file)}, '${format}', ${stringLiteral(structure)})`,
            insertOptions.settings,
          ),
          { format: 'Null' },
        ),
      );
    } catch (err) {
      throw toClickHouseError(err, `insert into ${table} failed`);
    } finally {
      await rm(file, { force: true });
    }
  };

  /** A bound SELECT's result as text, in a text format. */
  const queryText = async (
    sql: string,
    params: QueryParams | undefined,
    settings: QuerySettings | undefined,
    format: 'TabSeparated' | 'TabSeparatedRaw',
  ): Promise<string> => {
    try {
      const result = await run(reader, (session) =>
        session.queryBindAsync(withSettings(sql, settings), normalizeParams(params), { format }),
      );
      return result.text();
    } catch (err) {
      throw toClickHouseError(err, 'query failed');
    }
  };

  /**
   * A stream runs on a connection of its own, opened for it (0.3 ms) and closed when it is
   * drained, fails or is abandoned: a chdb connection has one streaming query at a time, so a
   * stream on the read connection would hold every other read for as long as it is read (a
   * billing export of a million rows, a projector's retry window). Only its start, while chdb
   * binds the parameters (process-wide state), waits in the read connection's queue, until the
   * first chunk shows the query has bound them.
   */
  async function* openStream(
    sql: string,
    params: QueryParams | undefined,
    settings: QuerySettings | undefined,
    format: 'JSONEachRow' | 'TabSeparatedRaw',
  ): AsyncIterable<StreamChunk> {
    if (engine.closed) throw new KeytrailError('UNAVAILABLE', 'the embedded ClickHouse is closed');
    const session = newSession(engine.path);
    let chunks: AsyncIterator<StreamChunk> | undefined;
    engine.pending++;
    try {
      await session.queryAsync(`USE ${database}`, { format: 'Null' });
      let next = await reader.exclusive(() => {
        chunks = session
          .queryStreamBind(withSettings(sql, settings), normalizeParams(params), { format })
          [Symbol.asyncIterator]();
        return chunks.next();
      });
      for (; !next.done; next = await chunks!.next()) yield next.value;
    } catch (err) {
      throw toClickHouseError(err, 'stream failed');
    } finally {
      engine.pending--;
      await chunks?.return?.();
      session.close();
    }
  }

  return {
    kind: 'embedded',
    database,
    withDatabase: (name) => embeddedView(engine, checkDatabaseName(name)),
    async command(sql, params?: QueryParams, settings?: QuerySettings) {
      try {
        // A command with bound parameters (rare: replay's switch, the bench's generator) runs on
        // the read connection: chdb's parameter state is per process, and a stream starts its
        // bound query outside chdb's own lock, so every bound statement goes through one queue.
        const bound = params !== undefined && Object.keys(params).length > 0;
        await run(bound ? reader : writer, (session) =>
          bound
            ? session.queryBindAsync(withSettings(sql, settings), normalizeParams(params), { format: 'Null' })
            : session.queryAsync(withSettings(sql, settings), { format: 'Null' }),
        );
      } catch (err) {
        throw toClickHouseError(err, 'command failed');
      }
    },
    async query<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        const result = await run(reader, (session) =>
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
      return parseTabSeparated(await queryText(sql, params, settings, 'TabSeparated'));
    },
    queryLines: (sql: string, params?: QueryParams, settings?: QuerySettings) =>
      queryText(sql, params, settings, 'TabSeparatedRaw'),
    async *stream<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      for await (const chunk of openStream(sql, params, settings, 'JSONEachRow'))
        for (const row of chunk.rows<Row>()) yield row;
    },
    async *streamLines(sql: string, params?: QueryParams, settings?: QuerySettings) {
      for await (const chunk of openStream(sql, params, settings, 'TabSeparatedRaw')) yield chunk.text();
    },
    async insert(table: string, rows: readonly object[], insertOptions: InsertOptions = {}) {
      if (rows.length === 0) return;
      // Values only, one array per row: about half the bytes of objects, to build and to parse.
      const columns = insertOptions.columns ?? Object.keys(rows[0]!);
      const values = toCompactNdjson(rows, columns);
      try {
        await run(writer, (session) =>
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
    insertRowBinary(table, batch, insertOptions = {}) {
      if (batch.rows === 0) return Promise.resolve();
      return insertFile(
        table,
        batch.names.join(', '),
        '*',
        'RowBinary',
        batch.structure,
        batch.data,
        insertOptions,
      );
    },
    insertAvro(table, batch, insertOptions = {}) {
      if (batch.rows === 0) return Promise.resolve();
      return insertFile(
        table,
        batch.names.join(', '),
        batch.select,
        'Avro',
        batch.structure,
        batch.data,
        insertOptions,
      );
    },
    async ping() {
      if (engine.closed) return false;
      // In-process: busy means alive. Queueing behind a large query would only make a probe late.
      if (engine.pending > 0) return true;
      try {
        await run(reader, (session) => session.queryAsync('SELECT 1', { format: 'Null' }));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      // Only the view on the original database owns the session.
      if (database !== 'default' || engine.closed) return;
      engine.closed = true;
      await Promise.all([
        reader.exclusive(async () => reader.session.close()),
        writer.exclusive(async () => writer.session.close()),
      ]);
    },
  };
}
