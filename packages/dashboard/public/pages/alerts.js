import {
  actionButton,
  api,
  badge,
  choice,
  el,
  failure,
  link,
  number,
  pager,
  rangeQuery,
  request,
  route,
  section,
  table,
  time,
} from '../lib.js';
import { alertCard } from './shared.js';

const EVENTS = ['alert.fired', 'alert.resolved', 'alert.updated'];

/** The alerts feed in the range, 50 a page, filtered by status and kind; `alert=` highlights one. */
function feed(kinds) {
  const { params } = route();
  return section('Feed', async () => {
    const filter = new URLSearchParams({ limit: '50' });
    if (params.get('status')) filter.set('status', params.get('status'));
    if (params.get('kind')) filter.set('kind', params.get('kind'));
    const base = `/alerts?${rangeQuery()}&${filter}`;
    const first = await api(base);
    const highlighted = params.get('alert');
    const list = el(
      'div',
      {},
      first.alerts.length
        ? first.alerts.map((a) => alertCard(a, { highlight: a.id === highlighted }))
        : el('p', { class: 'muted' }, 'No alert in this range.'),
    );
    const more = pager('Older alerts', first.next_cursor, async (cursor) => {
      const next = await api(`${base}&cursor=${encodeURIComponent(cursor)}`);
      list.append(...next.alerts.map((a) => alertCard(a)));
      return next.next_cursor;
    });
    const form = el(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filter alerts',
        onchange: () => {
          const data = new FormData(form);
          location.hash = link('alerts', {
            status: String(data.get('status')) || undefined,
            kind: String(data.get('kind')) || undefined,
            alert: undefined,
          });
        },
        onsubmit: (event) => event.preventDefault(),
      },
      choice('Status', { name: 'status' }, ['', 'firing', 'resolved'], params.get('status') ?? ''),
      choice('Kind', { name: 'kind' }, ['', ...kinds], params.get('kind') ?? ''),
    );
    const disabled = first.disabled_webhooks?.length
      ? el(
          'div',
          { class: 'error', role: 'status' },
          `Disabled webhook endpoints (alerts no longer reach them): ${first.disabled_webhooks.map((w) => `${w.url ?? w.id} — ${w.reason ?? w.disabled_reason ?? ''}`).join('; ')}`,
        )
      : undefined;
    // After the section has put the list on the page (a task later, not a microtask).
    if (highlighted) setTimeout(() => document.getElementById(`alert-${highlighted}`)?.focus(), 0);
    return [form, disabled, list, more];
  });
}

/** One rule as a form: booleans as checkboxes, numbers as number fields, the cost period as a choice. */
function ruleForm(rule) {
  const status = el('div', { role: 'status' });
  const form = el(
    'form',
    {
      class: 'rule',
      'aria-label': `${rule.kind} rule`,
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const body = {};
        for (const [field, value] of Object.entries(rule.settings))
          body[field] =
            typeof value === 'boolean'
              ? data.get(field) === 'on'
              : typeof value === 'number'
                ? Number(data.get(field))
                : String(data.get(field));
        status.replaceChildren();
        try {
          const saved = await request(`/alert-rules/${rule.kind}`, { method: 'PUT', body });
          rule.settings = saved.settings;
          status.replaceChildren(el('span', { class: 'muted' }, `Saved ${time(saved.changed_at)}.`));
        } catch (err) {
          status.replaceChildren(failure(err));
        }
      },
    },
    el('h3', {}, rule.kind),
    el(
      'div',
      { class: 'fields' },
      Object.entries(rule.settings).map(([field, value]) =>
        typeof value === 'boolean'
          ? el(
              'label',
              {},
              el('input', { type: 'checkbox', name: field, checked: value }),
              field.replaceAll('_', ' '),
            )
          : typeof value === 'number'
            ? el(
                'label',
                {},
                field.replaceAll('_', ' '),
                el('input', {
                  type: 'number',
                  name: field,
                  value,
                  min: 0,
                  step: 'any',
                  inputmode: 'numeric',
                }),
              )
            : el(
                'label',
                {},
                field.replaceAll('_', ' '),
                el(
                  'select',
                  { name: field },
                  ['DAY', 'MONTH'].map((p) => el('option', { value: p, selected: value === p }, p)),
                ),
              ),
      ),
    ),
    el('button', { type: 'submit' }, 'Save'),
    rule.changed_at
      ? el('span', { class: 'muted' }, ` changed ${time(rule.changed_at)}`)
      : el('span', { class: 'muted' }, ' default'),
    status,
  );
  return form;
}

