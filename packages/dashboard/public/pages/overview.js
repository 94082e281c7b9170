import { timeChart } from '../charts.js';
import {
  api,
  card,
  credits,
  el,
  granularity,
  link,
  number,
  percent,
  range,
  rangeQuery,
  section,
  table,
  time,
} from '../lib.js';
import { alertCard, endUserLink, REFUSED_COLUMN, sumOutcomes, UNAUTHORIZED } from './shared.js';

const SHOWN_ALERTS = 5;
const SEVERITY = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1 };

/** The workspace at a glance: traffic and its error and 401 rates, firing alerts, top keys, end users and sources. */
export async function overview() {
  const q = rangeQuery();
  const { from, to } = range();
  const g = granularity();
  const [series, firing] = await Promise.all([
    api(`/usage/series?${q}&granularity=${g}`),
    api('/alerts?status=firing&limit=50'),
  ]);
  const total = series.buckets.reduce((s, b) => s + b.total, 0);
  const errors = series.buckets.reduce((s, b) => s + b.errors, 0);
  const unauthorized = series.buckets.reduce((s, b) => s + sumOutcomes(b.by_outcome, UNAUTHORIZED), 0);
  const rate = (part) => (b) => (b.total > 0 ? Math.round((part(b) * 10_000) / b.total) / 100 : 0);
  const nearQuota = firing.alerts.filter((a) => a.kind === 'QUOTA_THRESHOLD');
  // The worst first, then the newest: the page shows a few, and a leaked key outranks a busy one.
  const worst = [...firing.alerts].sort((a, b) => (SEVERITY[b.severity] ?? 0) - (SEVERITY[a.severity] ?? 0));
  return [
    el('h1', {}, 'Overview'),
    el(
      'div',
      { class: 'grid' },
      card('Requests', number(total)),
      card('Error rate', percent(errors, total), `${number(errors)} refused`),
      card('401 rate', percent(unauthorized, total), `${number(unauthorized)} unauthorized`),
      card('Alerts firing', number(firing.alerts.length)),
    ),
    el(
      'div',
      { class: 'grid charts' },
      timeChart({
        title: `Requests per ${g}`,
        buckets: series.buckets,
        from,
        to,
        granularity: g,
        series: [
          { label: 'All', value: (b) => b.total },
          { label: 'Refused', value: (b) => b.errors },
          { label: '401', value: (b) => sumOutcomes(b.by_outcome, UNAUTHORIZED) },
        ],
      }),
      timeChart({
        title: `Error and 401 rate per ${g} (%)`,
        buckets: series.buckets,
        from,
        to,
        granularity: g,
        zeros: false,
        unit: ' %',
        series: [
          { label: 'Error rate', value: rate((b) => b.errors) },
          { label: '401 rate', value: rate((b) => sumOutcomes(b.by_outcome, UNAUTHORIZED)) },
        ],
      }),
    ),
    el('h2', {}, 'Firing alerts'),
    firing.alerts.length === 0
      ? el('p', { class: 'muted' }, 'No alert is firing.')
      : [
          worst.slice(0, SHOWN_ALERTS).map((a) => alertCard(a)),
          firing.alerts.length > SHOWN_ALERTS
            ? el(
                'p',
                {},
                el(
                  'a',
                  { href: link('alerts', { status: 'firing' }) },
                  `All ${number(firing.alerts.length)}${firing.next_cursor ? '+' : ''} firing alerts`,
                ),
              )
            : '',
        ],
    section('Top keys', async () => {
      const keys = await api(`/usage?${q}&group_by=key_id&limit=5`);
      return table(
        [
          {
            title: 'Key',
            cell: (r) =>
              r.value ? el('a', { href: link('key', { key: r.value }) }, r.value) : '(unknown key)',
          },
          { title: 'Requests', num: true, cell: (r) => number(r.total) },
          REFUSED_COLUMN,
        ],
        keys.rows,
      );
    }),
    section('Top end users', async () => {
      const endUsers = await api(`/usage?${q}&group_by=end_user_id&limit=5`);
      return table(
        [
          { title: 'End user', cell: (r) => endUserLink(r.value, '(no end user)') },
          { title: 'Requests', num: true, cell: (r) => number(r.total) },
          REFUSED_COLUMN,
          { title: 'Cost (credits)', num: true, cell: (r) => credits(r.cost) },
        ],
        endUsers.rows,
      );
    }),
    section('Top probing sources', async () => {
      const probes = await api(`/probes?${q}&group_by=client_ip&limit=5`);
      return [
        table(
          [
            { title: 'Client IP', cell: (r) => r.value || '—' },
            { title: 'Attempts', num: true, cell: (r) => number(r.attempts) },
            { title: 'Distinct keys', num: true, cell: (r) => number(r.distinct_key_hashes) },
            { title: 'Last seen', cell: (r) => time(r.last_seen) },
          ],
          probes.rows,
          'No invalid, expired or revoked attempts in this range.',
        ),
        el('p', {}, el('a', { href: link('probes') }, 'All probes')),
      ];
    }),
    el('h2', {}, 'Keys near quota'),
    nearQuota.length === 0
      ? el('p', { class: 'muted' }, 'No key is over its quota threshold.')
      : table(
          [
            {
              title: 'Key',
              cell: (a) =>
                a.scope.key_id
                  ? el('a', { href: link('key', { key: a.scope.key_id }) }, a.scope.key_id)
                  : a.scope.key_prefix,
            },
            { title: 'Used', num: true, cell: (a) => number(a.evidence.count) },
            { title: 'Threshold', num: true, cell: (a) => number(a.evidence.threshold) },
            { title: 'Since', cell: (a) => time(a.started_at) },
          ],
          nearQuota,
        ),
  ];
}
