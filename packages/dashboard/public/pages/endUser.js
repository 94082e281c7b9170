import { timeChart } from '../charts.js';
import { api, card, credits, el, granularity, link, number, range, rangeQuery, route } from '../lib.js';
import { outcomesOf, usageTable } from './shared.js';

/** One end user: requests by outcome, refusals and cost per bucket, across every key and session. */
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
      card('Keys and sessions', number(Math.max(0, ...usage.buckets.map((b) => b.keys))), `most in one ${g}`),
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
            chart(`Keys and sessions used per ${g}`, [{ label: 'Keys', value: (b) => b.keys }], {
              zeros: false,
            }),
          ),
          usageTable(g, usage.buckets, [
            { title: 'Refused', num: true, cell: (b) => number(b.total - (b.by_outcome.ALLOWED ?? 0)) },
            { title: 'Cost', num: true, cell: (b) => credits(b.cost) },
            { title: 'Keys', num: true, cell: (b) => number(b.keys) },
          ]),
        ],
  ];
}
