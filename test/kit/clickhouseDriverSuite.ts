import {
  AUTH_DECISIONS_LAYOUT,
  type ClickHouseDriver,
  countAuthDecisions,
  getKeyUsage,
  insertAuthDecisionContainer,
  insertAuthDecisions,
  insertKeyLifecycle,
  KEY_LIFECYCLE_LAYOUT,
  migrate,
  migrationStatus,
  streamBillingExport,
} from '@keytrail/clickhouse';
import { isKeytrailError } from '@keytrail/core';
import {
  type AuthDecision,
  createContainerBuilder,
  createEventCodec,
  eventFromJson,
  HEADER_LENGTH,
} from '@keytrail/events';
import { bareKeyLifecycle, fullAuthDecision, fullKeyLifecycle } from '@keytrail/events/fixtures';
import { generateTraffic } from '@keytrail/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const codec = createEventCodec();
const name_suffix = (name: string) => name.replace(/\W+/g, '_').slice(0, 20);

export function decisionRows(count: number, fields: (i: number) => Record<string, unknown>) {
  return Array.from({ length: count }, (_, i) => {
    const parsed = eventFromJson({ type: 'auth_decision', request_id: `r${i}`, ...fields(i) }, codec);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return {
      event: parsed.value.event as AuthDecision,
      at: { partition: 0, offset: String(i), timestamp: Date.UTC(2026, 10, 22) },
    };
  });
}

/**
 * The behaviour both ClickHouse drivers must share, run once per driver (embedded chdb, HTTP
 * against chdb's endpoint, and a real server where one is reachable).
 */
