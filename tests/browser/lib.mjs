// Shared pieces of the browser tests: Debian's Chromium (never a
// downloaded browser), sign-in, and axe-core run inside the page.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function signIn(page, base, username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
}

export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
}

// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current page and
// returns the serious and critical violations. The script is evaluated
// through the DevTools protocol, so the page's CSP stays as served.
export async function axeViolations(page) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

// Collects what a journey saw: axe-core violations per page and the pages
// visited; every page must also have exactly one h1.
export function recorder() {
  const problems = [];
  const visited = new Set();
  return {
    async check(page) {
      const path = new URL(page.url()).pathname;
      for (const v of await axeViolations(page)) problems.push(`${path}: ${v}`);
      visited.add(path);
      assert.equal(await page.locator('h1').count(), 1, `${path} has one h1`);
    },
    // Prints the summary and exits non-zero when axe-core found anything.
    report() {
      console.log(`visited ${visited.size} pages: ${[...visited].join(' ')}`);
      if (problems.length) {
        console.error(`axe-core found ${problems.length} serious or critical violations:\n${problems.join('\n')}`);
        process.exit(1);
      }
      console.log('axe-core: no serious or critical violations');
    },
  };
}
