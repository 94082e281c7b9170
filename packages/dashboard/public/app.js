// The Keytrail dashboard: a page that signs in with a Keytrail token and reads only the public
// API. State lives in the URL hash (#/page?ws=…&range=…&key=…), so a link can be pasted into an
// incident channel; the token lives in session storage, never in a URL or a log.
import { ApiError, el, failure, link, route, TOKEN } from './lib.js';
import { alerts } from './pages/alerts.js';
import { billing } from './pages/billing.js';
import { endUserPage } from './pages/endUser.js';
import { keyPage } from './pages/key.js';
import { keys } from './pages/keys.js';
import { overview } from './pages/overview.js';
import { probes } from './pages/probes.js';

const PAGES = { overview, keys, key: keyPage, 'end-user': endUserPage, probes, alerts, billing };
const main = document.getElementById('main');
const context = document.getElementById('context');

async function workspacesOf(token) {
  const response = await fetch('/v1/workspaces', { headers: { authorization: `Bearer ${token}` } });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Signed in: to the chosen workspace, else the token's first one. */
async function enter(token, ws) {
  sessionStorage.setItem(TOKEN, token);
  const chosen = ws || (await workspacesOf(token)).workspaces[0];
  if (!chosen) throw new Error('This token sees no workspace with keys or traffic yet: type a workspace id.');
  location.replace(`#/overview?ws=${encodeURIComponent(chosen)}&range=24h`);
}

function signIn(problem) {
  const status = el('div', { 'aria-live': 'polite' }, problem ?? '');
  const form = el(
    'form',
    {
      class: 'signin',
      onsubmit: async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        status.replaceChildren();
        try {
          await enter(String(data.get('token')).trim(), String(data.get('ws')).trim());
        } catch (err) {
          sessionStorage.removeItem(TOKEN);
          status.replaceChildren(
            err instanceof ApiError
              ? failure(err)
              : el('div', { class: 'error', role: 'alert' }, err.message),
          );
        }
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
      el('input', {
        name: 'ws',
        value: route().params.get('ws') ?? '',
        placeholder: 'the first one the token sees',
      }),
    ),
    el('button', { class: 'primary', type: 'submit' }, 'Sign in'),
    el(
      'p',
      { class: 'muted' },
      'The token stays in this tab (session storage) and is sent only to this Keytrail.',
    ),
    status,
  );
  return form;
}

/** #/signin?code=…: a one-time code from a sign-in link, exchanged for its token once. */
async function redeemCode(code) {
  // The code leaves the address bar and the history at once, whatever happens next.
  history.replaceState(null, '', '#/signin');
  const response = await fetch('/v1/login-codes/exchange', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) return signIn(failure(new ApiError(response.status, body)));
  await enter(body.token, body.workspace_id ?? '');
  return undefined;
}

/** Fills the workspace switcher with what the token may read. */
async function fillWorkspaces() {
  const list = document.getElementById('workspaces');
  if (list.dataset.filled) return;
  list.dataset.filled = '1';
  try {
    const { workspaces } = await workspacesOf(sessionStorage.getItem(TOKEN));
    list.replaceChildren(...workspaces.map((ws) => el('option', { value: ws })));
  } catch {
    delete list.dataset.filled;
  }
}

function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

let shownPage;
async function render() {
  const { page, params } = route();
  if (page === 'signin' && params.get('code')) {
    main.replaceChildren(el('p', { class: 'muted' }, 'Signing in…'));
    const form = await redeemCode(params.get('code')).catch((err) => signIn(failure(err)));
    if (form) main.replaceChildren(form);
    return;
  }
  const token = sessionStorage.getItem(TOKEN);
  if (token && !params.get('ws') && page !== 'signin') {
    try {
      await enter(token, '');
      return;
    } catch {
      // fall through to the sign-in form
    }
  }
  const signedIn = Boolean(token) && Boolean(params.get('ws')) && page !== 'signin';
  document.getElementById('nav').hidden = !signedIn;
  context.hidden = !signedIn;
  if (!signedIn) {
    main.replaceChildren(signIn());
    document.title = 'Keytrail · sign in';
    return;
  }
  void fillWorkspaces();
  document.getElementById('workspace').value = params.get('ws');
  const chosenRange = params.get('range') ?? '24h';
  document.getElementById('range').value = chosenRange;
  document.getElementById('custom-range').hidden = chosenRange !== 'custom';
  document.getElementById('range-from').value = localInput(params.get('from'));
  document.getElementById('range-to').value = localInput(params.get('to'));
  for (const a of document.querySelectorAll('nav#nav a')) {
    // A key's page sits under Keys, an end user's under Billing.
    if (
      a.dataset.page === page ||
      (page === 'key' && a.dataset.page === 'keys') ||
      (page === 'end-user' && a.dataset.page === 'billing')
    )
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    a.href = link(a.dataset.page, {
      key: undefined,
      end_user: undefined,
      q: undefined,
      status: undefined,
      env: undefined,
      kind: undefined,
      alert: undefined,
      by: undefined,
      outcome: undefined,
    });
  }
  main.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await (PAGES[page] ?? overview)();
    main.replaceChildren(...[content].flat(Number.POSITIVE_INFINITY).filter(Boolean));
  } catch (err) {
    main.replaceChildren(failure(err));
  }
  document.title = `Keytrail · ${page} · ${params.get('ws')}`;
  // A new page takes the focus to its content, as a page load would (not a filter change).
  if (shownPage !== page && shownPage !== undefined) main.focus();
  shownPage = page;
}

context.addEventListener('change', (event) => {
  const name = event.target.name;
  if (name === 'ws')
    location.hash = link(route().page, {
      ws: event.target.value,
      key: undefined,
      end_user: undefined,
      alert: undefined,
    });
  if (name === 'range') {
    if (event.target.value === 'custom') {
      document.getElementById('custom-range').hidden = false;
      document.getElementById('range-from').focus();
    } else location.hash = link(route().page, { range: event.target.value, from: undefined, to: undefined });
  }
});
context.addEventListener('submit', (event) => {
  event.preventDefault();
  const ws = document.getElementById('workspace').value.trim();
  if (document.getElementById('custom-range').hidden) {
    // Enter in the workspace field.
    if (ws && ws !== route().params.get('ws'))
      location.hash = link(route().page, { ws, key: undefined, end_user: undefined, alert: undefined });
    return;
  }
  const from = new Date(document.getElementById('range-from').value);
  const to = new Date(document.getElementById('range-to').value);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || !(from < to)) {
    document.getElementById('range-from').setCustomValidity('Pick a start before the end.');
    document.getElementById('range-from').reportValidity();
    return;
  }
  document.getElementById('range-from').setCustomValidity('');
  location.hash = link(route().page, { range: 'custom', from: from.toISOString(), to: to.toISOString() });
});
document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN);
  delete document.getElementById('workspaces').dataset.filled;
  location.hash = '#/';
});
window.addEventListener('hashchange', render);
render();
// The skip link moves the focus without touching the hash, which holds the page's state.
document.getElementById('skip').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
