// Issue 19's journey in headless Chromium: an administrator previews and
// publishes a year from the keyboard; then a visitor with no account, on
// a 390-pixel screen, goes from /public to the county's
// year, reads a chart's table and downloads the CSV. axe-core runs on
// every page visited.
//
// node public.mjs BASE_URL AGENCY_NAME YEAR DOWNLOAD_DIR   (PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, recorder } from './lib.mjs';

const [base, agency, year, dir] = process.argv.slice(2);
const seen = recorder();
const check = (page) => seen.check(page);

const browser = await launch();
try {
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, base, 'publisher', process.env.PASSWORD);
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Publications', exact: true }).click();
  await check(admin);
  await admin.getByLabel('Period').selectOption(year);
  await admin.getByRole('button', { name: 'Preview' }).press('Enter');
  await admin.waitForURL(/\/publications\/preview/);
  await check(admin);
  assert.match(await admin.textContent('main'), /This is exactly what the public page will show/);
  await admin.getByRole('button', { name: `Publish ${year}` }).press('Enter');
  await admin.waitForURL(/\/publications$/);
  await check(admin);
  assert.match(await admin.textContent('main'), new RegExp(`Published ${year} \\(version 1\\)`));

  const visitor = await browser.newContext({
    acceptDownloads: true, viewport: { width: 390, height: 844 },
  });
  const page = await visitor.newPage();
  await page.goto(`${base}/public`);
  await check(page);
  assert.equal(await page.locator('script').count(), 0, 'a public page has a script');
  const region = page.getByRole('region', { name: new RegExp(agency.replace(/[.*+?^${}()|[\]\\']/g, '.')) });
  await region.getByRole('link', { name: year, exact: true }).click();
  await page.waitForURL(new RegExp(`/public/[A-Z0-9]+/${year}$`));
  await check(page);
  assert.match(await page.textContent('h1'), new RegExp(`${year}`));
  // A chart says its values in words, and its table holds the same.
  const figure = page.locator('figure').filter({ hasText: 'D3 search rate by race' }).first();
  const words = await figure.locator('figcaption').textContent();
  assert.match(words, /D3 search rate by race\. .+: \d+\.\d%/);
  const table = page.getByRole('table', { name: /D3 search rate by race: values, counts and 95% intervals/ });
  assert.ok(await table.getByRole('row').count() > 2, 'the chart has its table');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page fits 390 pixels (${width})`);
  // The pages carry no script at all: they work without JavaScript.
  assert.equal(await page.locator('script').count(), 0, 'a public page has a script');
  const cookies = await visitor.cookies();
  assert.equal(cookies.length, 0, 'public pages set no cookie');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'The figures as CSV' }).click(),
  ]);
  const file = `${dir}/${download.suggestedFilename()}`;
  await download.saveAs(file);
  console.log(`CSV ${file}`);
} finally {
  await browser.close();
}
seen.report();
