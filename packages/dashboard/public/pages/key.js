import { timeChart } from '../charts.js';
import {
  api,
  badge,
  card,
  choice,
  credits,
  el,
  failure,
  granularity,
  link,
  ms,
  number,
  pager,
  range,
  rangeQuery,
  relative,
  route,
  section,
  table,
  time,
} from '../lib.js';
import { alertCard, decisionsTable, endUserLink, outcomesOf, usageTable } from './shared.js';

const DECISIONS_PAGE = 25;

function facts(key) {
  const limits = key.rate_limits ?? {};
  const rate = ['per_minute', 'per_hour', 'per_day']
    .filter((p) => limits[p] !== null && limits[p] !== undefined)
    .map((p) => `${number(limits[p])} ${p.replace('_', ' ')}`)
    .join(', ');
  const rows = [
    ['Key id', key.key_id],
    ['Prefix', key.key_prefix || '—'],
    ['Environment', key.env || '—'],
    ['Type', key.type || '—'],
    ['Scopes', (key.scopes ?? []).join(', ') || '—'],
    ['Rate limits', rate || '—'],
    ['Quota', key.quota ? `${number(key.quota.limit)} per ${String(key.quota.period).toLowerCase()}` : '—'],
    ['Allowed origins', (key.allowed_origins ?? []).join(', ') || 'any'],
    ['Created', time(key.created_at)],
    ['Expires', key.expires_at ? `${time(key.expires_at)} (${relative(key.expires_at)})` : 'never'],
    key.grace_ends_at ? ['Grace ends', `${time(key.grace_ends_at)} (${relative(key.grace_ends_at)})`] : null,
    key.replaced_by
      ? ['Replaced by', el('a', { href: link('key', { key: key.replaced_by }) }, key.replaced_by)]
      : null,
    key.revoked_at ? ['Revoked', time(key.revoked_at)] : null,
    key.end_user_id ? ['End user (session)', endUserLink(key.end_user_id)] : null,
    key.parent_key_id
      ? ['Issued by key', el('a', { href: link('key', { key: key.parent_key_id }) }, key.parent_key_id)]
      : null,
    ['Last used', `${time(key.last_used_at)}${key.last_client_ip ? ` from ${key.last_client_ip}` : ''}`],
  ].filter(Boolean);
  return el(
    'dl',
    { class: 'facts' },
    rows.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]),
  );
}

function change(field, c) {
  const show = (v) =>
    v === null || v === undefined
      ? '—'
      : Array.isArray(v)
        ? v.join(', ') || '[]'
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  return el('div', {}, el('strong', {}, field), `: ${show(c.from)} → ${show(c.to)}`);
}

/**
 * Recent decisions of the key, 25 a page, "Older decisions" follows the cursor; `outcomes` to
 * filter by. A session's are its parent key's, filtered by `sessionId`.
 */
function decisionsSection(keyId, outcomes, sessionId) {
  const id = encodeURIComponent(keyId);
  const { params } = route();
  return section('Recent decisions', async () => {
    const outcome = params.get('outcome');
    const base = `/keys/${id}/decisions?${rangeQuery()}&limit=${DECISIONS_PAGE}${outcome ? `&outcome=${encodeURIComponent(outcome)}` : ''}${sessionId ? `&session_id=${encodeURIComponent(sessionId)}` : ''}`;
    const first = await api(base);
    const rows = [...first.decisions];
    const holder = el('div', {}, decisionsTable(rows));
    const more = pager('Older decisions', first.next_cursor, async (cursor) => {
      const next = await api(`${base}&cursor=${encodeURIComponent(cursor)}`);
      rows.push(...next.decisions);
      holder.replaceChildren(decisionsTable(rows));
      return next.next_cursor;
    });
    // The outcomes this key had in the range (and the one chosen, even if it had none).
    const choices = ['', ...new Set([...outcomes, ...(outcome ? [outcome] : [])])];
    const filter = choice(
      'Outcome',
      {
        onchange: (event) => {
          location.hash = link('key', { outcome: event.target.value || undefined });
        },
      },
      choices,
      outcome ?? '',
    );
    return [el('div', { class: 'filters' }, filter), holder, more];
  });
}

