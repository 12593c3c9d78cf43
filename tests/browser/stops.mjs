// Issue 4's journey in headless Chromium: a clerk enters a stop with a
// search and a 287(g) action, sees the sign-off flag, and finds the stop
// through the list's filters. axe-core runs on every page visited.
//
// node stops.mjs BASE_URL OFFICER_LABEL   (CLERK_PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, recorder } from './lib.mjs';

const [base, officerLabel] = process.argv.slice(2);
const seen = recorder();
const check = (page) => seen.check(page);

const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, base, 'clerk', process.env.CLERK_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stops', exact: true }).click();
  await check(page);
  await page.getByRole('link', { name: 'Record a stop' }).click();
  await check(page);

  // A first try without the required parts shows every problem.
  await page.getByRole('button', { name: 'Save stop' }).click();
  await page.waitForSelector('#error-summary');
  await check(page);

  await page.getByLabel('Date (required)', { exact: true }).fill('2026-10-12');
  await page.getByLabel('Time (24-hour clock) (required)').fill('23:05');
  await page.getByLabel('Duration in minutes (required)').fill('35');
  await page.getByLabel('Location (required)').fill('Immokalee Rd at Livingston Rd');
  await page.getByLabel('District or beat').fill('D4');
  await page.getByLabel('Vehicle', { exact: true }).check();
  await page.getByLabel('Officer (required)', { exact: true }).selectOption({ label: officerLabel });
  await page.getByLabel('Hispanic/Latino', { exact: true }).check();
  await page.getByLabel('Male', { exact: true }).check();
  await page.getByLabel('Age in years (required)').fill('29');
  await page.getByLabel('Traffic violation', { exact: true }).check();
  await page.getByLabel('Moving', { exact: true }).check();
  await page.getByLabel('Explanation of the reason (required)').fill('Ran a red light at Livingston Rd');
  await page.getByLabel('Search of property', { exact: true }).check();
  await page.getByLabel('Consent', { exact: true }).check();
  await page.getByLabel('None found', { exact: true }).check();
  await page.getByLabel('Contacted DHS/ICE', { exact: true }).check();
  await page.getByLabel('Immigration status was asked about or checked', { exact: true }).check();
  await page.getByLabel('ICE was contacted', { exact: true }).check();
  await page.getByLabel(/The stop led to a 287\(g\) action/).check();
  await page.getByRole('button', { name: 'Save stop' }).click();
  await page.waitForURL(/\/stops\/\d+$/);
  await check(page);
  const main = await page.textContent('main');
  assert.match(main, /this stop needs a supervisor's sign-off/);
  assert.match(main, /awaits a supervisor's sign-off/);
  assert.doesNotMatch(main, /Compliance exception/, 'the officer was authorized that day');
  const stopId = new URL(page.url()).pathname.split('/').pop();

  // Found through the filters: the date range, the group, searched, 287(g).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stops', exact: true }).click();
  await page.getByLabel('From', { exact: true }).fill('2026-10-01');
  await page.getByLabel('To', { exact: true }).fill('2026-10-31');
  await page.getByLabel('Perceived group', { exact: true }).selectOption('hispanic');
  await page.getByLabel('Searched', { exact: true }).selectOption('yes');
  await page.getByLabel('287(g) action', { exact: true }).selectOption('yes');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/action_287g=yes/);
  await check(page);
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /Needs sign-off/);
  assert.equal(await page.getByRole('link', { name: stopId, exact: true }).count(), 1);
} finally {
  await browser.close();
}
seen.report();
