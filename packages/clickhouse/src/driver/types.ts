import type { RowBinaryBatch } from '../rowBinary.ts';

/** A value bound server-side to a `{name:Type}` placeholder. Never spliced into SQL text. */
export type QueryParamValue = string | number | boolean | null | Date | readonly (string | number)[];
export type QueryParams = Record<string, QueryParamValue>;
/** ClickHouse settings for one statement, e.g. `insert_deduplication_token`. */
export type QuerySettings = Record<string, string | number | boolean>;

export interface InsertOptions {
  settings?: QuerySettings;
  /** Restrict the insert to these columns (others take their DEFAULT). */
  columns?: readonly string[];
}

/**
 * The one interface every ClickHouse access goes through. Two drivers implement it: embedded
 * (chdb, in-process) and http (@clickhouse/client). Nothing outside this package writes SQL.
 */
export interface ClickHouseDriver {
  readonly kind: 'embedded' | 'http';
  /** The database unqualified table names resolve in. */
  readonly database: string;
  /**
   * The same connection, addressing another database (created by the caller). Replay builds
   * fresh tables this way while the current ones keep serving. Closing a view closes nothing shared.
   */
  withDatabase(database: string): ClickHouseDriver;
  /** A statement without a result set: DDL, INSERT … SELECT, ALTER. */
  command(sql: string, params?: QueryParams, settings?: QuerySettings): Promise<void>;
  /** A SELECT; rows come back as objects (JSONEachRow, 64-bit integers as numbers). */
  query<Row>(sql: string, params?: QueryParams, settings?: QuerySettings): Promise<Row[]>;
  /**
   * A SELECT whose rows come back as text fields (TabSeparated, unescaped by parseTabSeparated):
   * for large pages, where building and parsing JSON would cost more than the query itself.
   */
  queryTabSeparated(sql: string, params?: QueryParams, settings?: QuerySettings): Promise<string[][]>;
  /**
   * A SELECT of one String column whose values are the output lines, as they are
   * (TabSeparatedRaw: each value then a newline): for exports whose lines ClickHouse builds, so no
   * row is parsed or formatted in JavaScript.
   */
  queryLines(sql: string, params?: QueryParams, settings?: QuerySettings): Promise<string>;
  /**
   * Streams a SELECT row by row, for results larger than memory. A stream has a connection of its
   * own: other calls go on while it is read.
   */
  stream<Row>(sql: string, params?: QueryParams, settings?: QuerySettings): AsyncIterable<Row>;
  /**
   * Streams the lines of a one-String-column SELECT as queryLines returns them, a chunk of whole
   * or partial lines at a time: an export of any size, built by ClickHouse, in flat memory.
   */
  streamLines(sql: string, params?: QueryParams, settings?: QuerySettings): AsyncIterable<string>;
  /** Inserts rows (sent as JSON) into `table`: small writes such as tokens and migrations. */
  insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<void>;
  /** Inserts a RowBinary batch into `table`: the projector's bulk path (see rowBinary.ts). */
  insertRowBinary(
    table: string,
    batch: RowBinaryBatch,
    options?: { settings?: QuerySettings },
  ): Promise<void>;
  /**
   * Inserts an Avro object container into `table`, each column computed by `batch.select` from
   * the container's fields (`batch.structure`): the projector's path for bodies it passes on as
   * they are (see `insertAuthDecisionContainer` in tables/authDecisions.ts).
   */
  insertAvro(table: string, batch: AvroBatch, options?: { settings?: QuerySettings }): Promise<void>;
  /** True when the server answers. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** One Avro container insert: the columns, how each is computed, the container's fields, the bytes. */
export interface AvroBatch {
  names: readonly string[];
  /** The SELECT list, one expression per name, over the container's fields. */
  select: string;
  /** The container's fields as ClickHouse reads them ("name Type, …"). */
  structure: string;
  rows: number;
  data: Buffer;
}

/** A ClickHouse string literal: what the write paths inline instead of binding (see createEmbeddedDriver). */
export function stringLiteral(value: string): string {
  return `'${value.replace(/[\\']/g, '\\$&')}'`;
}

/** Database names Keytrail creates or accepts: plain identifiers only (they enter DDL text). */
export function checkDatabaseName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) throw new Error(`"${name}" is not a plain database name`);
  return name;
}

/**
 * The OS nice value of reads (the API's queries, the alerter's, a projector's retry window), on
 * both drivers; inserts, merges and streamed exports keep 0. The API, the
 * projector, the managed broker and the engine share one machine, and on two cores a 15 ms
 * query waited for CPU behind a 300 ms insert's threads. At -5 the scheduler gives a runnable
 * read about three quarters of a contended core (CFS weights 3121 : 1024) and the writes every
 * cycle the reads leave idle: under the projector at 12–17k events/s every route's p50 fell by
 * 5–46 % (bench/README.md, "Under load"). Lowering the writes instead (nice 10) starved them
 * behind the broker and the gateways, other processes at 0: the projector fell 50 s behind.
 * ClickHouse applies a nice value only with the CAP_SYS_NICE capability (root on a VM has it,
 * a default Docker container does not); without it everything runs at 0, as before.
 */
export const QUERY_NICE = -5;

/** A driver's `queryNice` option, checked: a whole number from -20 to 0 (default QUERY_NICE). */
export function checkQueryNice(value = QUERY_NICE): number {
  if (!Number.isInteger(value) || value < -20 || value > 0)
    throw new RangeError(`queryNice must be a whole number from -20 to 0, not ${value}`);
  return value;
}

/** Both drivers print 64-bit integers as JSON numbers; counts never reach 2^53. */
export const COMMON_SETTINGS: QuerySettings = {
  output_format_json_quote_64bit_integers: 0,
  date_time_output_format: 'iso',
};

/** JSONCompactEachRow: each row's values, in `columns` order (every row must have those keys). */
export function toCompactNdjson(rows: readonly object[], columns: readonly string[]): Buffer {
  let text = '';
  for (const row of rows) {
    const record = row as Record<string, unknown>;
    text += `${JSON.stringify(columns.map((c) => record[c]))}\n`;
  }
  return Buffer.from(text);
}

export function toNdjson(rows: readonly object[]): Buffer {
  let text = '';
  for (const row of rows) text += `${JSON.stringify(row)}\n`;
  return Buffer.from(text);
}

/** Converts a Date to the text ClickHouse parses as DateTime64(3, 'UTC'). */
export function formatDateTime64(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

export function normalizeParams(params: QueryParams = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params))
    out[key] = value instanceof Date ? formatDateTime64(value) : value;
  return out;
}

const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0' };

/** ClickHouse's TabSeparated output as rows of fields, with its backslash escapes undone. */
export function parseTabSeparated(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const fields = line.split('\t');
    for (let i = 0; i < fields.length; i++)
      if (fields[i]!.includes('\\'))
        fields[i] = fields[i]!.replace(/\\(.)/g, (_, c: string) => TSV_ESCAPES[c] ?? c);
    rows.push(fields);
  }
  return rows;
}
