// Issue 6's journey in headless Chromium: a reviewer picks a quarter,
// opens the dashboard, generates the quarter's report, downloads it and
// adds a comment; an auditor sees the comment and verifies the downloaded
// file, then downloads the proof that one stop was part of the report's
// data (a wrong number first, kept and marked). axe-core runs on every
// page visited.
//
// node reports.mjs BASE_URL QUARTER_LABEL FROM TO DOWNLOAD_DIR STOP_ID   (PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, signOut, recorder } from './lib.mjs';

const [base, quarter, from, to, dir, stop] = process.argv.slice(2);
const password = process.env.PASSWORD;
const seen = recorder();
const check = (page) => seen.check(page);
const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

const browser = await launch();
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await signIn(page, base, 'reviewer', password);

  // The dashboard for the quarter.
  await nav(page, 'Dashboard').click();
  await check(page);
  await page.getByLabel('From', { exact: true }).fill(from);
  await page.getByLabel('To', { exact: true }).fill(to);
  await page.getByRole('button', { name: 'Show period' }).click();
  await page.waitForURL(/\/dashboard\?from=/);
  await check(page);
  const main = await page.textContent('main');
  assert.match(main, new RegExp(`Measures for ${from} to ${to}`));
  assert.match(main, /D3 search rate by race/);
  assert.ok(await page.locator('svg.sparkline title').count() > 10, 'trend charts with text alternatives');
  // Drill down from a measure to its records, and back.
  await page.getByRole('link', { name: 'Stops: Hispanic/Latino' }).first().click();
  await page.waitForURL(/\/stops\?from=.*race=hispanic/);
  await check(page);
  await page.goBack();

  // The quarter's report, generated and downloaded.
  await nav(page, 'Reports').click();
  await check(page);
  await page.getByRole('button', { name: quarter, exact: true }).click();
  await page.waitForURL(/\/reports$/);
  await check(page);
  assert.match(await page.textContent('main'), new RegExp(`Report R-\\d{4}-\\d{4} for ${from} to ${to} generated`));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /Download report R-/ }).first().click(),
  ]);
  const file = `${dir}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  assert.match(file, /oversight-report-R-\d{4}-\d{4}\.pdf$/);

  await page.getByLabel(/Comment on report R-/).first().fill('Search rates differ by group; ask for the SOP on consent searches.');
  await page.getByRole('button', { name: 'Add comment' }).first().click();
  await page.waitForURL(/\/reports/);
  await check(page);
  assert.match(await page.textContent('main'), /ask for the SOP on consent searches/);
  await signOut(page);

  // The auditor sees the comment and verifies the file the reviewer downloaded.
  await signIn(page, base, 'auditor', password);
  await nav(page, 'Reports').click();
  await check(page);
  assert.match(await page.textContent('main'), /ask for the SOP on consent searches/);
  await page.getByRole('link', { name: 'verify a report file' }).click();
  await check(page);
  await page.getByLabel('Report file (PDF)').setInputFiles(file);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForSelector('[role=status]');
  await check(page);
  assert.match(await page.textContent('[role=status]'), /VERIFIED: this is report R-\d{4}-\d{4}/);
  console.log(`FILE ${file}`);

  // One stop proved part of the report, from the keyboard.
  await nav(page, 'Reports').click();
  await page.getByRole('link', { name: /Prove one record of report R-/ }).first().click();
  await check(page);
  await page.getByLabel('Kind of record').selectOption('stop');
  await page.getByLabel(/Record number/).fill('forty-two');
  await page.getByRole('button', { name: 'Download the proof' }).click();
  await page.waitForSelector('#record_id-error');
  await check(page);
  assert.equal(await page.getByLabel(/Record number/).inputValue(), 'forty-two', 'what was typed is kept');
  await page.getByLabel(/Record number/).fill(stop);
  const [proof] = await Promise.all([
    page.waitForEvent('download'),
    page.getByLabel(/Record number/).press('Enter'),
  ]);
  const proofFile = `${dir}/${proof.suggestedFilename()}`;
  await proof.saveAs(proofFile);
  assert.match(proofFile, /record-proof-R-\d{4}-\d{4}-stop-\d+\.txt$/);
  console.log(`PROOF ${proofFile}`);
} finally {
  await browser.close();
}
seen.report();
