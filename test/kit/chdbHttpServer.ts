import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { Session } from 'chdb';

/**
 * A minimal ClickHouse-HTTP-compatible endpoint over chdb, so @clickhouse/client (and so the
 * HTTP driver) can be tested against the real ClickHouse engine on a machine where no modern
 * ClickHouse server can be installed. It speaks what the client uses: GET /ping; queries in the
 * body or `query` parameter; `param_*` bound server-side; settings as URL parameters; INSERT …
 * FORMAT with data in the body; gzip both ways; exceptions with X-ClickHouse-Exception-Code.
 * Not a server: one chdb session, queries one at a time, no users.
 */
export interface ChdbHttpServer {
  url: string;
  port: number;
  session: Session;
  /** Stop accepting connections (cut existing ones): ClickHouse is "down". */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /**
   * Answers the next `times` statements whose text matches `pattern` with ClickHouse error
   * `code` instead of running them: a server-side failure, for fault tests.
   */
  failNext(pattern: RegExp, times: number, code: number, message: string): void;
  close(): Promise<void>;
}

// URL parameters that steer the HTTP layer, not the query.
const TRANSPORT_PARAMS = new Set([
  'query',
  'query_id',
  'database',
  'default_format',
  'user',
  'password',
  'session_id',
  'session_timeout',
  'session_check',
  'role',
  'enable_http_compression',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'compress',
  'decompress',
]);

