// The foundation journey in headless Chromium: an administrator creates a
// records clerk; the clerk changes the temporary password, adds an officer
// and finds it in the list; an auditor sees both changes in the audit log.
// axe-core runs on every page visited. Exits non-zero on any failure.
//
// node journey.mjs BASE_URL   (ADMIN_PASSWORD and AUDITOR_PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, signOut, recorder } from './lib.mjs';

const base = process.argv[2];
const adminPassword = process.env.ADMIN_PASSWORD;
const auditorPassword = process.env.AUDITOR_PASSWORD;
const seen = recorder();
const check = (page) => seen.check(page);

const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cspErrors = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });

  await page.goto(`${base}/login`);
  await check(page);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to main content');

  // Administrator creates the clerk.
  await signIn(page, base, 'chief', adminPassword);
  await check(page);
  await page.getByRole('link', { name: 'Users' }).click();
  await check(page);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await check(page);
  // Submitting with mistakes shows the summary and keeps what was typed.
  await page.getByLabel('Username').fill('Bad Name!');
  await page.getByLabel('Full name').fill('Rosa Jiménez');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForSelector('#error-summary');
  await check(page);
  assert.equal(await page.getByLabel('Full name').inputValue(), 'Rosa Jiménez');
  await page.getByLabel('Username').fill('rjimenez');
  await page.getByLabel('Records clerk').check();
  await page.getByLabel('Temporary password').fill('temporary orchard words');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/users\/\d+$/);
  await check(page);
  assert.match(await page.textContent('main'), /Account rjimenez created/);
  await signOut(page);

  // The clerk must change the temporary password, then adds an officer.
  await signIn(page, base, 'rjimenez', 'temporary orchard words');
  await page.waitForURL(/\/account\/password$/);
  await check(page);
  await page.getByLabel('Current password').fill('temporary orchard words');
  await page.getByLabel('New password', { exact: true }).fill('copper meadow signal');
  await page.getByLabel('New password again').fill('copper meadow signal');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(`${base}/`);
  await check(page);
  await page.getByRole('link', { name: 'Officers' }).first().click();
  await check(page);
  await page.getByRole('link', { name: 'Add an officer' }).click();
  await check(page);
  await page.getByLabel('Badge number').fill('CC-7001');
  await page.getByLabel('Last name').fill('Nguyễn');
  await page.getByLabel('First name').fill('Thảo');
  await page.getByLabel('Rank').fill('Deputy');
  await page.getByLabel('Hire date').fill('2019-04-15');
  await page.getByRole('button', { name: 'Save officer' }).click();
  await page.waitForURL(/\/officers\/\d+$/);
  await check(page);
  assert.match(await page.textContent('h1'), /Nguyễn, Thảo/);
  await page.getByRole('link', { name: 'All officers' }).click();
  await page.getByLabel('Name or badge').fill('nguy');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/q=nguy/);
  await check(page);
  assert.equal(await page.getByRole('link', { name: 'Nguyễn, Thảo' }).count(), 1);
  await signOut(page);

  // The auditor sees both changes and verifies the chain.
  await signIn(page, base, 'auditor', auditorPassword);
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await check(page);
  const log = await page.textContent('table.audit');
  assert.match(log, /user\.create/);
  assert.match(log, /officer\.create/);
  assert.match(log, /rjimenez/);
  await page.getByLabel('Action').selectOption('officer.create');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await check(page);
  assert.match(await page.textContent('caption'), /^1 entry ·/);
  await page.getByRole('button', { name: 'Verify the whole log' }).click();
  await check(page);
  assert.match(await page.textContent('main'), /Verification result: OK \d+ entries, head [0-9a-f]{64}/);

  assert.deepEqual(cspErrors, [], 'no Content Security Policy violations');
} finally {
  await browser.close();
}

seen.report();
