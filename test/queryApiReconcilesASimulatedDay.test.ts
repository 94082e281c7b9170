import { generateTraffic, type JsonEvent } from '@keytrail/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeytrailProcess, startKeytrailUp, waitFor } from './kit/index.ts';

// A simulated day of four workspaces' traffic, sent through ingest and the projector of
// `keytrail up`. For every workspace, three read paths over different rollups must each add up
// to the decisions counted directly from what was sent: /usage by key (key_usage_minute), every
// key's own /usage buckets (key_usage_hour), and the billing export by day and by month
// (billing_usage_day, billing_usage_month).
const ADMIN = 'kt_admin_reconcile_0123456789abcdef';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Math.floor((Date.now() - 25 * HOUR) / HOUR) * HOUR;
const DECISIONS = 8_000;
const FROM = new Date(START - HOUR).toISOString();
const TO = new Date(Math.ceil(Date.now() / HOUR) * HOUR + HOUR).toISOString();
const dayOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 10)}T00:00:00Z`;
const monthOf = (ms: number, ahead: number) => {
  const d = new Date(ms);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + ahead, 1)).toISOString();
};

type Decision = JsonEvent & {
  workspace_id: string;
  key_id?: string;
  key_env?: string;
  outcome: string;
  end_user_id?: string;
  cost?: number;
};

const sent = [
  ...generateTraffic({
    seed: 20,
    startMs: START,
    decisions: DECISIONS,
    workspaces: 4,
    ratePerSecond: DECISIONS / (24 * 3600),
    probeAttack: true,
  }),
];
const decisions = sent.filter((e): e is Decision => e.type === 'auth_decision');
const workspaces = [...new Set(decisions.map((d) => d.workspace_id))].sort();

/** Counts of `rows` by `keyOf`, as a plain object (stable for toEqual). */
function countBy<T>(rows: T[], keyOf: (row: T) => string, weight: (row: T) => number = () => 1) {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[keyOf(row)] = (counts[keyOf(row)] ?? 0) + weight(row);
  return counts;
}

describe('the query API reconciles with the raw decisions after a simulated day', () => {
  let app: KeytrailProcess;
  let url = '';
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text.slice(0, 300)}`);
    return text;
  };
  const getJson = async (path: string) => JSON.parse(await get(path));

  beforeAll(async () => {
    ({ app, url } = await startKeytrailUp('reconcile', { KEYTRAIL_ADMIN_TOKEN: ADMIN }));
    for (let i = 0; i < sent.length; i += 2_000) {
      const batch = sent.slice(i, i + 2_000);
      const posted = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      });
      expect(await posted.json()).toEqual({ accepted: batch.length, rejected: [] });
    }
    await waitFor(
      'the day projected',
      async () => {
        for (const ws of workspaces) {
          const { rows } = await getJson(
            `/v1/workspaces/${ws}/usage?from=${FROM}&to=${TO}&group_by=outcome&limit=1000`,
          );
          const total = rows.reduce((s: number, r: { total: number }) => s + r.total, 0);
          const expected = decisions.filter((d) => d.workspace_id === ws).length;
          if (total !== expected) throw new Error(`${ws}: ${total} of ${expected} decisions`);
        }
        return true;
      },
      90_000,
    );
  });

  afterAll(async () => {
    await app?.terminate();
  });

  it('spans a whole day over several workspaces, with refusals, sessions and probes', () => {
    expect(workspaces.length).toBe(4);
    const times = decisions.map((d) => Number(d.occurred_at));
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(DAY - 2 * HOUR);
    expect(new Set(decisions.map((d) => d.outcome)).size).toBeGreaterThanOrEqual(4);
    expect(decisions.some((d) => d.end_user_id)).toBe(true);
  });

  it.each(workspaces)(
    '%s: /usage by key, each key’s /usage buckets and the billing exports all add up',
    async (ws) => {
      const raw = decisions.filter((d) => d.workspace_id === ws);
      const rawByKey = countBy(raw, (d) => d.key_id ?? '');

      // 1. The workspace breakdown by key.
      const { rows } = await getJson(
        `/v1/workspaces/${ws}/usage?from=${FROM}&to=${TO}&group_by=key_id&limit=1000`,
      );
      expect(
        countBy(
          rows as { value: string; total: number }[],
          (r) => r.value,
          (r) => r.total,
        ),
      ).toEqual(rawByKey);

      // 2. Every known key's own buckets, per outcome.
      for (const keyId of Object.keys(rawByKey).filter((k) => k !== '')) {
        const { buckets } = await getJson(
          `/v1/workspaces/${ws}/keys/${keyId}/usage?from=${FROM}&to=${TO}&granularity=hour`,
        );
        const byOutcome: Record<string, number> = {};
        for (const bucket of buckets as { by_outcome: Record<string, number> }[])
          for (const [outcome, n] of Object.entries(bucket.by_outcome))
            byOutcome[outcome] = (byOutcome[outcome] ?? 0) + n;
        expect(byOutcome, keyId).toEqual(
          countBy(
            raw.filter((d) => (d.key_id ?? '') === keyId),
            (d) => d.outcome,
          ),
        );
      }

      // 3. Billing by day and by month: billable = ALLOWED decisions of LIVE keys, per end user.
      const billable = raw.filter((d) => d.key_env === 'LIVE' && d.outcome === 'ALLOWED');
      const live = raw.filter((d) => d.key_env === 'LIVE');
      const expectedByUser = countBy(billable, (d) => d.end_user_id ?? '');
      const expectedCost = live.reduce((s, d) => s + (d.cost ?? 0), 0);
      for (const query of [
        `from=${dayOf(START - DAY)}&to=${dayOf(Date.now() + DAY)}&period=day`,
        `from=${monthOf(START, 0)}&to=${monthOf(Date.now(), 1)}&period=month`,
      ]) {
        const lines = (await get(`/v1/workspaces/${ws}/billing/export?${query}&format=ndjson`))
          .trim()
          .split('\n')
          .map(
            (l) => JSON.parse(l) as { end_user_id: string; billable_requests: number; cost_micros: number },
          );
        expect(
          countBy(
            lines,
            (l) => l.end_user_id,
            (l) => l.billable_requests,
          ),
          query,
        ).toEqual(Object.fromEntries(Object.entries(expectedByUser)));
        expect(
          lines.reduce((s, l) => s + l.cost_micros, 0),
          query,
        ).toBe(expectedCost);
      }
    },
  );
});