const INSERT_RE =
  /^\s*INSERT\s+INTO\s+([\w.`"]+)\s*(?:\(([^)]*)\))?\s*(?:SETTINGS\s+[\s\S]*?)?FORMAT\s+(\w+)\s*$/i;
/** INSERT … SELECT … FROM input('structure') FORMAT Avro: the columns computed from the body's fields. */
const INSERT_FROM_INPUT_RE =
  /^\s*INSERT\s+INTO\s+([\w.`"]+)\s*\(([^)]*)\)\s*SELECT\s+([\s\S]+?)\s+FROM\s+input\(('(?:[^'\\]|\\.)*')\)\s*FORMAT\s+(Avro)\s*$/i;
const TRAILING_FORMAT_RE = /\s+FORMAT\s+(\w+)\s*;?\s*$/i;
const READ_QUERY_RE = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b/i;

/** ClickHouse reads HTTP query parameters in its "escaped" text format; chdb binds raw values. */
function unescapeText(value: string): string | null {
  const map: Record<string, string> = {
    b: '\b',
    f: '\f',
    r: '\r',
    n: '\n',
    t: '\t',
    '0': '\0',
    a: '\x07',
    v: '\v',
    N: '\\N',
  };
  if (value === '\\N') return null; // the NULL marker; chdb binds null as NULL
  return value.replace(/\\(.)/g, (_m, c: string) => map[c] ?? c);
}

const PLACEHOLDER_RE = /\{(\w+):([^{}]+)\}/g;

/**
 * ClickHouse parses each `param_x` with the escaped-text reader of its placeholder type. chdb's
 * binding TSV-escapes JS strings first, which is right for scalars (we unescape the wire text)
 * but would double the backslashes inside composite values ([…], (…), {…}). Those are bound as
 * their exact wire text through a String placeholder and parsed by CAST, as the server would.
 */
function bindWireParams(
  sql: string,
  wire: Record<string, string>,
): { sql: string; params: Record<string, string | null> } {
  const params: Record<string, string | null> = {};
  const rewritten = sql.replace(PLACEHOLDER_RE, (match, name: string, type: string) => {
    const value = wire[name];
    if (value === undefined) return match;
    if (/^\s*(Array|Map|Tuple|Nested)\s*\(/.test(type)) {
      params[`${name}__wire`] = value;
      return `CAST({${name}__wire:String}, '${type.replace(/'/g, "\\'")}')`;
    }
    params[name] = unescapeText(value);
    return match;
  });
  return { sql: rewritten, params };
}

function statusFor(code: number): number {
  if (code === 62) return 400; // SYNTAX_ERROR
  if (code === 60 || code === 81) return 404; // UNKNOWN_TABLE, UNKNOWN_DATABASE
  if (code === 516) return 401;
  return 500;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = req.headers['content-encoding'];
  if (encoding === 'gzip') return gunzipSync(raw);
  if (encoding === 'deflate') return inflateSync(raw);
  return raw;
}

function settingsClause(settings: [string, string][]): string {
  if (settings.length === 0) return '';
  return ` SETTINGS ${settings
    .map(([k, v]) => {
      if (!/^[a-z_0-9]+$/i.test(k))
        throw Object.assign(new Error(`bad setting ${k}`), { clickhouseCode: 115 });
      return `${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : `'${v.replace(/[\\']/g, '\\$&')}'`}`;
    })
    .join(', ')}`;
}

/** INSERT … FORMAT RowBinary: the columns' types come from the table, as a server reads them. */
async function insertRowBinaryBody(
  session: Session,
  scratch: string,
  qualifiedTable: string,
  columns: string[] | undefined,
  body: Buffer,
  settings: [string, string][],
): Promise<void> {
  const [db, table] = qualifiedTable.split('.') as [string, string];
  const types = new Map<string, string>(
    JSON.parse(
      (
        await session.queryBindAsync(
          'SELECT groupArray((name, type)) AS t FROM system.columns WHERE database = {db:String} AND table = {table:String}',
          { db, table },
          { format: 'JSONEachRow' },
        )
      ).text(),
    ).t,
  );
  const names = columns ?? [...types.keys()];
  const structure = names.map((n) => `${n} ${types.get(n)}`).join(', ');
  const file = join(scratch, `rowbinary-${crypto.randomUUID()}.bin`);
  writeFileSync(file, body);
  try {
    await session.queryBindAsync(
      `INSERT INTO ${qualifiedTable} (${names.join(', ')}) SELECT * FROM file({file:String}, 'RowBinary', {structure:String})${settingsClause(settings)}`,
      { file, structure },
      { format: 'Null' },
    );
  } finally {
    rmSync(file, { force: true });
  }
}

export async function startChdbHttpServer(
  options: { path?: string; port?: number } = {},
): Promise<ChdbHttpServer> {
  const path = options.path ?? mkdtempSync(join(tmpdir(), 'keytrail-chdb-http-'));
  const session = new Session(path);
  let queue: Promise<unknown> = Promise.resolve();
  let currentDatabase = 'default';
  // One query at a time, each in the database its request names (the `database` parameter).
  const serial = <T>(database: string, fn: () => Promise<T>): Promise<T> => {
    const inDatabase = async () => {
      if (database !== currentDatabase) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database))
          throw Object.assign(new Error(`bad database ${database}`), { clickhouseCode: 81 });
        await session.queryAsync(`USE ${database}`, { format: 'Null' });
        currentDatabase = database;
      }
      return fn();
    };
    const run = queue.then(inDatabase, inDatabase);
    queue = run.catch(() => {});
    return run;
  };

  const faults: { pattern: RegExp; left: number; code: number; message: string }[] = [];
  const injectFault = (statement: string) => {
    const fault = faults.find((f) => f.left > 0 && f.pattern.test(statement));
    if (!fault) return;
    fault.left--;
    throw Object.assign(new Error(`Code: ${fault.code}. DB::Exception: ${fault.message}`), {
      clickhouseCode: fault.code,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (
      url.pathname === '/ping' ||
      (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))
    ) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    const bodyBytes = await readBody(req);
    const body = bodyBytes.toString('utf8');
    const params: Record<string, string> = {};
    const settings: [string, string][] = [];
    for (const [key, value] of url.searchParams) {
      if (key.startsWith('param_')) params[key.slice(6)] = value;
      else if (!TRANSPORT_PARAMS.has(key)) settings.push([key, value]);
    }
    const queryId = url.searchParams.get('query_id') ?? crypto.randomUUID();
    const database = url.searchParams.get('database') || 'default';
    const queryParam = url.searchParams.get('query');
    const gzip =
      url.searchParams.get('enable_http_compression') === '1' &&
      /gzip/.test(String(req.headers['accept-encoding']));

    const reply = (status: number, payload: Buffer | string, headers: Record<string, string>) => {
      let data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
      const extra: Record<string, string> = {};
      if (gzip) {
        data = gzipSync(data);
        extra['content-encoding'] = 'gzip';
      }
      res.writeHead(status, { 'x-clickhouse-query-id': queryId, ...headers, ...extra }).end(data);
    };

    try {
      injectFault(queryParam ? `${queryParam}\n${body.slice(0, 10_000)}` : body);
      const fromInput = queryParam ? INSERT_FROM_INPUT_RE.exec(queryParam) : null;
      if (fromInput && body.length > 0) {
        const [, table, columns, select, structure, format] = fromInput;
        const bare = table!.replace(/[`"]/g, '');
        const file = join(path, `input-${crypto.randomUUID()}.${format!.toLowerCase()}`);
        writeFileSync(file, bodyBytes);
        try {
          await serial(database, () =>
            session.queryBindAsync(
              `INSERT INTO ${bare.includes('.') ? bare : `${database}.${bare}`} (${columns})
               SELECT ${select} FROM file({file:String}, '${format}', ${structure})${settingsClause(settings)}`,
              { file },
              { format: 'Null' },
            ),
          );
        } finally {
          rmSync(file, { force: true });
        }
        reply(200, '', {});
        return;
      }
      const insert = queryParam ? INSERT_RE.exec(queryParam) : null;
      if (insert && body.length > 0) {
        const [, table, columns, format] = insert;
        const bare = table!.replace(/[`"]/g, '');
        const columnList = columns?.split(',').map((c) => c.trim().replace(/[`"]/g, ''));
        if (format === 'RowBinary') {
          // chdb takes binary formats from files only: the body goes through one, typed like the table.
          await serial(database, () =>
            insertRowBinaryBody(
              session,
              path,
              bare.includes('.') ? bare : `${database}.${bare}`,
              columnList,
              bodyBytes,
              settings,
            ),
          );
          reply(200, '', {});
          return;
        }
        const summary = await serial(database, () =>
          session.insert({
            table: bare.includes('.') ? bare : `${database}.${bare}`,
            values: Buffer.from(body),
            format: format as 'JSONEachRow',
            ...(columnList ? { columns: columnList } : {}),
            settings: Object.fromEntries(settings),
          }),
        );
        reply(200, '', {
          'x-clickhouse-summary': JSON.stringify({
            written_rows: String(summary.rowsWritten),
            written_bytes: String(summary.bytesWritten),
          }),
        });
        return;
      }
      let sql = queryParam ? (body ? `${queryParam} ${body}` : queryParam) : body;
      let format = url.searchParams.get('default_format') ?? 'TabSeparated';
      const trailing = TRAILING_FORMAT_RE.exec(sql);
      if (trailing) {
        format = trailing[1]!;
        sql = sql.slice(0, trailing.index);
      }
      sql = sql.replace(/;\s*$/, '');
      if (READ_QUERY_RE.test(sql)) sql += settingsClause(settings);
      const bound = bindWireParams(sql, params);
      const result = await serial(database, () =>
        session.queryBindAsync(bound.sql, bound.params, { format }),
      );
      reply(200, Buffer.from(result.bytes()), {
        'content-type': format.startsWith('JSON')
          ? 'application/json; charset=UTF-8'
          : 'text/plain; charset=UTF-8',
        'x-clickhouse-format': format,
        'x-clickhouse-summary': JSON.stringify({
          read_rows: String(result.rowsRead),
          read_bytes: String(result.bytesRead),
        }),
      });
    } catch (err) {
      const e = err as { clickhouseCode?: number; message?: string };
      const code = typeof e.clickhouseCode === 'number' ? e.clickhouseCode : 1002;
      const message = e.message?.startsWith('Code:')
        ? e.message
        : `Code: ${code}. DB::Exception: ${e.message ?? String(err)}`;
      reply(statusFor(code), `${message}\n`, {
        'x-clickhouse-exception-code': String(code),
        'content-type': 'text/plain; charset=UTF-8',
      });
    }
  };

  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      // ClickHouse accepts URIs up to 1 MiB (http_max_uri_size); Node's default header limit is 16 KiB.
      const s = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
        handle(req, res).catch((err) => res.writeHead(500).end(String(err)));
      });
      s.keepAliveTimeout = 2_000;
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    session,
    stop,
    start: listen,
    failNext(pattern, times, code, message) {
      faults.push({ pattern, left: times, code, message });
    },
    async close() {
      await stop();
      await queue;
      session.close();
      currentDatabase = 'default';
    },
  };
}
