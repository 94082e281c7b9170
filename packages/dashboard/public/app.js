// The Keytrail dashboard: a page that signs in with a Keytrail token and reads only the public
// API. State lives in the URL hash (#/page?ws=…&range=…&key=…), so a link can be pasted into an
// incident channel; the token lives in session storage, never in a URL or a log.

const TOKEN = 'keytrail.token';
const RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
const main = document.getElementById('main');

// ── small helpers: elements are built with textContent, so no API value is ever parsed as HTML ──

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY))
    if (child !== undefined && child !== null) node.append(child);
  return node;
}
const badge = (text) => el('span', { class: `badge ${text}` }, text);
const number = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('en'));
const percent = (part, whole) => (whole > 0 ? `${((part * 100) / whole).toFixed(1)} %` : '—');
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

function table(columns, rows, empty = 'Nothing in this range.') {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.title)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((row) =>
          el(
            'tr',
            {},
            columns.map((c) => el('td', { class: c.num ? 'num' : undefined }, c.cell(row))),
          ),
        ),
      ),
    ),
  );
}

// ── state in the URL ──

function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(query);
  return { page: path || 'overview', params };
}
function link(page, changes = {}) {
  const params = new URLSearchParams(route().params);
  for (const [k, v] of Object.entries(changes)) v === undefined ? params.delete(k) : params.set(k, v);
  return `#/${page}?${params}`;
}
function range() {
  const span = RANGES[route().params.get('range') ?? '24h'] ?? RANGES['24h'];
  const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
  return { from: new Date(to.getTime() - span).toISOString(), to: to.toISOString() };
}

// ── the API ──

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.requestId = body?.error?.request_id;
  }
}
async function api(path) {
  const ws = route().params.get('ws');
  const response = await fetch(`/v1/workspaces/${encodeURIComponent(ws)}${path}`, {
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN)}` },
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
const rangeQuery = () => {
  const { from, to } = range();
  return `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
};

/** An API failure as a person reads it: never a blank page. */
function failure(err) {
  const why =
    err.status === 401
      ? 'The token is unknown or revoked. Sign in again.'
      : err.status === 403
        ? 'This token may not read this workspace.'
        : err.status === 503
          ? 'Keytrail is busy or a dependency is down; try again in a moment.'
          : err.message;
  return el(
    'div',
    { class: 'error', role: 'alert' },
    el('strong', {}, `Could not load (${err.status ?? 'network'}). `),
    why,
    err.requestId ? el('div', { class: 'muted' }, `Request id: ${err.requestId}`) : undefined,
  );
}

// ── pages ──

function signIn() {
  const form = el(
    'form',
    {
      class: 'signin',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        sessionStorage.setItem(TOKEN, String(data.get('token')).trim());
        location.hash = `#/overview?ws=${encodeURIComponent(String(data.get('ws')).trim())}&range=24h`;
      },
    },
    el('h1', {}, 'Sign in to Keytrail'),
    el(
      'label',
      {},
      'Keytrail token',
      el('input', { name: 'token', type: 'password', required: true, autocomplete: 'off' }),
    ),
    el(
      'label',
      {},
      'Workspace',
      el('input', { name: 'ws', required: true, value: route().params.get('ws') ?? '' }),
    ),
    el('button', { class: 'primary', type: 'submit' }, 'Sign in'),
    el(
      'p',
      { class: 'muted' },
      'The token stays in this tab (session storage) and is sent only to this Keytrail.',
    ),
  );
  return form;
}

