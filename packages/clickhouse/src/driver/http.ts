import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
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
} from './types.ts';

export interface HttpDriverOptions {
  /** http(s)://user:password@host:8123/database */
  url: string;
  requestTimeoutMs?: number;
  /** Overrides the database of the URL. */
  database?: string;
  /**
   * OS nice value (-20 to 0) the server runs reads with (QUERY_NICE by default); inserts and
   * streamed exports keep 0. Applied only where the server has CAP_SYS_NICE, ignored elsewhere.
   */
  queryNice?: number | undefined;
}

/** ClickHouse server (or cluster) over HTTP through the official client. */
export function createHttpDriver(options: HttpDriverOptions): ClickHouseDriver {
  const readSettings: QuerySettings = { os_thread_priority: checkQueryNice(options.queryNice) };
  const database = options.database ?? (new URL(options.url).pathname.replace(/^\//, '') || 'default');
  const client: ClickHouseClient = createClient({
    url: options.url,
    database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: { ...COMMON_SETTINGS } as Record<string, string | number>,
    application: 'keytrail',
    // Failures reach callers as KeytrailErrors; the client logging them too would only add noise.
    log: { level: ClickHouseLogLevel.OFF },
  });

  // One SELECT, its values bound on the server, in the format the caller reads. A read (answered
  // whole) runs at the read priority, as on the embedded driver; a stream keeps 0, as writes do.
  const select = <Format extends 'JSONEachRow' | 'TabSeparated' | 'TabSeparatedRaw'>(
    sql: string,
    params: QueryParams | undefined,
    settings: QuerySettings | undefined,
    format: Format,
    kind: 'read' | 'stream' = 'read',
  ) =>
    client.query({
      query: sql,
      query_params: normalizeParams(params),
      clickhouse_settings: kind === 'read' ? { ...readSettings, ...settings } : settings,
      format,
    });

  return {
    kind: 'http',
    database,
    withDatabase: (name) => createHttpDriver({ ...options, database: checkDatabaseName(name) }),
    async command(sql, params?: QueryParams, settings?: QuerySettings) {
      try {
        await client.command({
          query: sql,
          query_params: normalizeParams(params),
          clickhouse_settings: settings,
        });
      } catch (err) {
        throw toClickHouseError(err, 'command failed');
      }
    },
    async query<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        return await (await select(sql, params, settings, 'JSONEachRow')).json<Row>();
      } catch (err) {
        throw toClickHouseError(err, 'query failed');
      }
    },
    async queryTabSeparated(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        return parseTabSeparated(await (await select(sql, params, settings, 'TabSeparated')).text());
      } catch (err) {
        throw toClickHouseError(err, 'query failed');
      }
    },
    async queryLines(sql: string, params?: QueryParams, settings?: QuerySettings) {
      try {
        return await (await select(sql, params, settings, 'TabSeparatedRaw')).text();
      } catch (err) {
        throw toClickHouseError(err, 'query failed');
      }
    },
    async *stream<Row>(sql: string, params?: QueryParams, settings?: QuerySettings) {
      let result: Awaited<ReturnType<typeof select<'JSONEachRow'>>>;
      try {
        result = await select(sql, params, settings, 'JSONEachRow', 'stream');
      } catch (err) {
        throw toClickHouseError(err, 'stream failed');
      }
      for await (const rows of result.stream<Row>()) for (const row of rows) yield row.json();
    },
    async *streamLines(sql: string, params?: QueryParams, settings?: QuerySettings) {
      let body: Readable;
      try {
        // The response body as it arrives: no row objects for lines nobody parses.
        body = (
          await client.exec({
            query: `${sql}\nFORMAT TabSeparatedRaw`,
            query_params: normalizeParams(params),
            clickhouse_settings: settings,
          })
        ).stream;
      } catch (err) {
        throw toClickHouseError(err, 'stream failed');
      }
      body.setEncoding('utf8'); // a character split across two chunks is decoded whole
      try {
        for await (const text of body) yield text as string;
      } catch (err) {
        throw toClickHouseError(err, 'stream failed');
      } finally {
        body.destroy();
      }
    },
    async insert(table: string, rows: readonly object[], insertOptions: InsertOptions = {}) {
      if (rows.length === 0) return;
      try {
        await client.insert({
          table,
          values: rows as object[],
          format: 'JSONEachRow',
          clickhouse_settings: insertOptions.settings,
          ...(insertOptions.columns ? { columns: insertOptions.columns as [string, ...string[]] } : {}),
        });
      } catch (err) {
        throw toClickHouseError(err, `insert into ${table} failed`);
      }
    },
    async insertRowBinary(table, batch, insertOptions = {}) {
      if (batch.rows === 0) return;
      try {
        const result = await client.exec({
          query: `INSERT INTO ${table} (${batch.names.join(', ')}) FORMAT RowBinary`,
          values: Readable.from([batch.data]),
          clickhouse_settings: insertOptions.settings,
        });
        // The answer carries nothing; reading it to the end frees the socket.
        for await (const _ of result.stream);
      } catch (err) {
        throw toClickHouseError(err, `insert into ${table} failed`);
      }
    },
    async insertAvro(table, batch, insertOptions = {}) {
      if (batch.rows === 0) return;
      try {
        // input() lets the server compute the columns from the container's fields as it reads it.
        const result = await client.exec({
          query: `INSERT INTO ${table} (${batch.names.join(', ')})
                  SELECT ${batch.select} FROM input(${stringLiteral(batch.structure)}) FORMAT Avro`,
          values: Readable.from([batch.data]),
          clickhouse_settings: insertOptions.settings,
        });
        for await (const _ of result.stream);
      } catch (err) {
        throw toClickHouseError(err, `insert into ${table} failed`);
      }
    },
    async ping() {
      try {
        const result = await client.ping();
        return result.success;
      } catch {
        return false;
      }
    },
    async close() {
      await client.close();
    },
  };
}
