import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { REPO_ROOT } from './index.ts';

/** Where browser tests put their screenshots (git-ignored); look at them. */
export const ARTIFACTS = join(REPO_ROOT, 'test/artifacts');

const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's chromium driven by playwright-core (no browser download works here). Installed with
 * apt when missing and the tests run as root, as in CI; otherwise a clear error says how.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    if (process.getuid?.() !== 0)
      throw new Error(`browser tests need Debian's chromium: apt-get install -y chromium (no ${CHROMIUM})`);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'ignore' });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
