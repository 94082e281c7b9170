import { join } from 'node:path';
import { generateTraffic } from '@keytrail/simulator';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium } from './kit/browser.ts';
import { type KeytrailProcess, startKeytrailUp, waitFor } from './kit/index.ts';

// The dashboard in Debian's chromium against `keytrail up` with simulated traffic and a live
// key-enumeration attack: sign in, see the attack on the overview, open a key, list keys and
// alerts; screenshots of every page at desktop and phone width go to test/artifacts/.
const ADMIN = 'kt_admin_dashboard_0123456789abcdef';
const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };

describe('the dashboard in a real browser', () => {
  let app: KeytrailProcess;
  let url = '';
  let browser: Browser;

  const post = async (events: object[]) => {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(response.status).toBe(202);
  };
  const api = async (path: string) =>
    // biome-ignore lint/suspicious/noExplicitAny: a test reading JSON it checks field by field
    (await (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as any;

  beforeAll(async () => {
    ({ app, url } = await startKeytrailUp('dashboard', { KEYTRAIL_ADMIN_TOKEN: ADMIN }));
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
    // A live enumeration, so the overview has an alert firing.
    await post(
      Array.from({ length: 40 }, (_, i) => ({
        type: 'auth_decision',
        workspace_id: 'ws_1',
        occurred_at: now - 15_000 + i * 250,
        request_id: `req_enum_${i}`,
        outcome: 'INVALID_KEY',
        http_status: 401,
        key_prefix: 'pf_live_zz',
        presented_key_hash: `enum_${i}`,
        client_ip: '198.51.100.77',
      })),
    );
    await waitFor(
      'the alert and the traffic queryable',
      async () => {
        const { alerts } = await api('/v1/workspaces/ws_1/alerts?status=firing');
        const { keys } = await api('/v1/workspaces/ws_1/keys');
        return alerts.length > 0 && keys.some((k: { requests_24h: number }) => k.requests_24h > 0);
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
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize(WIDTHS.desktop);
  };

  it('signs in, shows the attack on the overview, and every page without leaking the token', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    await page.goto(`${url}/`);
    await expect
      .poll(() => page.getByRole('heading', { name: 'Sign in to Keytrail' }).isVisible())
      .toBe(true);
    await shoot(page, 'signin');
    const signin = page.locator('form.signin');
    await signin.getByLabel('Keytrail token').fill(ADMIN);
    await signin.getByLabel('Workspace').fill('ws_1');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('article', { name: 'INVALID_KEY_SPIKE alert' }).first().waitFor();
    expect(await page.getByText('198.51.100.77').count()).toBeGreaterThan(0);
    expect(page.url()).not.toContain(ADMIN);
    await shoot(page, 'overview');

    // From the overview's top keys to a key page.
    await page.getByRole('link', { name: /^key_/ }).first().click();
    await page.getByRole('heading', { name: 'Usage' }).waitFor();
    await page.getByRole('heading', { name: 'Lifecycle' }).waitFor();
    expect(await page.locator('table').count()).toBeGreaterThanOrEqual(2);
    await shoot(page, 'key');

    await page.getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    await shoot(page, 'keys');

    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await shoot(page, 'alerts');

    // A link holds the page's state: pasted into another tab (same session), it opens the same view.
    const pasted = await browser.newPage();
    await pasted.goto(page.url());
    await pasted.getByRole('heading', { name: 'Sign in to Keytrail' }).waitFor(); // a new tab has no token
    await pasted.close();
    await page.close();
  });

  it('shows a readable error, not a blank page, for a bad token', async () => {
    const page = await browser.newPage({ viewport: WIDTHS.desktop });
    await page.goto(`${url}/`);
    const signin = page.locator('form.signin');
    await signin.getByLabel('Keytrail token').fill('kt_not_a_real_token');
    await signin.getByLabel('Workspace').fill('ws_1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const error = page.getByRole('alert');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/Could not load \(401\)\. The token is unknown or revoked/);
    await page.close();
  });
});
