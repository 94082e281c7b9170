import { timeChart } from '../charts.js';
import { api, el, granularity, link, number, range, rangeQuery, route, table, time } from '../lib.js';
import { PROBE_OUTCOMES, sumOutcomes } from './shared.js';

const GROUPS = {
  client_ip: 'Source IP',
  key_prefix: 'Key prefix',
  presented_key_hash: 'Presented key (hash)',
};

/** The alert about `value` (a source IP or key prefix) in the range, if there is one. */
function alertFor(alerts, by, value) {
  return alerts.find(
    (a) =>
      (by === 'client_ip' ? a.scope.client_ip : by === 'key_prefix' ? a.scope.key_prefix : undefined) ===
      value,
  );
}

/** Leaked-key probes: invalid, expired and revoked attempts over time and by source, with their alerts. */
export async function probes() {
  const q = rangeQuery();
  const { from, to } = range();
  const g = granularity();
  const by = GROUPS[route().params.get('by')] ? route().params.get('by') : 'client_ip';
  const [series, rows, alerts] = await Promise.all([
    api(`/usage/series?${q}&granularity=${g}`),
    api(`/probes?${q}&group_by=${by}&limit=50`),
    api(`/alerts?${q}&limit=200`),
  ]);
  const attempts = series.buckets.reduce((s, b) => s + sumOutcomes(b.by_outcome, PROBE_OUTCOMES), 0);
  return [
    el('h1', {}, 'Probes'),
    el(
      'p',
      { class: 'muted' },
      `${number(attempts)} invalid, expired or revoked key attempts in this range.`,
    ),
    timeChart({
      title: `Attempts per ${g}`,
      buckets: series.buckets,
      from,
      to,
      granularity: g,
      series: PROBE_OUTCOMES.map((o) => ({ label: o, value: (b) => b.by_outcome[o] ?? 0 })),
    }),
    el(
      'nav',
      { class: 'tabs', 'aria-label': 'Group probes by' },
      Object.entries(GROUPS).map(([value, label]) =>
        el(
          'a',
          { href: link('probes', { by: value }), 'aria-current': value === by ? 'page' : undefined },
          label,
        ),
      ),
    ),
    table(
      [
        { title: GROUPS[by], cell: (r) => r.value || '(none)' },
        { title: 'Attempts', num: true, cell: (r) => number(r.attempts) },
        { title: 'Distinct keys', num: true, cell: (r) => number(r.distinct_key_hashes) },
        { title: 'Distinct IPs', num: true, cell: (r) => number(r.distinct_ips) },
        { title: 'First seen', cell: (r) => time(r.first_seen) },
        { title: 'Last seen', cell: (r) => time(r.last_seen) },
        {
          title: 'Alert',
          cell: (r) => {
            const alert = alertFor(alerts.alerts, by, r.value);
            return alert
              ? el(
                  'a',
                  { href: link('alerts', { alert: alert.id, kind: alert.kind, by: undefined }) },
                  `${alert.kind} (${alert.status.toLowerCase()})`,
                )
              : '—';
          },
        },
      ],
      rows.rows,
      'No invalid, expired or revoked attempts in this range.',
      `Probes by ${GROUPS[by]}`,
    ),
  ];
}
