import { sparkline } from '../charts.js';
import { api, badge, choice, el, link, number, pager, relative, route, table, time } from '../lib.js';

const PAGE = 50;

function statusCell(k) {
  return [
    badge(k.status),
    k.status === 'SUPERSEDED' && k.grace_ends_at
      ? el('div', { class: 'muted' }, `grace ends ${relative(k.grace_ends_at)}`)
      : '',
    k.status === 'ACTIVE' && k.expires_at
      ? el('div', { class: 'muted' }, `expires ${relative(k.expires_at)}`)
      : '',
  ];
}

function keyCell(k) {
  const name = el('a', { href: link('key', { key: k.key_id }) }, k.name || k.key_id);
  if (!k.parent_key_id) return name;
  return [
    name,
    el('div', { class: 'muted' }, `session for ${k.end_user_id ?? '—'}, issued by ${k.parent_key_id}`),
  ];
}

/** The kind filter: API keys by default (sessions are many and short-lived), sessions, or both. */
const KINDS = { key: 'API keys', session: 'Sessions', all: 'Both' };

const COLUMNS = [
  { title: 'Key', cell: keyCell },
  { title: 'Prefix', cell: (k) => k.key_prefix || '—' },
  { title: 'Status', cell: statusCell },
  { title: 'Env', cell: (k) => k.env || '—' },
  { title: 'Last used', cell: (k) => time(k.last_used_at) },
  { title: '24 h', cell: (k) => sparkline(k.hourly_24h ?? []) },
  { title: 'Requests 24 h', num: true, cell: (k) => number(k.requests_24h) },
  { title: 'Errors 24 h', num: true, cell: (k) => number(k.errors_24h) },
];

/** Keys: search by name, prefix or id; filter by status and environment; 50 a page, then "More keys". */
export async function keys() {
  const { params } = route();
  const filter = new URLSearchParams({ limit: String(PAGE) });
  for (const name of ['q', 'status', 'env', 'prefix'])
    if (params.get(name)) filter.set(name, params.get(name));
  const kind = KINDS[params.get('kind')] ? params.get('kind') : 'key';
  if (kind !== 'all') filter.set('kind', kind);
  const first = await api(`/keys?${filter}`);
  const search = el(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter keys',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(search);
        location.hash = link('keys', {
          q: String(data.get('q')) || undefined,
          status: String(data.get('status')) || undefined,
          env: String(data.get('env')) || undefined,
          kind: String(data.get('kind')) === 'key' ? undefined : String(data.get('kind')),
        });
      },
    },
    el(
      'label',
      {},
      'Search',
      el('input', { name: 'q', value: params.get('q') ?? '', placeholder: 'name or id' }),
    ),
    choice(
      'Status',
      { name: 'status' },
      ['', 'ACTIVE', 'SUPERSEDED', 'REVOKED', 'EXPIRED'],
      params.get('status') ?? '',
    ),
    choice('Environment', { name: 'env' }, ['', 'LIVE', 'TEST', 'DEV'], params.get('env') ?? ''),
    choice('Show', { name: 'kind' }, Object.entries(KINDS), kind),
    el('button', { type: 'submit' }, 'Filter'),
  );
  const rows = [...first.keys];
  const holder = el('div', {}, table(COLUMNS, rows, 'No key matches.', 'Keys'));
  const more = pager('More keys', first.next_cursor, async (cursor) => {
    const next = await api(`/keys?${filter}&cursor=${encodeURIComponent(cursor)}`);
    rows.push(...next.keys);
    holder.replaceChildren(table(COLUMNS, rows, 'No key matches.', 'Keys'));
    return next.next_cursor;
  });
  return [el('h1', {}, 'Keys'), search, holder, more];
}
