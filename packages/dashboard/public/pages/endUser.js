import { timeChart } from '../charts.js';
import {
  api,
  card,
  credits,
  el,
  granularity,
  link,
  number,
  range,
  rangeQuery,
  route,
  table,
  time,
} from '../lib.js';
import { outcomesOf, REFUSED_COLUMN, usageTable } from './shared.js';

/** A link to a key's page (a session's too: sessions are listed with the keys). */
const keyLink = (keyId) =>
  keyId ? el('a', { href: link('key', { key: keyId, end_user: undefined }) }, keyId) : '(unknown key)';

/** Columns of what one key or one session carried of the end user's traffic. */
const shareColumns = (extra = []) => [
  { title: 'Requests', num: true, cell: (r) => number(r.total) },
  REFUSED_COLUMN,
  { title: 'Cost', num: true, cell: (r) => credits(r.cost) },
  ...extra,
  { title: 'First seen', cell: (r) => time(r.first_seen) },
  { title: 'Last seen', cell: (r) => time(r.last_seen) },
];

/**
 * One end user: requests by outcome, refusals and cost per bucket, across every key and session,
 * and the keys (a session's parent key) and sessions it came through, each linked to its page.
 */
export async function endUserPage() {
  const endUserId = route().params.get('end_user');
  if (!endUserId)
    return [
      el('h1', {}, 'End user'),
      el('p', {}, 'No end user chosen. ', el('a', { href: link('overview') }, 'Pick one from the overview.')),
    ];
  const { from, to } = range();
  const g = granularity();
  const usage = await api(
    `/end-users/${encodeURIComponent(endUserId)}/usage?${rangeQuery()}&granularity=${g}`,
  );
  const outcomes = outcomesOf(usage.buckets);
  const total = usage.buckets.reduce((s, b) => s + b.total, 0);
  const allowed = usage.buckets.reduce((s, b) => s + (b.by_outcome.ALLOWED ?? 0), 0);
  const cost = usage.buckets.reduce((s, b) => s + b.cost, 0);
  const chart = (title, series, options = {}) =>
    timeChart({ title, buckets: usage.buckets, from, to, granularity: g, series, ...options });
  return [
    el('h1', {}, `End user ${endUserId}`),
    el(
      'p',
      { class: 'muted' },
      'Every decision made for this end user, through any key or any session scoped to it. ',
      el('a', { href: link('billing') }, 'Billing'),
      ' counts the ALLOWED decisions of live keys.',
    ),
    el(
      'div',
      { class: 'grid' },
      card('Requests', number(total)),
      card('Refused', number(total - allowed)),
      card('Cost (credits)', credits(cost)),
      card(
        'Keys',
        `${number(usage.by_key.length)}${usage.more_keys ? '+' : ''}`,
        `${number(usage.by_session.length)}${usage.more_sessions ? '+' : ''} sessions; at most ${number(Math.max(0, ...usage.buckets.map((b) => b.keys)))} keys in one ${g}`,
      ),
    ),
    total === 0
      ? el('p', { class: 'muted' }, 'No decision for this end user in this range.')
      : [
          el(
            'div',
            { class: 'grid charts' },
            chart(
              `Requests per ${g} by outcome`,
              (outcomes.length ? outcomes : ['ALLOWED']).map((o) => ({
                label: o,
                value: (b) => b.by_outcome[o] ?? 0,
              })),
            ),
            chart(`Cost per ${g} (credits)`, [{ label: 'Credits', value: (b) => b.cost / 1_000_000 }]),
            chart(
              `Keys and sessions used per ${g}`,
              [
                { label: 'Keys', value: (b) => b.keys },
                { label: 'Sessions', value: (b) => b.sessions },
              ],
              { zeros: false },
            ),
          ),
          el('h2', {}, 'Keys it came through'),
          el(
            'p',
            { class: 'muted' },
            "Session traffic counts under the session's parent key. Most used first",
            usage.more_keys ? `; the first ${number(usage.by_key.length)} of more.` : '.',
          ),
          table(
            [
              { title: 'Key', cell: (k) => keyLink(k.key_id) },
              ...shareColumns([{ title: 'Sessions', num: true, cell: (k) => number(k.sessions) }]),
            ],
            usage.by_key,
            'No key in this range.',
            'Keys it came through',
          ),
          el('h2', {}, 'Sessions it came through'),
          el(
            'p',
            { class: 'muted' },
            'Session tokens scoped to this end user, each with the key it was issued from. Most used first',
            usage.more_sessions ? `; the first ${number(usage.by_session.length)} of more.` : '.',
          ),
          table(
            [
              { title: 'Session', cell: (r) => keyLink(r.session_id) },
              { title: 'Issued from', cell: (r) => keyLink(r.key_id) },
              ...shareColumns(),
            ],
            usage.by_session,
            'No session in this range: every decision came with a key.',
            'Sessions it came through',
          ),
          usageTable(g, usage.buckets, [
            REFUSED_COLUMN,
            { title: 'Cost', num: true, cell: (b) => credits(b.cost) },
            { title: 'Keys', num: true, cell: (b) => number(b.keys) },
            { title: 'Sessions', num: true, cell: (b) => number(b.sessions) },
          ]),
        ],
  ];
}