export function clickHouseDriverSuite(
  name: string,
  connect: () => Promise<{ ch: ClickHouseDriver; close(): Promise<void> }>,
) {
  describe(`ClickHouse driver: ${name}`, () => {
    let ch: ClickHouseDriver;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ ch, close } = await connect());
    });
    afterAll(async () => {
      await close?.();
    });

    it('answers ping', async () => {
      expect(await ch.ping()).toBe(true);
    });

    it('applies every migration once and records it', async () => {
      const first = await migrate(ch);
      expect(first.pending).toEqual([]);
      const again = await migrate(ch);
      expect(again.applied).toEqual(first.applied);
      expect((await migrationStatus(ch)).pending).toEqual([]);
    });

    it('runs the migrations from two clients at once to the same schema (a projector migrates as the CLI does)', async () => {
      const db = `kt_concurrent_${name_suffix(name)}`;
      await ch.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
      const [a, b] = [ch.withDatabase(db), ch.withDatabase(db)];
      try {
        await Promise.all([migrate(a), migrate(b)]);
        expect((await migrationStatus(a)).pending).toEqual([]);
        const columns = await ch.query<{ name: string }>(
          `SELECT name FROM system.columns WHERE database = {db:String} AND table = 'billing_usage_month' ORDER BY position`,
          { db },
        );
        expect(columns.map((c) => c.name)).toEqual([
          'workspace_id',
          'month',
          'end_user_id',
          'billable_requests',
          'cost',
          'key_list',
        ]);
        const views = await ch.query<{ name: string }>(
          `SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' AND name = 'billing_usage_month_mv'`,
          { db },
        );
        expect(views).toHaveLength(1);
      } finally {
        await a.close();
        await b.close();
        await ch.command(`DROP DATABASE ${db}`);
      }
    });

    it('binds parameters on the server: quotes and SQL in values stay values', async () => {
      const hostile = "x' OR 1=1 --\\'; DROP TABLE auth_decisions";
      const rows = await ch.query<{ s: string; n: number; a: string[]; t: string; missing: null }>(
        "SELECT {s:String} AS s, {n:UInt32} + 1 AS n, {a:Array(String)} AS a, {t:DateTime64(3, 'UTC')} AS t, {missing:Nullable(String)} AS missing",
        {
          s: hostile,
          n: 41,
          a: ['p', "q'r"],
          t: new Date(Date.UTC(2026, 10, 22, 4, 5, 6, 789)),
          missing: null,
        },
      );
      expect(rows).toEqual([
        { s: hostile, n: 42, a: ['p', "q'r"], t: '2026-11-22T04:05:06.789Z', missing: null },
      ]);
      expect(await countAuthDecisions(ch)).toBeGreaterThanOrEqual(0); // the table is still there
    });

    it('writes every column of both raw tables through RowBinary exactly, typed as the tables are', async () => {
      await migrate(ch);
      const at = {
        partition: 3,
        offset: String(2 ** 40 + 7),
        timestamp: Date.UTC(2026, 10, 22, 5, 6, 7, 890),
      };
      const ws = `ws_rowbinary_${name_suffix(name)}`;
      const long = `${'ü'.repeat(70)}✓${'x'.repeat(300)}`;
      const cases = [
        {
          table: 'auth_decisions',
          layout: AUTH_DECISIONS_LAYOUT,
          insert: insertAuthDecisions,
          rows: [
            { event: fullAuthDecision({ workspace_id: ws }), at },
            {
              event: fullAuthDecision({
                workspace_id: ws,
                event_id: '01936b2e-1f00-7000-8000-0000000000ff',
                key_id: null,
                rate_limit: null,
                quota: null,
                latency_ms: null,
                source: null,
                granted_scopes: [],
                user_agent: long,
                cost: 2 ** 52,
              }),
              at,
            },
          ],
        },
        {
          table: 'key_lifecycle',
          layout: KEY_LIFECYCLE_LAYOUT,
          insert: insertKeyLifecycle,
          rows: [
            {
              event: fullKeyLifecycle({
                workspace_id: ws,
                grace_ends_at: Date.UTC(2026, 11, 1),
                ttl_seconds: 3600,
              }),
              at,
            },
            {
              event: bareKeyLifecycle({
                workspace_id: ws,
                event_id: '01936b2e-1f00-7000-8000-0000000000fe',
                occurred_at: Date.UTC(2026, 10, 22),
                lifecycle_type: 'REVOKED',
                key_id: 'key_ü',
                reason: long,
              }),
              at,
            },
          ],
        },
      ] as const;
      for (const { table, layout, insert, rows } of cases) {
        const types = await ch.query<{ name: string; type: string }>(
          'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} AND name IN {names:Array(String)} ORDER BY position',
          { table, names: [...layout.names] },
        );
        expect(Object.fromEntries(types.map((t) => [t.name, t.type]))).toEqual(
          Object.fromEntries(layout.columns.map((c) => [c.name, c.type])),
        );
        await insert(ch, rows as never);
        const stored = await ch.query<Record<string, unknown>>(
          `SELECT * EXCEPT ingested_at FROM ${table} WHERE workspace_id = {ws:String} ORDER BY event_id`,
          { ws },
        );
        const expected = rows.map((row) =>
          Object.fromEntries(
            layout.columns.map((c) => {
              const value = (c.value as (r: unknown) => unknown)(row);
              if (c.type.includes('DateTime64') && value !== null)
                return [c.name, new Date(value as number).toISOString()];
              return [c.name, c.type === 'UInt64' ? Number(value) : value];
            }),
          ),
        );
        expect(stored).toEqual(expected);
      }
    });

    it('stores an Avro container of bodies exactly as RowBinary stores the decoded events', async () => {
      await migrate(ch);
      const suffix = name_suffix(name);
      const now = Date.UTC(2026, 10, 22, 12);
      const events: AuthDecision[] = [
        fullAuthDecision(),
        fullAuthDecision({
          event_id: '01936B2E-1F00-7000-8000-0000000000AB',
          key_id: null,
          key_env: null,
          credential: 'SESSION_TOKEN',
          session_id: 'sess_1',
          end_user_id: 'user_ü',
          rate_limit: { window: 'SECOND', limit: 0, remaining: 0, reset_at: null, retry_after_s: 3 },
          quota: null,
          latency_ms: null,
          source: { name: 'gw', version: null },
          granted_scopes: [],
          user_agent: `${'ü'.repeat(70)}✓😀${'x'.repeat(300)}`,
          outcome: 'RATE_LIMITED',
          http_status: 429,
          cost: 2 ** 52,
        }),
      ];
      for (const json of generateTraffic({
        seed: 5,
        startMs: now - 3_600_000,
        decisions: 500,
        probeAttack: true,
      }))
        if (json.type === 'auth_decision') {
          const parsed = eventFromJson(json, codec, now);
          if (parsed.ok) events.push(parsed.value.event as AuthDecision);
        }
      const rowsOf = (ws: string) =>
        events.map((event, i) => ({
          event: { ...event, workspace_id: ws },
          at: { partition: i % 4, offset: String(2 ** 40 + i), timestamp: now + i },
        }));
      const viaRowBinary = `ws_rb_${suffix}`;
      const viaAvro = `ws_avro_${suffix}`;
      await insertAuthDecisions(ch, rowsOf(viaRowBinary));
      const builder = createContainerBuilder(codec.reader('auth_decision').schema as never);
      const container = builder.build(
        rowsOf(viaAvro).map((row) => ({
          body: codec.encode('auth_decision', row.event).subarray(HEADER_LENGTH),
          at: row.at,
        })),
      );
      const settings = { insert_deduplication_token: `test/${viaAvro}` };
      await insertAuthDecisionContainer(ch, { rows: events.length, data: container }, { settings });
      await insertAuthDecisionContainer(ch, { rows: events.length, data: container }, { settings });
      const stored = (ws: string) =>
        ch.query<Record<string, unknown>>(
          `SELECT * EXCEPT (ingested_at, workspace_id) FROM auth_decisions
           WHERE workspace_id = {ws:String} ORDER BY kafka_offset`,
          { ws },
        );
      const expected = await stored(viaRowBinary);
      expect(expected).toHaveLength(events.length);
      expect(await stored(viaAvro)).toEqual(expected);
    });

    it('discards a re-sent insert with the same deduplication token', async () => {
      const ws = `ws_dedup_${name.replace(/\W/g, '')}`;
      const rows = decisionRows(100, (i) => ({
        workspace_id: ws,
        key_id: 'k1',
        occurred_at: Date.UTC(2026, 10, 22, 4, i % 5),
        outcome: 'ALLOWED',
      }));
      const settings = { insert_deduplication_token: `test/${ws}/0-99` };
      await insertAuthDecisions(ch, rows, { settings });
      await insertAuthDecisions(ch, rows, { settings });
      expect(await countAuthDecisions(ch, ws)).toBe(100);
      await insertAuthDecisions(ch, rows, { settings: { insert_deduplication_token: `test/${ws}/100-199` } });
      expect(await countAuthDecisions(ch, ws)).toBe(200);
    });

    it('buckets one key’s usage by outcome, leaving empty buckets out', async () => {
      const ws = `ws_usage_${name.replace(/\W/g, '')}`;
      const rows = decisionRows(60, (i) => ({
        workspace_id: ws,
        key_id: i % 10 === 9 ? 'other_key' : 'key_1',
        occurred_at: Date.UTC(2026, 10, 22, 4, i < 30 ? 0 : 2, i % 60, 500),
        outcome: i % 3 === 0 ? 'INVALID_KEY' : 'ALLOWED',
      }));
      await insertAuthDecisions(ch, rows, { settings: { insert_deduplication_token: `usage/${ws}` } });
      const buckets = await getKeyUsage(ch, {
        workspaceId: ws,
        keyId: 'key_1',
        from: new Date(Date.UTC(2026, 10, 22, 4)),
        to: new Date(Date.UTC(2026, 10, 22, 5)),
        granularity: 'minute',
      });
      const expected = (minute: number) => {
        const mine = rows.filter(
          (r) => r.event.key_id === 'key_1' && new Date(r.event.occurred_at).getUTCMinutes() === minute,
        );
        const byOutcome: Record<string, number> = {};
        for (const { event } of mine) byOutcome[event.outcome] = (byOutcome[event.outcome] ?? 0) + 1;
        return {
          start: new Date(Date.UTC(2026, 10, 22, 4, minute)).toISOString(),
          total: mine.length,
          by_outcome: byOutcome,
          errors: mine.filter(({ event }) => event.outcome !== 'ALLOWED').length,
          cost: mine.reduce((sum, { event }) => sum + event.cost, 0),
          latency_ms: mine.some(({ event }) => event.latency_ms !== null) ? expect.any(Object) : null,
        };
      };
      expect(buckets).toEqual([expected(0), expected(2)]);
    });

    it('reports latency quantiles from the histogram within its error, and from t-digests for older buckets', async () => {
      const ws = `ws_latency_${name.replace(/\W/g, '')}`;
      const hour = (h: number) => Date.UTC(2026, 10, 22, h);
      // Hour 4: 2,000 latencies spread over four decades; hour 5: one decision.
      const spread = (i: number) => Math.round(0.05 * 1.0046 ** i * 1000) / 1000;
      const rows = decisionRows(2_001, (i) => ({
        workspace_id: ws,
        key_id: 'key_1',
        occurred_at: i < 2_000 ? hour(4) + i : hour(5) + 1,
        outcome: 'ALLOWED',
        latency_ms: i < 2_000 ? spread(i) : 7.25,
      }));
      await insertAuthDecisions(ch, rows, { settings: { insert_deduplication_token: `latency/${ws}` } });
      // Hour 3 as a rollup written before migration 0018: a t-digest and no histogram.
      await ch.command(
        `INSERT INTO key_usage_hour (workspace_id, key_id, bucket, outcome, key_env, requests, latency, latency_count)
         SELECT '${ws}', 'key_1', toDateTime('2026-11-22 03:00:00', 'UTC'), 'ALLOWED', 'live', 3,
                quantilesTDigestState(0.5, 0.9, 0.99)(x), 3
         FROM (SELECT arrayJoin([10., 20., 30.]) AS x)`,
      );
      const buckets = await getKeyUsage(ch, {
        workspaceId: ws,
        keyId: 'key_1',
        from: new Date(hour(3)),
        to: new Date(hour(6)),
        granularity: 'hour',
      });
      expect(buckets.map((b) => b.start)).toEqual(
        [hour(3), hour(4), hour(5)].map((t) => new Date(t).toISOString()),
      );
      expect(buckets[0]!.latency_ms).toEqual({ p50: 20, p90: 30, p99: 30 });
      const exact = rows
        .slice(0, 2_000)
        .map((r) => r.event.latency_ms!)
        .sort((a, b) => a - b);
      const reported = buckets[1]!.latency_ms!;
      for (const [q, value] of [
        [0.5, reported.p50],
        [0.9, reported.p90],
        [0.99, reported.p99],
      ] as const) {
        const truth = exact[Math.ceil(q * exact.length) - 1]!;
        expect(Math.abs(value - truth) / truth, `p${q * 100}: ${value} vs ${truth}`).toBeLessThan(0.091);
      }
      expect(buckets[2]!.latency_ms).toEqual({ p50: 7.25, p90: 7.25, p99: 7.25 });
    });

    it('streams the billing export: every row once and in order, exact sums and key counts across parts', async () => {
      const ws = `ws_billing_${name.replace(/\W/g, '')}`;
      // 40 end users (and unattributed usage) over two months, through up to 3 keys each, in
      // four inserts: the rollups hold each end user in several parts until they merge.
      const inserts = Array.from({ length: 4 }, (_, insert) =>
        decisionRows(240, (i) => ({
          workspace_id: ws,
          key_id: `key_${(i + insert) % 3}`,
          key_env: 'LIVE',
          end_user_id: i % 41 === 40 ? null : `eu_${i % 41}`,
          occurred_at: Date.UTC(2026, 9 + (i % 2), 3 + insert, 12),
          outcome: i % 5 === 0 ? 'RATE_LIMITED' : 'ALLOWED',
          cost: 10,
        })),
      );
      for (const [insert, rows] of inserts.entries())
        await insertAuthDecisions(ch, rows, {
          settings: { insert_deduplication_token: `billing/${ws}/${insert}` },
        });
      type Line = {
        period_start: string;
        end_user_id: string;
        billable_requests: number;
        cost_micros: number;
        keys: number;
      };
      for (const period of ['month', 'day'] as const) {
        // What the export must say, counted from the decisions themselves.
        const expected = new Map<string, Line & { keySet: Set<string> }>();
        for (const { event } of inserts.flat()) {
          const day = new Date(event.occurred_at).toISOString().slice(0, 10);
          const start = period === 'month' ? `${day.slice(0, 8)}01` : day;
          const endUser = event.end_user_id ?? '';
          const line = expected.get(`${start}/${endUser}`) ?? {
            period_start: start,
            end_user_id: endUser,
            billable_requests: 0,
            cost_micros: 0,
            keys: 0,
            keySet: new Set(),
          };
          line.billable_requests += event.outcome === 'ALLOWED' ? 1 : 0;
          line.cost_micros += event.cost ?? 0;
          line.keySet.add(event.key_id!);
          line.keys = line.keySet.size;
          expected.set(`${start}/${endUser}`, line);
        }
        const exportLines = async (limit?: number) => {
          let text = '';
          for await (const chunk of streamBillingExport(ch, {
            workspaceId: ws,
            fromDay: '2026-10-01',
            toDay: '2026-12-01',
            period,
            format: 'ndjson',
            ...(limit ? { limit } : {}),
          }))
            text += chunk;
          return text
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Line);
        };
        const whole = await exportLines();
        expect(whole).toEqual(
          [...expected.keys()].sort().map((k) => {
            const { keySet: _, ...line } = expected.get(k)!;
            return line;
          }),
        );
        expect(whole.length).toBe(period === 'month' ? 2 * 41 : 8 * 41);
        // A limit inside the first day or month, and one that runs on into the next.
        for (const limit of [7, 50]) expect(await exportLines(limit)).toEqual(whole.slice(0, limit));
      }
    });

    it('streams lines in chunks while other calls go on', async () => {
      let text = '';
      let chunks = 0;
      for await (const chunk of ch.streamLines(
        `SELECT concat(toString(number), ',', {tag:String}) FROM numbers({count:UInt32})`,
        { tag: 'é,"x"', count: 300_000 },
      )) {
        text += chunk;
        // A read awaited in the middle of a stream: the stream has a connection of its own.
        if (chunks++ === 1) expect(await ch.query<{ n: number }>('SELECT 7 AS n')).toEqual([{ n: 7 }]);
      }
      expect(chunks).toBeGreaterThan(1);
      const lines = text.split('\n');
      expect(lines).toHaveLength(300_001);
      expect(lines[299_999]).toBe('299999,é,"x"');
      expect(lines.at(-1)).toBe('');
    });

    it('writes CSV cells a spreadsheet cannot run as formulas, quoted as RFC 4180 says', async () => {
      const ws = `ws_csv_${name.replace(/\W/g, '')}`;
      const cells: [string, string][] = [
        ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
        ['+1', "'+1"],
        ['-2', "'-2"],
        ['@SUM(A1)', "'@SUM(A1)"],
        ['\tx', "'\tx"],
        ['\rx', `"'\rx"`],
        ['a,b', '"a,b"'],
        ['line\nbreak', '"line\nbreak"'],
        ['eu_42', 'eu_42'],
      ];
      // Straight into the rollup: ingest admits printable ids only, the rule holds for any.
      await ch.insert(
        'billing_usage_day',
        cells.map(([id]) => ({
          workspace_id: ws,
          day: '2026-11-02',
          end_user_id: id,
          key_id: 'k',
          billable_requests: 2,
          cost: -3,
        })),
      );
      let csv = '';
      for await (const lines of streamBillingExport(ch, {
        workspaceId: ws,
        fromDay: '2026-11-01',
        toDay: '2026-12-01',
        period: 'month',
        format: 'csv',
      }))
        csv += lines;
      const expected = [...cells]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, cell]) => `2026-11-01,${cell},2,-3,1\r\n`)
        .join('');
      expect(csv).toBe(expected);
    });

    it('reports a bad statement as a KeytrailError that is not retriable', async () => {
      const err = await ch.query('SELECT (1 +').catch((e: unknown) => e);
      expect(isKeytrailError(err)).toBe(true);
      expect((err as { retriable: boolean }).retriable).toBe(false);
      expect((err as Error).message).toMatch(/Syntax error|SYNTAX_ERROR/i);
    });

    it('addresses another database on the same connection, leaving the first one as it was', async () => {
      const viewDb = `kt_view_${name_suffix(name)}`;
      await ch.command(`CREATE DATABASE IF NOT EXISTS ${viewDb}`);
      const view = ch.withDatabase(viewDb);
      expect(view.database).toBe(viewDb);
      await migrate(view);
      const rows = decisionRows(7, (i) => ({
        workspace_id: 'ws_view',
        key_id: 'k',
        occurred_at: Date.UTC(2026, 10, 22, 4, i),
        outcome: 'ALLOWED',
      }));
      await insertAuthDecisions(view, rows);
      expect(await countAuthDecisions(view, 'ws_view')).toBe(7);
      expect(await countAuthDecisions(ch, 'ws_view')).toBe(0);
      const [where] = await ch.query<{ db: string }>('SELECT currentDatabase() AS db');
      expect(where!.db).toBe(ch.database);
      await view.close();
      expect(await ch.ping()).toBe(true);
      await ch.command(`DROP DATABASE ${viewDb}`);
    });

    it('streams rows', async () => {
      const seen: number[] = [];
      for await (const row of ch.stream<{ n: number }>('SELECT number AS n FROM numbers({count:UInt32})', {
        count: 2500,
      }))
        seen.push(row.n);
      expect(seen.length).toBe(2500);
      expect(seen.at(-1)).toBe(2499);
    });

    it('returns TabSeparated rows as text fields, escapes undone', async () => {
      const rows = await ch.queryTabSeparated(
        'SELECT number AS n, {text:String} AS t FROM numbers(2) ORDER BY n',
        { text: "tab\there, line\nbreak, back\\slash, quote'" },
      );
      expect(rows).toEqual([
        ['0', "tab\there, line\nbreak, back\\slash, quote'"],
        ['1', "tab\there, line\nbreak, back\\slash, quote'"],
      ]);
    });
  });
}
