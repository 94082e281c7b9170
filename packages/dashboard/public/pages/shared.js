// Pieces more than one page shows: an alert with its evidence, a decisions table, outcomes in
// order, a link to an end user, a usage series as a table, the refused column.
import { badge, el, link, number, table, time } from '../lib.js';

/** Outcomes a 401 answers (unknown, expired, revoked, missing or malformed credentials). */
export const UNAUTHORIZED = [
  'INVALID_KEY',
  'EXPIRED_KEY',
  'REVOKED_KEY',
  'MISSING_CREDENTIALS',
  'MALFORMED_CREDENTIALS',
];
/** The outcomes GET /probes counts. */
export const PROBE_OUTCOMES = ['INVALID_KEY', 'EXPIRED_KEY', 'REVOKED_KEY'];
export const sumOutcomes = (byOutcome, outcomes) => outcomes.reduce((s, o) => s + (byOutcome?.[o] ?? 0), 0);
/** A table column: the decisions of a row (`total`, `by_outcome`) that were not ALLOWED. */
export const REFUSED_COLUMN = {
  title: 'Refused',
  num: true,
  cell: (r) => number(r.total - (r.by_outcome.ALLOWED ?? 0)),
};
/** The outcomes the buckets hold, ALLOWED first (a chart's first colour), the rest by name. */
export const outcomesOf = (buckets) =>
  [...new Set(buckets.flatMap((b) => Object.keys(b.by_outcome)))].sort((a, b) =>
    a === 'ALLOWED' ? -1 : b === 'ALLOWED' ? 1 : a < b ? -1 : 1,
  );
/** A link to an end user's page (leaving a key page's key and filter behind); `none` for no end user. */
export const endUserLink = (endUserId, none = '—') =>
  endUserId
    ? el(
        'a',
        { href: link('end-user', { end_user: endUserId, key: undefined, outcome: undefined }) },
        endUserId,
      )
    : none;

export function alertCard(alert, { highlight = false } = {}) {
  const e = alert.evidence;
  return el(
    'article',
    {
      class: `alert ${alert.status}${highlight ? ' highlight' : ''}`,
      'aria-label': `${alert.kind} alert`,
      id: `alert-${alert.id}`,
      tabindex: highlight ? '-1' : undefined,
    },
    el('div', {}, badge(alert.status), ' ', badge(alert.severity), ' ', el('strong', {}, alert.kind)),
    el('p', {}, alert.summary),
    el(
      'div',
      { class: 'muted' },
      `Started ${time(alert.started_at)}, detected ${time(alert.detected_at)}`,
      alert.resolved_at ? `, resolved ${time(alert.resolved_at)}` : '',
      alert.scope.key_id
        ? [' · key ', el('a', { href: link('key', { key: alert.scope.key_id }) }, alert.scope.key_id)]
        : '',
      alert.scope.key_prefix ? ` · prefix ${alert.scope.key_prefix}` : '',
      alert.scope.client_ip ? ` · from ${alert.scope.client_ip}` : '',
      alert.scope.end_user_id ? [' · end user ', endUserLink(alert.scope.end_user_id)] : '',
    ),
    el(
      'div',
      { class: 'muted' },
      `Evidence: ${number(e.count)} in ${e.window_seconds} s against a threshold of ${number(e.threshold)} (baseline ${number(e.baseline)}), ${number(e.distinct_key_hashes)} distinct keys, ${number(e.distinct_ips)} IPs`,
      e.sample_request_ids?.length ? ` · e.g. request ${e.sample_request_ids.slice(0, 3).join(', ')}` : '',
    ),
  );
}

export function decisionsTable(decisions, empty = 'No decision in this range.') {
  return table(
    [
      { title: 'When', cell: (d) => time(d.occurred_at) },
      { title: 'Request id', cell: (d) => d.request_id ?? '' },
      { title: 'Outcome', cell: (d) => [badge(d.outcome), d.http_status ? ` ${d.http_status}` : ''] },
      { title: 'Route', cell: (d) => `${d.method ?? ''} ${d.route ?? ''}` },
      { title: 'End user', cell: (d) => endUserLink(d.end_user_id) },
      { title: 'Client IP', cell: (d) => d.client_ip || '—' },
    ],
    decisions,
    empty,
  );
}

/** A usage series as a table, newest bucket first, folded away under the charts it repeats. */
export function usageTable(granularity, buckets, columns) {
  return el(
    'details',
    {},
    el('summary', {}, `Usage per ${granularity}, as a table`),
    table(
      [
        { title: 'Bucket', cell: (b) => time(b.start) },
        { title: 'Requests', num: true, cell: (b) => number(b.total) },
        ...columns,
      ],
      [...buckets].reverse(),
    ),
  );
}
