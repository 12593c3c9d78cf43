// Issue 5's journey in headless Chromium: a clerk enters an arrest with a
// detainer; a supervisor returns it with a comment; the clerk sees the
// comment and corrects the record; the supervisor approves it; the auditor
// sees both sign-offs with the record fingerprints. axe-core runs on every
// page visited.
//
// node supervision.mjs BASE_URL OFFICER_LABEL   (PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, signOut, recorder } from './lib.mjs';

const [base, officerLabel] = process.argv.slice(2);
const password = process.env.PASSWORD;
const seen = recorder();
const check = (page) => seen.check(page);
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();

  // The clerk records the arrest.
  await signIn(page, base, 'clerk', password);
  await nav(page, 'Arrests').click();
  await page.getByRole('link', { name: 'Record an arrest' }).click();
  await check(page);
  await page.getByLabel('Date (required)', { exact: true }).fill('2026-11-20');
  await page.getByLabel('Time (24-hour clock) (required)').fill('21:40');
  await page.getByLabel('Arresting officer (required)').selectOption({ label: officerLabel });
  await page.getByLabel('On-view', { exact: true }).check();
  await page.getByLabel('Name (required)', { exact: true }).fill('Nguyễn Văn Łukasz');
  await page.getByLabel('Charges (required)').fill('Driving without a valid license');
  await page.getByLabel('Misdemeanor', { exact: true }).check();
  await page.getByLabel(/^Level 3/).check();
  await page.getByLabel('Detainer (I-247A) lodged').check();
  await page.getByRole('button', { name: 'Save arrest' }).click();
  await page.waitForURL(/\/arrests\/\d+$/);
  await check(page);
  const arrestId = new URL(page.url()).pathname.split('/').pop();
  assert.match(await page.textContent('main'), /waiting for review/);
  await signOut(page);

  // The supervisor finds it in the queue and returns it.
  await signIn(page, base, 'sup', password);
  assert.match(await nav(page, /Sign-off queue/).textContent(), /1 waiting/);
  await nav(page, /Sign-off queue/).click();
  await check(page);
  await page.getByRole('link', { name: `Arrest ${arrestId}`, exact: true }).click();
  await check(page);
  await page.getByLabel('Return for correction').check();
  await page.getByRole('button', { name: 'Sign decision' }).click();
  await page.waitForSelector('#error-summary');
  await check(page);
  assert.match(await page.textContent('#error-summary'), /Say what must be corrected/);
  assert.match(await page.textContent('#error-summary'), /Enter your password/);
  await page.getByLabel('Comment').fill('Add the statute number to the charge.');
  await page.getByLabel('Your password, to sign').fill(password);
  await page.getByRole('button', { name: 'Sign decision' }).click();
  await page.waitForURL(/\/supervision\/queue$/);
  await check(page);
  assert.match(await page.textContent('main'), /returned for correction and signed/);
  await signOut(page);

  // The clerk sees the comment and corrects the arrest.
  await signIn(page, base, 'clerk', password);
  assert.match(await nav(page, /Sign-off queue/).textContent(), /1 returned/);
  await nav(page, /Sign-off queue/).click();
  await check(page);
  assert.match(await page.textContent('main'), /Add the statute number/);
  await page.getByRole('link', { name: `Arrest ${arrestId}`, exact: true }).click();
  await check(page);
  assert.match(await page.textContent('main'), /Returned for correction by Test sup/);
  await page.getByRole('link', { name: 'Edit arrest' }).click();
  await page.getByLabel('Charges (required)').fill('Driving without a valid license, F.S. 322.03');
  await page.getByRole('button', { name: 'Save arrest' }).click();
  await page.waitForURL(/\/arrests\/\d+$/);
  await check(page);
  assert.match(await page.textContent('main'), /changed since the last decision/);
  await signOut(page);

  // The supervisor approves the corrected version.
  await signIn(page, base, 'sup', password);
  await page.goto(`${base}/supervision/review/arrest/${arrestId}`);
  await check(page);
  assert.match(await page.textContent('main'), /F\.S\. 322\.03/);
  await page.getByLabel('Approve').check();
  await page.getByLabel('Your password, to sign').fill(password);
  await page.getByRole('button', { name: 'Sign decision' }).click();
  await page.waitForURL(/\/supervision\/queue$/);
  assert.match(await page.textContent('main'), /approved and signed/);
  await signOut(page);

  // The auditor sees the two sign-offs and the fingerprint of each version.
  await signIn(page, base, 'auditor', password);
  await page.goto(`${base}/arrests/${arrestId}`);
  await check(page);
  const rows = page.locator('table.sign-offs tbody tr');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), /Returned for correction[\s\S]*an earlier version/);
  assert.match(await rows.nth(1).textContent(), /Approved[\s\S]*matches the current version/);
  const hashes = await page.locator('table.sign-offs code.hash').allTextContents();
  assert.equal(hashes.length, 2);
  assert.notEqual(hashes[0], hashes[1]);
  hashes.forEach((h) => assert.match(h, /^[0-9a-f]{64}$/));
  assert.doesNotMatch(await page.textContent('main'), /Łukasz/, 'auditors see no names');
  await nav(page, 'Supervision').click();
  await check(page);
  assert.match(await page.textContent('main'), /S1 sign-off coverage/);
  console.log(`HASHES ${hashes.join(' ')}`);
} finally {
  await browser.close();
}
seen.report();