function deliveriesOf(endpoint) {
  const holder = el('div');
  const show = async () => {
    holder.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const { deliveries } = await api(`/webhooks/${encodeURIComponent(endpoint.id)}/deliveries?limit=25`);
      holder.replaceChildren(
        table(
          [
            { title: 'Message (webhook-id)', cell: (d) => d.id },
            { title: 'Event', cell: (d) => d.event_type },
            { title: 'Status', cell: (d) => badge(d.status) },
            { title: 'Attempts', num: true, cell: (d) => number(d.attempts) },
            {
              title: 'Attempt log',
              cell: (d) =>
                d.attempt_log.map((a) =>
                  el(
                    'div',
                    {},
                    `#${a.attempt} ${time(a.attempted_at)} ${a.outcome}${a.status_code ? ` ${a.status_code}` : ''} ${a.duration_ms} ms${a.error ? ` — ${a.error}` : ''}`,
                  ),
                ),
            },
            { title: 'Next attempt', cell: (d) => time(d.next_attempt_at) },
            {
              title: '',
              cell: (d) =>
                actionButton(
                  'Redeliver',
                  async () => {
                    await request(
                      `/webhooks/${encodeURIComponent(endpoint.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`,
                      { method: 'POST' },
                    );
                    setTimeout(show, 1500);
                    return 'queued';
                  },
                  { 'aria-label': `Redeliver ${d.id}` },
                ),
            },
          ],
          deliveries,
          'Nothing delivered to this endpoint yet.',
          `Deliveries to ${endpoint.url}`,
        ),
      );
    } catch (err) {
      holder.replaceChildren(failure(err));
    }
  };
  return { holder, show };
}

function webhooks() {
  return section('Webhook endpoints', async () => {
    const { webhooks: endpoints } = await api('/webhooks');
    const created = el('div', { 'aria-live': 'polite' });
    const form = el(
      'form',
      {
        class: 'filters',
        'aria-label': 'Add a webhook endpoint',
        onsubmit: async (event) => {
          event.preventDefault();
          const data = new FormData(form);
          try {
            const endpoint = await request('/webhooks', {
              method: 'POST',
              body: {
                url: String(data.get('url')).trim(),
                events: EVENTS.filter((e) => data.get(e) === 'on'),
              },
            });
            created.replaceChildren(
              el(
                'div',
                { class: 'card', role: 'status' },
                el('strong', {}, 'Endpoint added. '),
                'Its signing secret is shown this once: ',
                el('code', {}, endpoint.secret),
              ),
            );
          } catch (err) {
            created.replaceChildren(failure(err));
          }
        },
      },
      el(
        'label',
        {},
        'URL',
        el('input', { name: 'url', type: 'url', required: true, placeholder: 'https://…', size: 36 }),
      ),
      EVENTS.map((e) =>
        el('label', {}, el('input', { type: 'checkbox', name: e, checked: e !== 'alert.updated' }), e),
      ),
      el('button', { type: 'submit' }, 'Add endpoint'),
    );
    return [
      endpoints.length === 0 ? el('p', { class: 'muted' }, 'No webhook endpoint yet.') : '',
      endpoints.map((endpoint) => {
        const deliveries = deliveriesOf(endpoint);
        return el(
          'article',
          { class: 'endpoint', 'aria-label': `Webhook ${endpoint.url}` },
          el(
            'div',
            {},
            el('strong', {}, endpoint.url),
            ' ',
            endpoint.disabled_at ? badge('DISABLED') : badge('ACTIVE'),
          ),
          el(
            'div',
            { class: 'muted' },
            `${endpoint.id} · ${endpoint.events.join(', ')} · secret ${endpoint.secret_hint} · added ${time(endpoint.created_at)}`,
            endpoint.disabled_at
              ? ` · disabled ${time(endpoint.disabled_at)}: ${endpoint.disabled_reason}`
              : '',
          ),
          el(
            'div',
            { class: 'actions' },
            el('button', { type: 'button', onclick: deliveries.show }, 'Show deliveries'),
            ' ',
            actionButton('Send test', async () => {
              await request(`/webhooks/${encodeURIComponent(endpoint.id)}/test`, { method: 'POST' });
              setTimeout(deliveries.show, 1500);
              return 'test queued';
            }),
            ' ',
            actionButton('Delete', async () => {
              if (!confirm(`Delete the endpoint ${endpoint.url}?`)) return undefined;
              await request(`/webhooks/${encodeURIComponent(endpoint.id)}`, { method: 'DELETE' });
              return 'deleted';
            }),
          ),
          deliveries.holder,
        );
      }),
      el('h3', {}, 'Add an endpoint'),
      form,
      created,
    ];
  });
}

/** Alerts: the feed with evidence, each kind's rule, and the webhook endpoints with their delivery log. */
export async function alerts() {
  // The rules name every alert kind there is: the feed's kind filter offers the same list.
  const { rules } = await api('/alert-rules');
  return [
    el('h1', {}, 'Alerts'),
    feed(rules.map((r) => r.kind)),
    el(
      'section',
      { 'aria-label': 'Rules' },
      el('h2', {}, 'Rules'),
      el('div', { class: 'rules' }, rules.map(ruleForm)),
    ),
    webhooks(),
  ];
}