async function overview() {
  const q = rangeQuery();
  const [firing, outcomes, keys, probes] = await Promise.all([
    api('/alerts?status=firing&limit=20'),
    api(`/usage?${q}&group_by=outcome&limit=50`),
    api(`/usage?${q}&group_by=key_id&limit=5`),
    api(`/probes?${q}&group_by=client_ip&limit=5`),
  ]);
  const total = outcomes.rows.reduce((s, r) => s + r.total, 0);
  const count = (outcome) => outcomes.rows.find((r) => r.value === outcome)?.total ?? 0;
  const refused = total - count('ALLOWED');
  const unauthorized =
    count('INVALID_KEY') +
    count('EXPIRED_KEY') +
    count('REVOKED_KEY') +
    count('MISSING_CREDENTIALS') +
    count('MALFORMED_CREDENTIALS');
  return [
    el('h1', {}, 'Overview'),
    el(
      'div',
      { class: 'grid' },
      el(
        'div',
        { class: 'card' },
        el('div', { class: 'muted' }, 'Requests'),
        el('div', { class: 'figure' }, number(total)),
      ),
      el(
        'div',
        { class: 'card' },
        el('div', { class: 'muted' }, 'Error rate'),
        el('div', { class: 'figure' }, percent(refused, total)),
      ),
      el(
        'div',
        { class: 'card' },
        el('div', { class: 'muted' }, '401 rate'),
        el('div', { class: 'figure' }, percent(unauthorized, total)),
      ),
      el(
        'div',
        { class: 'card' },
        el('div', { class: 'muted' }, 'Alerts firing'),
        el('div', { class: 'figure' }, number(firing.alerts.length)),
      ),
    ),
    el('h2', {}, 'Firing alerts'),
    firing.alerts.length === 0
      ? el('p', { class: 'muted' }, 'No alert is firing.')
      : firing.alerts.map(alertCard),
    el('h2', {}, 'Top keys'),
    table(
      [
        {
          title: 'Key',
          cell: (r) =>
            r.value ? el('a', { href: link('key', { key: r.value }) }, r.value) : '(unknown key)',
        },
        { title: 'Requests', num: true, cell: (r) => number(r.total) },
        { title: 'Refused', num: true, cell: (r) => number(r.total - (r.by_outcome.ALLOWED ?? 0)) },
      ],
      keys.rows,
    ),
    el('h2', {}, 'Top probing sources'),
    table(
      [
        { title: 'Client IP', cell: (r) => r.value },
        { title: 'Attempts', num: true, cell: (r) => number(r.attempts) },
        { title: 'Distinct keys', num: true, cell: (r) => number(r.distinct_key_hashes) },
        { title: 'Last seen', cell: (r) => time(r.last_seen) },
      ],
      probes.rows,
      'No invalid, expired or revoked attempts in this range.',
    ),
  ];
}

function alertCard(alert) {
  return el(
    'article',
    { class: `alert ${alert.status}`, 'aria-label': `${alert.kind} alert` },
    el('div', {}, badge(alert.status), ' ', badge(alert.severity), ' ', el('strong', {}, alert.kind)),
    el('p', {}, alert.summary),
    el(
      'div',
      { class: 'muted' },
      `Started ${time(alert.started_at)}, detected ${time(alert.detected_at)}`,
      alert.scope.key_id
        ? [' · key ', el('a', { href: link('key', { key: alert.scope.key_id }) }, alert.scope.key_id)]
        : '',
      alert.scope.client_ip ? ` · from ${alert.scope.client_ip}` : '',
      ` · ${alert.evidence.count} in ${alert.evidence.window_seconds} s against ${alert.evidence.threshold}, ${alert.evidence.distinct_key_hashes} distinct keys, ${alert.evidence.distinct_ips} IPs`,
    ),
  );
}

async function keys() {
  const { params } = route();
  const filter = new URLSearchParams({ limit: '200' });
  if (params.get('q')) filter.set('q', params.get('q'));
  if (params.get('status')) filter.set('status', params.get('status'));
  const { keys: rows } = await api(`/keys?${filter}`);
  const search = el(
    'form',
    {
      class: 'context',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(search);
        location.hash = link('keys', {
          q: String(data.get('q')) || undefined,
          status: String(data.get('status')) || undefined,
        });
      },
    },
    el(
      'label',
      {},
      'Search',
      el('input', { name: 'q', value: params.get('q') ?? '', placeholder: 'name, prefix or id' }),
    ),
    el(
      'label',
      {},
      'Status',
      el(
        'select',
        { name: 'status' },
        ['', 'ACTIVE', 'SUPERSEDED', 'REVOKED', 'EXPIRED'].map((s) =>
          el('option', { value: s, selected: (params.get('status') ?? '') === s }, s || 'any'),
        ),
      ),
    ),
    el('button', { type: 'submit' }, 'Filter'),
  );
  return [
    el('h1', {}, 'Keys'),
    search,
    table(
      [
        { title: 'Key', cell: (k) => el('a', { href: link('key', { key: k.key_id }) }, k.name || k.key_id) },
        { title: 'Prefix', cell: (k) => k.key_prefix },
        {
          title: 'Status',
          cell: (k) => [
            badge(k.status),
            k.status === 'SUPERSEDED' && k.grace_ends_at
              ? el('div', { class: 'muted' }, `grace ends ${time(k.grace_ends_at)}`)
              : '',
          ],
        },
        { title: 'Env', cell: (k) => k.env ?? '' },
        { title: 'Last used', cell: (k) => time(k.last_used_at) },
        { title: '24 h', num: true, cell: (k) => number(k.requests_24h) },
        { title: 'Errors 24 h', num: true, cell: (k) => number(k.errors_24h) },
      ],
      rows,
      'No key matches.',
    ),
  ];
}

