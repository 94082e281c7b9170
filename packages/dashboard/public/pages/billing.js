import { credits, el, failure, link, number, request, route, table } from '../lib.js';
import { endUserLink } from './shared.js';

const PREVIEW_ROWS = 20;

/** The period in the URL (billing_from / billing_to as YYYY-MM-DD), by default this UTC month. */
function period() {
  const { params } = route();
  const now = new Date();
  const monthStart = (ahead) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1)).toISOString().slice(0, 10);
  const by = params.get('period') === 'day' ? 'day' : 'month';
  // A monthly export takes whole months: a day chosen per day becomes its month's first.
  const whole = (day) => (by === 'month' ? `${day.slice(0, 7)}-01` : day);
  return {
    by,
    from: whole(params.get('billing_from') ?? monthStart(0)),
    to: whole(params.get('billing_to') ?? monthStart(1)),
  };
}

const exportPath = ({ by, from, to }, format, limit) =>
  `/billing/export?from=${from}T00:00:00Z&to=${to}T00:00:00Z&period=${by}&format=${format}${limit ? `&limit=${limit}` : ''}`;

/** Fetches the export with the tab's token and hands it to the browser as a download. */
async function download(chosen, format) {
  const response = await request(exportPath(chosen, format), { raw: true });
  const name =
    /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ??
    `keytrail-billing.${format}`;
  const blob = await response.blob();
  const a = el('a', { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return `${name}, ${number(blob.size)} bytes`;
}

/** Billing: pick a period, preview its first rows, download the whole export as CSV or NDJSON. */
export async function billing() {
  const chosen = period();
  const monthly = chosen.by === 'month';
  const form = el(
    'form',
    {
      class: 'filters',
      'aria-label': 'Billing period',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const by = String(data.get('period'));
        // A month field gives YYYY-MM, a date field YYYY-MM-DD.
        const day = (v) => (v.length === 7 ? `${v}-01` : v);
        location.hash = link('billing', {
          period: by,
          billing_from: day(String(data.get('from'))),
          billing_to: day(String(data.get('to'))),
        });
      },
    },
    el(
      'label',
      {},
      'Per',
      el(
        'select',
        { name: 'period', onchange: () => form.requestSubmit() },
        el('option', { value: 'month', selected: monthly }, 'month'),
        el('option', { value: 'day', selected: !monthly }, 'day'),
      ),
    ),
    el(
      'label',
      {},
      'From',
      el('input', {
        name: 'from',
        type: monthly ? 'month' : 'date',
        required: true,
        value: monthly ? chosen.from.slice(0, 7) : chosen.from,
      }),
    ),
    el(
      'label',
      {},
      monthly ? 'Up to (not including)' : 'To (not including)',
      el('input', {
        name: 'to',
        type: monthly ? 'month' : 'date',
        required: true,
        value: monthly ? chosen.to.slice(0, 7) : chosen.to,
      }),
    ),
    el('button', { type: 'submit' }, 'Preview'),
  );
  const status = el('div', { role: 'status', 'aria-live': 'polite' });
  const downloadButton = (format) =>
    el(
      'button',
      {
        type: 'button',
        class: format === 'csv' ? 'primary' : undefined,
        onclick: async () => {
          status.replaceChildren(el('span', { class: 'muted' }, 'Exporting…'));
          try {
            status.replaceChildren(el('span', {}, `Downloaded ${await download(chosen, format)}.`));
          } catch (err) {
            status.replaceChildren(failure(err));
          }
        },
      },
      `Download ${format.toUpperCase()}`,
    );
  let preview;
  try {
    const text = await (await request(exportPath(chosen, 'ndjson', PREVIEW_ROWS), { raw: true })).text();
    const rows = text.trim()
      ? text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
      : [];
    preview = [
      el(
        'p',
        { class: 'muted' },
        rows.length === PREVIEW_ROWS
          ? `The first ${PREVIEW_ROWS} rows; the download holds every row.`
          : `${rows.length} rows.`,
      ),
      table(
        [
          { title: 'Period', cell: (r) => r.period_start },
          { title: 'End user', cell: (r) => endUserLink(r.end_user_id, '(no end user)') },
          { title: 'Billable requests', num: true, cell: (r) => number(r.billable_requests) },
          { title: 'Cost (credits)', num: true, cell: (r) => credits(r.cost_micros) },
          { title: 'Keys', num: true, cell: (r) => number(r.keys) },
        ],
        rows,
        'Nothing billable in this period.',
        'Billing preview',
      ),
    ];
  } catch (err) {
    preview = failure(err);
  }
  return [
    el('h1', {}, 'Billing'),
    el(
      'p',
      { class: 'muted' },
      'Billable: ALLOWED decisions of LIVE keys, sessions billed to their end user; usage with no end user is one row with an empty end user. Days are UTC.',
    ),
    form,
    el('h2', {}, 'Preview'),
    preview,
    el('div', { class: 'actions' }, downloadButton('csv'), ' ', downloadButton('ndjson')),
    status,
  ];
}