function lifecycle(timeline) {
  return [
    el('h2', {}, 'Lifecycle'),
    table(
      [
        { title: 'When', cell: (e) => time(e.occurred_at) },
        { title: 'What', cell: (e) => e.lifecycle_type },
        { title: 'By', cell: (e) => (e.actor ? `${e.actor.kind} ${e.actor.id ?? ''}` : '—') },
        { title: 'Reason', cell: (e) => e.reason || '—' },
        { title: 'Changes', cell: (e) => Object.entries(e.changes ?? {}).map(([f, c]) => change(f, c)) },
      ],
      timeline,
      'No lifecycle event.',
    ),
  ];
}

/** Requests per bucket, one series per outcome seen (ALLOWED when none). */
function outcomeChart(buckets, outcomes, { from, to, granularity }) {
  return timeChart({
    title: `Requests per ${granularity} by outcome`,
    buckets,
    from,
    to,
    granularity,
    series: (outcomes.length ? outcomes : ['ALLOWED']).map((o) => ({
      label: o,
      value: (b) => b.by_outcome[o] ?? 0,
    })),
  });
}

/**
 * A session token's page. Its decisions are recorded under the key that issued it (key_id is the
 * parent key): the usage route answers for the session from those, its decisions are the parent
 * key's filtered by session, and its end user's page shows it among the user's other sessions.
 */
function sessionPage(key, timeline, usage, { id, q, from, to, granularity: g }) {
  const outcomes = outcomesOf(usage.buckets);
  return [
    el('h1', {}, `Session ${key.key_id} `, badge(key.status)),
    facts(key),
    el(
      'div',
      { class: 'grid' },
      card('Requests, last 24 h', number(key.requests_24h)),
      card('Refused, last 24 h', number(key.errors_24h)),
      card('Requests, last 30 days', number(key.requests_30d)),
    ),
    el('div', { class: 'grid charts' }, outcomeChart(usage.buckets, outcomes, { from, to, granularity: g })),
    el(
      'p',
      { class: 'muted' },
      'A session’s decisions are recorded under the key that issued it, ',
      el('a', { href: link('key', { key: key.parent_key_id }) }, key.parent_key_id),
      ': its requests, sources and decisions below are those made with this session. Its end user’s traffic, session by session, is on ',
      endUserLink(key.end_user_id),
      '’s page.',
    ),
    ...lifecycle(timeline),
    sourcesSection(id, q),
    decisionsSection(key.parent_key_id, [], key.key_id),
  ];
}

/** Where a key, or a session, was used from in the range; NEW marks an address its key had not been used from before. */
function sourcesSection(id, q) {
  return section('Sources', async () => {
    const activity = await api(`/keys/${id}/activity?${q}&limit=20`);
    return table(
      [
        { title: 'Client IP', cell: (s) => [s.client_ip || '—', s.new ? [' ', badge('NEW')] : ''] },
        { title: 'Origin', cell: (s) => s.origin || '—' },
        { title: 'User agent', cell: (s) => s.user_agent || '—' },
        { title: 'Region', cell: (s) => s.region || '—' },
        { title: 'Requests', num: true, cell: (s) => number(s.requests) },
        {
          title: 'Refused',
          num: true,
          cell: (s) => number(s.requests - (s.by_outcome?.ALLOWED ?? 0)),
        },
        { title: 'First seen', cell: (s) => time(s.first_seen) },
        { title: 'Last seen', cell: (s) => time(s.last_seen) },
      ],
      activity.sources,
    );
  });
}