async function keyPage() {
  const keyId = route().params.get('key');
  const q = rangeQuery();
  const id = encodeURIComponent(keyId);
  const [{ key, timeline }, usage, activity] = await Promise.all([
    api(`/keys/${id}`),
    api(`/keys/${id}/usage?${q}&granularity=${route().params.get('range') === '1h' ? 'minute' : 'hour'}`),
    api(`/keys/${id}/activity?${q}&limit=20`),
  ]);
  const result = el('div', { 'aria-live': 'polite' });
  const lookup = el(
    'form',
    {
      class: 'context',
      role: 'search',
      onsubmit: async (event) => {
        event.preventDefault();
        const requestId = String(new FormData(lookup).get('request')).trim();
        result.replaceChildren();
        try {
          const { decisions } = await api(`/requests/${encodeURIComponent(requestId)}`);
          result.append(decisionsTable(decisions));
        } catch (err) {
          result.append(failure(err));
        }
      },
    },
    el('label', {}, 'Request id', el('input', { name: 'request', required: true })),
    el('button', { type: 'submit' }, 'Find'),
  );
  return [
    el('h1', {}, key.name || key.key_id, ' ', badge(key.status)),
    el(
      'p',
      { class: 'muted' },
      `${key.key_id} · ${key.key_prefix ?? ''} · ${key.env ?? ''} · scopes ${(key.scopes ?? []).join(', ') || '—'}`,
    ),
    el('h2', {}, 'Usage'),
    table(
      [
        { title: 'Bucket', cell: (b) => time(b.start) },
        { title: 'Requests', num: true, cell: (b) => number(b.total) },
        { title: 'Errors', num: true, cell: (b) => number(b.errors) },
        { title: 'p50 ms', num: true, cell: (b) => b.latency_ms?.p50?.toFixed?.(1) ?? '—' },
        { title: 'p99 ms', num: true, cell: (b) => b.latency_ms?.p99?.toFixed?.(1) ?? '—' },
        { title: 'Cost', num: true, cell: (b) => number(b.cost) },
      ],
      usage.buckets,
    ),
    el('h2', {}, 'Sources'),
    table(
      [
        { title: 'Client IP', cell: (s) => [s.client_ip || '—', s.new ? [' ', badge('NEW')] : ''] },
        { title: 'Region', cell: (s) => s.region || '—' },
        { title: 'Requests', num: true, cell: (s) => number(s.requests) },
        { title: 'First seen', cell: (s) => time(s.first_seen) },
        { title: 'Last seen', cell: (s) => time(s.last_seen) },
      ],
      activity.sources,
    ),
    el('h2', {}, 'Lifecycle'),
    table(
      [
        { title: 'When', cell: (e) => time(e.occurred_at) },
        { title: 'What', cell: (e) => e.lifecycle_type },
        { title: 'By', cell: (e) => (e.actor ? `${e.actor.kind} ${e.actor.id ?? ''}` : '—') },
        {
          title: 'Changes',
          cell: (e) =>
            Object.entries(e.changes ?? {}).map(([f, c]) =>
              el('div', {}, `${f}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`),
            ),
        },
      ],
      timeline,
      'No lifecycle event.',
    ),
    el('h2', {}, 'Find a request'),
    lookup,
    result,
  ];
}

function decisionsTable(decisions) {
  return table(
    [
      { title: 'When', cell: (d) => time(d.occurred_at) },
      { title: 'Outcome', cell: (d) => d.outcome },
      { title: 'Route', cell: (d) => `${d.method ?? ''} ${d.route ?? ''}` },
      { title: 'Client IP', cell: (d) => d.client_ip ?? '' },
    ],
    decisions,
  );
}

async function alerts() {
  const { alerts: rows } = await api('/alerts?limit=50');
  return [
    el('h1', {}, 'Alerts'),
    rows.length === 0 ? el('p', { class: 'muted' }, 'No alert yet.') : rows.map(alertCard),
  ];
}

const PAGES = { overview, keys, key: keyPage, alerts };

// ── the frame ──

async function render() {
  const { page, params } = route();
  const signedIn = Boolean(sessionStorage.getItem(TOKEN)) && params.get('ws');
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('context').hidden = !signedIn;
  if (!signedIn) {
    main.replaceChildren(signIn());
    return;
  }
  document.getElementById('workspace').value = params.get('ws');
  document.getElementById('range').value = params.get('range') ?? '24h';
  for (const a of document.querySelectorAll('nav a'))
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  for (const a of document.querySelectorAll('nav a'))
    a.href = link(a.dataset.page, { key: undefined, q: undefined, status: undefined });
  main.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await (PAGES[page] ?? overview)();
    main.replaceChildren(...[content].flat(Number.POSITIVE_INFINITY));
  } catch (err) {
    main.replaceChildren(failure(err));
  }
  document.title = `Keytrail · ${page} · ${params.get('ws')}`;
}

document.getElementById('context').addEventListener('change', (event) => {
  const name = event.target.name;
  if (name === 'ws' || name === 'range') location.hash = link(route().page, { [name]: event.target.value });
});
document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN);
  location.hash = '#/';
});
window.addEventListener('hashchange', render);
render();
