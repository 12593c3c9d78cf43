// The state's journey in headless Chromium, on `oversight demo --state`: a
// state reviewer lands on the state dashboard, sees the agency that stopped
// reporting listed first, chooses sign-off timeliness, orders the agencies
// lowest first and finds the agency whose supervisors sign off late, then
// opens that agency's dashboard; then generates the statewide report for the
// last whole quarter and downloads it. The state auditor verifies the
// downloaded file and opens that agency's audit log. The state
// administrator sees the list of agencies. axe-core runs on every page
// visited.
//
// node state.mjs BASE_URL DIR   (REVIEWER_PASSWORD, AUDITOR_PASSWORD and
// ADMIN_PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, signOut, recorder } from './lib.mjs';

const [base, dir] = process.argv.slice(2);
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const seen = recorder();
const check = (page) => seen.check(page);

const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, base, 'state.reviewer', process.env.REVIEWER_PASSWORD);
  await page.waitForURL(/\/state$/);
  await check(page);
  // Reporting status first: the agency that recorded nothing this quarter.
  assert.match(await page.textContent('main'), /1 of 12 agencies recorded no stop and no arrest/);
  const firstRow = page.locator('table.state tbody tr').first();
  assert.match(await firstRow.textContent(), /Brevard County Sheriff[\s\S]*no records/);

  // Sign-off timeliness, lowest first: the late agency comes to the top of
  // those that reported.
  await page.getByLabel('Measure', { exact: true }).selectOption('S2');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.waitForURL(/measure=S2/);
  await check(page);
  await page.getByRole('link', { name: 'lowest value first' }).click();
  await page.waitForURL(/sort=value-asc/);
  await check(page);
  const rows = page.locator('table.state tbody tr');
  assert.match(await rows.nth(1).textContent(), /Lee County Sheriff[\s\S]*not met/, 'the late agency is spotted');

  // Its own dashboard, as the state sees it.
  await page.getByRole('link', { name: 'Lee County Sheriff' }).click();
  await page.waitForURL(/\/state\/agencies\/FL0360000/);
  await check(page);
  assert.match(await page.textContent('main'), /Performance measures/);

  // The statewide report of the last whole quarter, downloaded.
  await nav(page, 'Statewide reports').click();
  await page.waitForURL(/\/state\/reports$/);
  await check(page);
  await page.locator('#generate-title + ul button').first().click();
  await page.waitForURL(/\/state\/reports$/);
  await check(page);
  assert.match(await page.textContent('main'), /Statewide report S-\d{4}-\d{4} for .* generated/);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /Download statewide report S-/ }).first().click(),
  ]);
  const file = `${dir}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  assert.match(file, /statewide-report-S-\d{4}-\d{4}\.pdf$/);
  await signOut(page);

  // The state auditor verifies the file and reads Lee's own audit log.
  await signIn(page, base, 'state.auditor', process.env.AUDITOR_PASSWORD);
  await page.waitForURL(/\/state$/);
  await nav(page, 'Verify a report').click();
  await check(page);
  await page.getByLabel('Report file (PDF)').setInputFiles(file);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForSelector('[role=status]');
  await check(page);
  assert.match(await page.textContent('[role=status]'), /VERIFIED: this is statewide report S-\d{4}-\d{4}.*all 12 agencies/);
  await nav(page, 'Statewide reports').click();
  await page.locator('li', { hasText: 'Lee County Sheriff' }).getByRole('link', { name: 'audit log' }).click();
  await page.waitForURL(/\/state\/agencies\/FL0360000\/audit$/);
  await check(page);
  assert.match(await page.textContent('main'), /Audit log: Lee County Sheriff/);
  await page.getByRole('button', { name: 'Verify the whole log' }).click();
  await check(page);
  assert.match(await page.textContent('[role=status]'), /Verification result: OK/);
  await signOut(page);

  await signIn(page, base, 'state.admin', process.env.ADMIN_PASSWORD);
  await page.waitForURL(/\/state\/agencies$/);
  await check(page);
  assert.match(await page.textContent('main'), /Add an agency/);
  await signOut(page);
} finally {
  await browser.close();
}
seen.report();
