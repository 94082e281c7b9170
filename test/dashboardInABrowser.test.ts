import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generateTraffic } from '@keytrail/simulator';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium } from './kit/browser.ts';
import { type KeytrailProcess, startKeytrailUp, waitFor } from './kit/index.ts';

// The dashboard in Debian's chromium against `keytrail up` with simulated traffic, a live
// key-enumeration attack and a leaked (revoked) key used from an attacker's address: sign in
// (with the token, and with a one-time code), find the attacked key from the overview, open its
// page and its alert, look at every page, download a billing export and check it against the
// API, check keyboard use and accessibility (axe-core), and save screenshots of every page at
// desktop and phone width to test/artifacts/.
const ADMIN = 'kt_admin_dashboard_0123456789abcdef';
const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };
const ATTACKER = '203.0.113.66';
// The page's globals, as the functions given to page.evaluate see them (this file has no DOM types).
declare const document: { activeElement: { textContent: string | null; id: string } | null };
declare const window: { axe: { run(...args: unknown[]): Promise<{ violations: AxeViolation[] }> } };
interface AxeViolation {
  id: string;
  impact: string;
  nodes: { target: string[] }[];
}
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

describe('the dashboard in a real browser', () => {
  let app: KeytrailProcess;
  let url = '';
  let browser: Browser;

  const call = async (method: string, path: string, body?: unknown, token = ADMIN) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    try {
      // biome-ignore lint/suspicious/noExplicitAny: a test reading JSON it checks field by field
      return JSON.parse(text) as any;
    } catch {
      return text;
    }
  };
  const api = (path: string) => call('GET', path);
  const post = async (events: object[]) => {
    const reply = await call('POST', '/v1/events', { events });
    expect(reply.accepted).toBe(events.length);
  };

  beforeAll(async () => {
    ({ app, url } = await startKeytrailUp('dashboard', {
      KEYTRAIL_ADMIN_TOKEN: ADMIN,
      // The webhook test's endpoint is on loopback.
      KEYTRAIL_WEBHOOK_ALLOW_PRIVATE: '1',
    }));
    const now = Date.now();
    await post([
      ...generateTraffic({
        seed: 31,
        startMs: now - 3_600_000,
        decisions: 3_000,
        workspaces: 2,
        ratePerSecond: 1,
      }),
    ]);
    // The attacks are live: stamped just before they are sent, in one request. The alerter moves
    // event time on with the wall clock once its stream has been quiet for a second, so events
    // stamped well before they arrive would be judged late (a loaded CI machine posts slowly).
    const live = Date.now();
    await post([
      // A key that leaked and was revoked, then presented again from an attacker's address.
      {
        type: 'key_lifecycle',
        workspace_id: 'ws_1',
        occurred_at: live - 600_000,
        lifecycle_type: 'CREATED',
        key_id: 'key_leaked',
        key_prefix: 'pf_live_leak',
        key_env: 'LIVE',
        name: 'ci-deploy',
        scopes: ['deploy'],
      },
      {
        type: 'key_lifecycle',
        workspace_id: 'ws_1',
        occurred_at: live - 300_000,
        lifecycle_type: 'REVOKED',
        key_id: 'key_leaked',
        reason: 'pushed to a public repository',
      },
      ...Array.from({ length: 5 }, (_, i) => ({
        type: 'auth_decision',
        workspace_id: 'ws_1',
        occurred_at: live - 1_500 + i * 100,
        request_id: `req_leaked_${i}`,
        key_id: 'key_leaked',
        key_prefix: 'pf_live_leak',
        key_env: 'LIVE',
        outcome: 'REVOKED_KEY',
        http_status: 401,
        client_ip: ATTACKER,
      })),
      // An enumeration, so the probes page has an alert to link to.
      ...Array.from({ length: 40 }, (_, i) => ({
        type: 'auth_decision',
        workspace_id: 'ws_1',
        occurred_at: live - 1_000 + i * 25,
        request_id: `req_enum_${i}`,
        outcome: 'INVALID_KEY',
        http_status: 401,
        key_prefix: 'pf_live_zz',
        presented_key_hash: `enum_${i}`,
        client_ip: '198.51.100.77',
      })),
    ]);
    await waitFor(
      'the alerts and the traffic queryable',
      async () => {
        const { alerts } = await api('/v1/workspaces/ws_1/alerts?status=firing&limit=200');
        const { keys } = await api('/v1/workspaces/ws_1/keys');
        return (
          alerts.some((a: { kind: string }) => a.kind === 'INVALID_KEY_SPIKE') &&
          alerts.some((a: { kind: string }) => a.kind === 'REVOKED_KEY_USED') &&
          keys.some((k: { requests_24h: number }) => k.requests_24h > 0)
        );
      },
      90_000,
      500,
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.terminate();
  });

  const shoot = async (page: Page, name: string) => {
    for (const [width, size] of Object.entries(WIDTHS)) {
      await page.setViewportSize(size);
      await page.waitForTimeout(300); // charts redraw at the new width
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize(WIDTHS.desktop);
  };
  const signIn = async (page: Page, token: string, ws: string) => {
    await page.goto(`${url}/`);
    const form = page.locator('form.signin');
    await form.getByLabel('Keytrail token').fill(token);
    await form.getByLabel('Workspace').fill(ws);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  /** Every section of the page has loaded (no "Loading…" left). */
  const settled = async (page: Page) => {
    await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => page.getByText('Loading…', { exact: true }).count(), { timeout: 20_000 }).toBe(0);
  };

  it('filters alerts by the key, source address or key prefix they are about (what the key page asks)', async () => {
    const byKey = await api('/v1/workspaces/ws_1/alerts?key_id=key_leaked');
    expect(byKey.alerts.length).toBeGreaterThan(0);
    expect(byKey.alerts.every((a: { scope: { key_id: string } }) => a.scope.key_id === 'key_leaked')).toBe(
      true,
    );
    const byIp = await api('/v1/workspaces/ws_1/alerts?client_ip=198.51.100.77');
    expect(byIp.alerts.map((a: { kind: string }) => a.kind)).toContain('INVALID_KEY_SPIKE');
    expect(
      byIp.alerts.every((a: { scope: { client_ip: string } }) => a.scope.client_ip === '198.51.100.77'),
    ).toBe(true);
    expect((await api('/v1/workspaces/ws_1/alerts?key_prefix=pf_nothing_here')).alerts).toEqual([]);
  });

  it('signs in, finds the attacked key from the overview, its alert, and every page, without leaking the token', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${url}/`);
    await page.getByRole('heading', { name: 'Sign in to Keytrail' }).waitFor();
    await shoot(page, 'signin');
    await signIn(page, ADMIN, 'ws_1');

    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const loaded = await page.evaluate(() => performance.now());
    console.log(`overview rendered ${Math.round(loaded)} ms after navigation (demo-sized data)`);
    await page
      .getByRole('group', { name: /^Requests per/ })
      .locator('canvas')
      .first()
      .waitFor();
    await page.getByRole('article', { name: 'REVOKED_KEY_USED alert' }).first().waitFor();
    await settled(page);
    expect(await page.getByText('198.51.100.77').count()).toBeGreaterThan(0);
    await shoot(page, 'overview');

    // The busiest end user links to its page, whose figures are the API's.
    const topEndUsers = page.getByRole('region', { name: 'Top end users', exact: true });
    const endUserId = (await topEndUsers.locator('tbody tr a').first().textContent())!;
    await topEndUsers.getByRole('link', { name: endUserId, exact: true }).click();
    await page.getByRole('heading', { name: `End user ${endUserId}` }).waitFor();
    await page
      .getByRole('group', { name: /by outcome/ })
      .locator('canvas')
      .first()
      .waitFor();
    const hash = new URL(page.url()).hash;
    expect(hash).toContain(`end_user=${endUserId}`);
    // Every decision of this test is from the last hour or two, so a wider range holds the page's.
    const usage = await api(
      `/v1/workspaces/ws_1/end-users/${endUserId}/usage?from=${new Date(Date.now() - 2 * 86_400_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}&granularity=hour`,
    );
    const requests = usage.buckets.reduce((n: number, b: { total: number }) => n + b.total, 0);
    expect(requests).toBeGreaterThan(0);
    expect(await page.locator('.card', { hasText: 'Requests' }).locator('.figure').textContent()).toBe(
      requests.toLocaleString('en'),
    );
    // The keys it came through: the API's, most used first, each a link to its key's page.
    const keysTable = page.getByRole('group', { name: 'Keys it came through' });
    expect(await keysTable.locator('tbody tr td:first-child').allTextContents()).toEqual(
      usage.by_key.map((k: { key_id: string }) => k.key_id),
    );
    expect(usage.by_key.reduce((n: number, k: { total: number }) => n + k.total, 0)).toBe(requests);
    // The sessions it signed in with: the API's, each with the key it was issued from.
    const sessionsTable = page.getByRole('group', { name: 'Sessions it came through' });
    expect(usage.by_session.length, 'the simulated end user signs in with sessions').toBeGreaterThan(0);
    expect(await sessionsTable.locator('tbody tr td:first-child').allTextContents()).toEqual(
      usage.by_session.map((s: { session_id: string }) => s.session_id),
    );
    expect(await sessionsTable.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual(
      usage.by_session.map((s: { key_id: string }) => s.key_id),
    );
    expect(
      await page
        .getByRole('navigation', { name: 'Pages' })
        .getByRole('link', { name: 'Billing', exact: true })
        .getAttribute('aria-current'),
    ).toBe('page');
    await shoot(page, 'end-user');
    const firstKey = usage.by_key[0].key_id as string;
    await keysTable.getByRole('link', { name: firstKey, exact: true }).click();
    await page.getByRole('heading', { name: 'Lifecycle', exact: true }).waitFor();
    expect(new URL(page.url()).hash).toContain(`key=${firstKey}`);
    await page.goBack();
    await page.getByRole('heading', { name: `End user ${endUserId}` }).waitFor();
    // A session opens its own page: its end user, its parent key, its lifecycle.
    const firstSession = usage.by_session[0].session_id as string;
    await sessionsTable.getByRole('link', { name: firstSession, exact: true }).click();
    await page.getByRole('heading', { name: 'Lifecycle', exact: true }).waitFor();
    expect(new URL(page.url()).hash).toContain(`key=${firstSession}`);
    await page.goBack();
    await page.getByRole('heading', { name: `End user ${endUserId}` }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await settled(page);

    // The leaked key's alert links to its page.
    await page
      .getByRole('article', { name: 'REVOKED_KEY_USED alert' })
      .first()
      .getByRole('link', { name: 'key_leaked' })
      .click();
    await page.getByRole('heading', { name: /ci-deploy/ }).waitFor();
    expect(await page.getByRole('heading', { name: /ci-deploy/ }).textContent()).toContain('REVOKED');
    await settled(page);
    const alertsOnKey = page.getByRole('region', { name: 'Alerts on this key', exact: true });
    await alertsOnKey.getByRole('article', { name: 'REVOKED_KEY_USED alert' }).waitFor();
    const sources = page.getByRole('region', { name: 'Sources', exact: true });
    expect(
      await sources.getByRole('row', { name: new RegExp(`${ATTACKER.replaceAll('.', '\\.')} NEW`) }).count(),
    ).toBe(1);
    const recent = page.getByRole('region', { name: 'Recent decisions', exact: true });
    expect(await recent.locator('tbody tr').count()).toBe(5);
    await page
      .getByRole('group', { name: /by outcome/ })
      .locator('canvas')
      .first()
      .waitFor();
    // Request-id search.
    await page.getByRole('search', { name: 'Find a request' }).getByLabel('Request id').fill('req_leaked_3');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('cell', { name: 'req_leaked_3' }).last().waitFor();
    await shoot(page, 'key-leaked');

    // A busy key: paging through its recent decisions adds older ones, each once.
    const { keys: busiest } = await api(
      `/v1/workspaces/ws_1/usage?from=${new Date(Date.now() - 7_200_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&group_by=key_id&limit=5`,
    ).then((r) => ({ keys: r.rows.filter((row: { value: string }) => row.value) }));
    await page.goto(`${url}/#/key?ws=ws_1&range=24h&key=${busiest[0].value}`);
    await settled(page);
    const decisions = page.getByRole('region', { name: 'Recent decisions', exact: true });
    expect(await decisions.locator('tbody tr').count()).toBe(25);
    await decisions.getByRole('button', { name: 'Older decisions' }).click();
    await expect.poll(() => decisions.locator('tbody tr').count()).toBe(50);
    const ids = await decisions.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(new Set(ids).size).toBe(50);
    await shoot(page, 'key');

    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('svg.sparkline').count()).toBeGreaterThan(0);
    await page.getByRole('search', { name: 'Filter keys' }).getByLabel('Status').selectOption('REVOKED');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'ci-deploy' }).count()).toBe(1);
    expect(page.url()).toContain('status=REVOKED');
    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(1);
    await shoot(page, 'keys');

    // A session's page shows its own use (its decisions carry the parent key) and links both ways.
    const [session] = (await api('/v1/workspaces/ws_1/keys?kind=session&limit=1')).keys;
    expect(session.requests_24h).toBeGreaterThan(0);
    await page.goto(`${url}/#/key?ws=ws_1&range=24h&key=${session.key_id}`);
    await page.getByRole('heading', { name: `Session ${session.key_id}` }).waitFor();
    const requests24h = page.locator('.card', { hasText: 'Requests, last 24 h' });
    expect(await requests24h.textContent()).toContain(session.requests_24h.toLocaleString('en'));
    expect(await page.getByRole('link', { name: session.end_user_id }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: session.parent_key_id }).count()).toBeGreaterThan(0);
    const sessionDecisions = page.getByRole('region', { name: 'Recent decisions', exact: true });
    await expect
      .poll(() => sessionDecisions.locator('tbody tr').count())
      .toBe(Math.min(25, session.requests_24h));
    // Its requests over time and where it was used from, answered for the session's own id.
    const sessionChart = page.getByRole('group', { name: 'Requests per hour by outcome' });
    expect(await sessionChart.textContent()).toMatch(/ALLOWED: peak [1-9]/);
    const sessionSources = page.getByRole('region', { name: 'Sources', exact: true });
    await expect.poll(() => sessionSources.locator('tbody tr').count()).toBeGreaterThan(0);
    const sourceRequests = (await sessionSources.locator('tbody tr td:nth-child(5)').allTextContents()).map(
      (t) => Number(t.replace(/,/g, '')),
    );
    expect(sourceRequests.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(session.requests_24h);
    expect(sourceRequests.every((n) => n > 0)).toBe(true);
    await shoot(page, 'session');

    // Probes: the enumerating address links to its alert.
    await page.getByRole('link', { name: 'Probes', exact: true }).click();
    await page.getByRole('heading', { name: 'Probes' }).waitFor();
    const row = page.getByRole('row', { name: /198\.51\.100\.77/ });
    await row.getByRole('link', { name: /INVALID_KEY_SPIKE/ }).click();
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
    await settled(page);
    const highlighted = page.locator('article.alert.highlight');
    expect(await highlighted.count()).toBe(1);
    // The linked alert also takes the focus, so a keyboard or screen-reader user lands on it.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id ?? ''))
      .toBe(await highlighted.getAttribute('id'));
    expect(await highlighted.textContent()).toContain('198.51.100.77');
    await page.getByRole('link', { name: 'Probes', exact: true }).click();
    await page.getByRole('heading', { name: 'Probes' }).waitFor();
    await shoot(page, 'probes');

    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
    await settled(page);
    expect(await page.getByRole('form', { name: 'INVALID_KEY_SPIKE rule' }).count()).toBe(1);
    await shoot(page, 'alerts');

    // The token never appears in a URL the page asked for or showed.
    expect(page.url()).not.toContain(ADMIN);
    expect(requested.filter((r) => r.includes(ADMIN))).toEqual([]);
    // A pasted link in a new tab (no session) asks to sign in first.
    const pasted = await browser.newPage();
    await pasted.goto(page.url());
    await pasted.getByRole('heading', { name: 'Sign in to Keytrail' }).waitFor();
    await pasted.close();
    await page.close();
  });

  it('changes an alert rule, adds a webhook endpoint, sends a test and shows its delivery log', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    await signIn(page, ADMIN, 'ws_2');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await settled(page);
    const rule = page.getByRole('form', { name: 'QUOTA_THRESHOLD rule' });
    await rule.getByLabel('threshold percent').fill('150');
    await rule.getByRole('button', { name: 'Save' }).click();
    await rule.getByRole('alert').waitFor();
    expect(await rule.getByRole('alert').textContent()).toMatch(/threshold_percent/);
    await rule.getByLabel('threshold percent').fill('90');
    await rule.getByRole('button', { name: 'Save' }).click();
    await rule.getByText(/^Saved/).waitFor();
    const rules = await api('/v1/workspaces/ws_2/alert-rules');
    expect(
      rules.rules.find((r: { kind: string }) => r.kind === 'QUOTA_THRESHOLD').settings.threshold_percent,
    ).toBe(90);

    const add = page.getByRole('form', { name: 'Add a webhook endpoint' });
    await add.getByLabel('URL').fill('http://127.0.0.1:9/hooks');
    await add.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('Its signing secret is shown this once').waitFor();
    expect(await page.locator('code').textContent()).toMatch(/^whsec_/);
    await page.reload();
    await settled(page);
    const endpoint = page.getByRole('article', { name: 'Webhook http://127.0.0.1:9/hooks' });
    await endpoint.getByRole('button', { name: 'Send test' }).click();
    await endpoint.getByText('test queued').waitFor();
    await endpoint.getByRole('button', { name: 'Show deliveries' }).click();
    await expect.poll(() => endpoint.locator('tbody tr').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await endpoint
      .getByRole('button', { name: /^Redeliver/ })
      .first()
      .click();
    await endpoint.getByText('queued', { exact: true }).waitFor();
    await page.close();
  });

  it('previews and downloads a billing export whose rows are the API’s', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop, acceptDownloads: true });
    await signIn(page, ADMIN, 'ws_1');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('link', { name: 'Billing', exact: true }).click();
    await page.getByRole('heading', { name: 'Billing' }).waitFor();
    const period = page.getByRole('form', { name: 'Billing period' });
    await period.getByRole('combobox', { name: /^Per/ }).selectOption('day');
    await expect.poll(() => page.url()).toContain('period=day');
    await page.getByRole('heading', { name: 'Preview' }).waitFor();
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await period.getByLabel('From').fill(yesterday);
    await period.getByLabel('To (not including)').fill(tomorrow);
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.url()).toContain(`billing_from=${yesterday}`);
    await expect.poll(() => page.getByRole('table').locator('tbody tr').count()).toBeGreaterThan(0);
    const previewRows = await page.getByRole('table').locator('tbody tr').count();
    expect(previewRows).toBeLessThanOrEqual(20);
    await shoot(page, 'billing');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`keytrail-billing-ws_1-${yesterday}-${tomorrow}-day.csv`);
    const file = readFileSync((await download.path())!, 'utf8');
    const fromApi = await call(
      'GET',
      `/v1/workspaces/ws_1/billing/export?from=${yesterday}T00:00:00Z&to=${tomorrow}T00:00:00Z&period=day&format=csv`,
    );
    expect(file).toBe(fromApi);
    const lines = file.trim().split('\r\n');
    expect(lines[0]).toBe('period_start,end_user_id,billable_requests,cost_micros,keys');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).every((l) => l.startsWith(yesterday) || l.startsWith(today))).toBe(true);
    await page.close();
  });

  it('signs in from a one-time code link; the code works once and leaves the address bar', async () => {
    const { path } = await call('POST', '/v1/login-codes', { workspace_id: 'ws_1' });
    expect(path).toMatch(/^\/#\/signin\?code=ktl_/);
    expect(path).not.toContain(ADMIN);
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    await page.goto(`${url}${path}`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).toContain('ws=ws_1');
    expect(page.url()).not.toContain('code=');
    // The switcher offers the admin token's workspaces; picking one moves the page there.
    await expect
      .poll(() =>
        page
          .locator('#workspaces option')
          .evaluateAll((o) => o.map((x) => (x as unknown as { value: string }).value)),
      )
      .toEqual(expect.arrayContaining(['ws_1', 'ws_2']));
    await page.getByLabel('Workspace').fill('ws_2');
    await page.getByLabel('Workspace').press('Enter');
    await page.getByLabel('Workspace').blur();
    await expect.poll(() => page.url()).toContain('ws=ws_2');
    await page.close();

    const again = await browser.newPage();
    await again.goto(`${url}${path}`);
    await again.getByRole('alert').waitFor();
    expect(await again.getByRole('alert').textContent()).toMatch(/\(401\).*unknown or revoked/);
    await again.getByRole('heading', { name: 'Sign in to Keytrail' }).waitFor();
    await again.close();
  });

  it('shows readable errors, not a blank page, for an unknown token and another workspace’s token', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    await signIn(page, 'kt_not_a_real_token', 'ws_1');
    const error = page.getByRole('alert');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/Could not load \(401\)\. The token is unknown or revoked/);

    const { token } = await call('POST', '/v1/workspaces/ws_2/tokens', {
      name: 'ws_2 reader',
      scopes: ['read'],
    });
    await signIn(page, token, 'ws_1');
    await page.getByRole('alert').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(/\(403\)\. This token may not/);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/Request id: /);
    await page.close();
  });

  it('works from the keyboard and has no serious accessibility violation on any page (axe-core)', async () => {
    // axe is injected as a script, which the page's CSP (script-src 'self') would rightly refuse.
    const context = await browser.newContext({ viewport: WIDTHS.desktop, bypassCSP: true });
    const page = await context.newPage();
    await signIn(page, ADMIN, 'ws_1');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await settled(page);
    await page.reload(); // a fresh load: focus starts at the top of the document
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The first Tab reaches the skip link; Enter puts the focus on the content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // From the brand, Tab walks the pages' links in order; Enter opens one.
    await page.locator('a.brand').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Keys');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();

    const busiestEndUser = (
      await api(
        `/v1/workspaces/ws_1/usage?from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&group_by=end_user_id&limit=5`,
      )
    ).rows.find((r: { value: string }) => r.value).value;
    const violations: string[] = [];
    for (const [name, hash] of [
      ['overview', 'overview'],
      ['keys', 'keys'],
      ['key', 'key&key=key_leaked'],
      ['session', `key&key=${(await api('/v1/workspaces/ws_1/keys?kind=session&limit=1')).keys[0].key_id}`],
      ['end user', `end-user&end_user=${busiestEndUser}`],
      ['probes', 'probes'],
      ['alerts', 'alerts'],
      ['billing', 'billing'],
    ] as const) {
      for (const size of Object.values(WIDTHS)) {
        await page.setViewportSize(size);
        const [pageName, extra] = hash.split('&');
        await page.goto(`${url}/#/${pageName}?ws=ws_1&range=24h${extra ? `&${extra}` : ''}`);
        await page.locator('main h1').waitFor();
        await settled(page);
        await page.addScriptTag({ path: AXE });
        const found = await page.evaluate(async () => {
          const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa'] });
          return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map(
              (v) =>
                `${v.id}: ${v.nodes
                  .map((n) => n.target.join(' '))
                  .slice(0, 3)
                  .join(', ')}`,
            );
        });
        violations.push(...found.map((v: string) => `${name} at ${size.width}px: ${v}`));
      }
    }
    expect(violations).toEqual([]);
    await context.close();
  });
});