function requestSearch() {
  const result = el('div', { 'aria-live': 'polite' });
  const form = el(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Find a request',
      onsubmit: async (event) => {
        event.preventDefault();
        const requestId = String(new FormData(form).get('request')).trim();
        result.replaceChildren(el('p', { class: 'muted' }, 'Looking…'));
        try {
          const { decisions } = await api(`/requests/${encodeURIComponent(requestId)}`);
          result.replaceChildren(decisionsTable(decisions));
        } catch (err) {
          result.replaceChildren(failure(err));
        }
      },
    },
    el('label', {}, 'Request id', el('input', { name: 'request', required: true, autocomplete: 'off' })),
    el('button', { type: 'submit' }, 'Find'),
  );
  return el('section', { 'aria-label': 'Find a request' }, el('h2', {}, 'Find a request'), form, result);
}

/** One key: its state, usage by outcome, latency and cost, lifecycle, sources, recent decisions. */
export async function keyPage() {
  const keyId = route().params.get('key');
  if (!keyId)
    return [
      el('h1', {}, 'Key'),
      el('p', {}, 'No key chosen. ', el('a', { href: link('keys') }, 'Pick one from the keys.')),
    ];
  const id = encodeURIComponent(keyId);
  const q = rangeQuery();
  const { from, to } = range();
  const g = granularity();
  const [{ key, timeline }, usage] = await Promise.all([
    api(`/keys/${id}`),
    api(`/keys/${id}/usage?${q}&granularity=${g}`),
  ]);
  if (key.parent_key_id) return sessionPage(key, timeline, usage, { id, q, from, to, granularity: g });
  const outcomes = outcomesOf(usage.buckets);
  const total = usage.buckets.reduce((s, b) => s + b.total, 0);
  const errors = usage.buckets.reduce((s, b) => s + b.errors, 0);
  const cost = usage.buckets.reduce((s, b) => s + b.cost, 0);
  return [
    el(
      'h1',
      {},
      key.name || key.key_id,
      ' ',
      badge(key.status),
      key.status === 'SUPERSEDED' && key.grace_ends_at
        ? el('span', { class: 'muted' }, ` grace ends ${relative(key.grace_ends_at)}`)
        : '',
    ),
    facts(key),
    el(
      'div',
      { class: 'grid' },
      card('Requests', number(total)),
      card('Refused', number(errors)),
      card('Cost (credits)', credits(cost)),
    ),
    el(
      'div',
      { class: 'grid charts' },
      outcomeChart(usage.buckets, outcomes, { from, to, granularity: g }),
      timeChart({
        title: `Latency per ${g} (ms)`,
        buckets: usage.buckets,
        from,
        to,
        granularity: g,
        zeros: false,
        unit: ' ms',
        series: [
          { label: 'p50', value: (b) => b.latency_ms?.p50 ?? null },
          { label: 'p99', value: (b) => b.latency_ms?.p99 ?? null },
        ],
      }),
      timeChart({
        title: `Cost per ${g} (credits)`,
        buckets: usage.buckets,
        from,
        to,
        granularity: g,
        series: [{ label: 'Credits', value: (b) => b.cost / 1_000_000 }],
      }),
    ),
    ...lifecycle(timeline),
    sourcesSection(id, q),
    section('Alerts on this key', async () => {
      const { alerts: mine } = await api(`/alerts?${q}&key_id=${id}&limit=20`);
      return mine.length
        ? mine.map((a) => alertCard(a))
        : el('p', { class: 'muted' }, 'No alert about this key in this range.');
    }),
    decisionsSection(keyId, outcomes),
    requestSearch(),
    usageTable(g, usage.buckets, [
      { title: 'Errors', num: true, cell: (b) => number(b.errors) },
      { title: 'p50 ms', num: true, cell: (b) => ms(b.latency_ms?.p50) },
      { title: 'p99 ms', num: true, cell: (b) => ms(b.latency_ms?.p99) },
      { title: 'Cost', num: true, cell: (b) => credits(b.cost) },
    ]),
  ];
}
