// What every page shares: building elements (always as text, never parsed as HTML), the URL
// state, the time range, and the API client.

export const TOKEN = 'keytrail.token';
export const RANGES = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** An element with attributes (`on…` are listeners) and children; strings become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY))
    if (child !== undefined && child !== null && child !== false) node.append(child);
  return node;
}

export const badge = (text) => el('span', { class: `badge ${text}` }, text);
export const number = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('en'));
export const percent = (part, whole) => (whole > 0 ? `${((part * 100) / whole).toFixed(1)} %` : '—');
export const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
/** Micro-credits as credits. */
export const credits = (micros) =>
  micros ? (micros / 1_000_000).toLocaleString('en', { maximumFractionDigits: 4 }) : '0';
export const ms = (v) => (v === undefined || v === null ? '—' : `${Number(v).toFixed(1)}`);

/** "in 3 h 12 min" / "5 min ago": how far `iso` is from now. */
export function relative(iso) {
  const delta = new Date(iso).getTime() - Date.now();
  const abs = Math.abs(delta);
  const text =
    abs >= DAY
      ? `${Math.floor(abs / DAY)} d ${Math.floor((abs % DAY) / HOUR)} h`
      : abs >= HOUR
        ? `${Math.floor(abs / HOUR)} h ${Math.floor((abs % HOUR) / MINUTE)} min`
        : `${Math.max(1, Math.round(abs / MINUTE))} min`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

/** A table of `rows`; each column has a title, a cell function and `num` for right-aligned figures. */
export function table(columns, rows, empty = 'Nothing in this range.', caption = undefined) {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  // The wrapper scrolls sideways on a phone: focusable, so the keyboard can scroll it too.
  return el(
    'div',
    { class: 'scroll', tabindex: '0', role: caption ? 'group' : undefined, 'aria-label': caption },
    el(
      'table',
      {},
      caption ? el('caption', { class: 'visually-hidden' }, caption) : undefined,
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

/** A labelled block of figures. */
export const card = (label, value, detail) =>
  el(
    'div',
    { class: 'card' },
    el('div', { class: 'muted' }, label),
    el('div', { class: 'figure' }, value),
    detail ? el('div', { class: 'muted' }, detail) : undefined,
  );

// ── state in the URL: #/page?ws=…&range=…&key=… ──

export function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: path || 'overview', params: new URLSearchParams(query) };
}

/** A link to `page` that keeps the workspace and range, with `changes` applied (undefined removes). */
export function link(page, changes = {}) {
  const params = new URLSearchParams(route().params);
  for (const [k, v] of Object.entries(changes)) v === undefined ? params.delete(k) : params.set(k, v);
  return `#/${page}?${params}`;
}

/** The chosen range: a preset ending now (to the next minute), or custom from/to. */
export function range() {
  const { params } = route();
  if (params.get('range') === 'custom') {
    const from = new Date(params.get('from') ?? '');
    const to = new Date(params.get('to') ?? '');
    if (!Number.isNaN(from.getTime()) && !Number.isNaN(to.getTime()) && from < to)
      return { from: from.toISOString(), to: to.toISOString() };
  }
  const span = RANGES[params.get('range') ?? '24h'] ?? RANGES['24h'];
  const to = new Date(Math.ceil(Date.now() / MINUTE) * MINUTE);
  return { from: new Date(to.getTime() - span).toISOString(), to: to.toISOString() };
}

/** Buckets for the range: minutes up to 6 h, hours up to 8 days, days beyond. */
export function granularity() {
  const { from, to } = range();
  const span = new Date(to).getTime() - new Date(from).getTime();
  return span <= 6 * HOUR ? 'minute' : span <= 8 * DAY ? 'hour' : 'day';
}
export const STEP = { minute: MINUTE, hour: HOUR, day: DAY };

export const rangeQuery = () => {
  const { from, to } = range();
  return `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
};

// ── the API ──

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.requestId = body?.error?.request_id;
    this.details = body?.error?.details;
  }
}

/** A call to the public API with the tab's token; `path` is under /v1/workspaces/{ws} unless absolute. */
export async function request(path, { method = 'GET', body, raw = false } = {}) {
  const ws = route().params.get('ws');
  const url = path.startsWith('/v1/') ? path : `/v1/workspaces/${encodeURIComponent(ws)}${path}`;
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${sessionStorage.getItem(TOKEN)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (raw && response.ok) return response;
  const parsed = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}
export const api = (path) => request(path);

/** An API failure as a person reads it: never a blank page. */
export function failure(err) {
  const why =
    err.status === 401
      ? 'The token is unknown or revoked. Sign in again.'
      : err.status === 403
        ? 'This token may not do this in this workspace.'
        : err.status === 503
          ? 'Keytrail is busy or a dependency is down; try again in a moment.'
          : err.message;
  return el(
    'div',
    { class: 'error', role: 'alert' },
    el('strong', {}, `Could not load (${err.status ?? 'network'}). `),
    why,
    Array.isArray(err.details)
      ? el(
          'ul',
          {},
          err.details.map((d) => el('li', {}, `${d.path}: ${d.message}`)),
        )
      : undefined,
    err.requestId ? el('div', { class: 'muted' }, `Request id: ${err.requestId}`) : undefined,
  );
}

/** A button that runs `action`, shows it is busy, and puts a failure next to itself. */
export function actionButton(label, action, attributes = {}) {
  const status = el('span', { class: 'muted', role: 'status' });
  const button = el(
    'button',
    {
      type: 'button',
      ...attributes,
      onclick: async () => {
        button.disabled = true;
        status.replaceChildren();
        try {
          const said = await action();
          if (typeof said === 'string') status.replaceChildren(said);
        } catch (err) {
          status.replaceChildren(failure(err));
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return el('span', { class: 'action' }, button, ' ', status);
}

/** A section that loads on its own, so one slow or failing call does not blank the page. */
export function section(title, load) {
  const body = el('div', { 'aria-busy': 'true' }, el('p', { class: 'muted' }, 'Loading…'));
  const heading = el('h2', {}, title);
  Promise.resolve()
    .then(load)
    .then((content) => body.replaceChildren(...[content].flat(Number.POSITIVE_INFINITY).filter(Boolean)))
    .catch((err) => body.replaceChildren(failure(err)))
    .finally(() => body.removeAttribute('aria-busy'));
  return el('section', { 'aria-label': title }, heading, body);
}

/**
 * A "More …" button for a list the API pages: `next(cursor)` fetches and shows the next page and
 * returns its next_cursor. Hidden once there is none; a failure is shown next to it.
 */
export function pager(label, cursor, next) {
  let current = cursor;
  const problem = el('div');
  const button = el(
    'button',
    {
      type: 'button',
      hidden: !current,
      onclick: async () => {
        button.disabled = true;
        problem.replaceChildren();
        try {
          current = await next(current);
        } catch (err) {
          problem.replaceChildren(failure(err));
        }
        button.hidden = !current;
        button.disabled = false;
      },
    },
    label,
  );
  return el('div', { class: 'pager' }, button, problem);
}

/**
 * A labelled choice: a <select> inside its <label>. `options` are values (the empty one reads
 * "any") or [value, text] pairs; the one equal to `chosen` is selected.
 */
export function choice(label, attributes, options, chosen) {
  return el(
    'label',
    {},
    label,
    el(
      'select',
      attributes,
      options.map((option) => {
        const [value, text] = Array.isArray(option) ? option : [option, option || 'any'];
        return el('option', { value, selected: chosen === value }, text);
      }),
    ),
  );
}
