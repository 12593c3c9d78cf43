// Issue 3's journey in headless Chromium: a clerk records a failed exam,
// then the passed remediation exam, then uploads the certificate; the
// officer's status changes on the officer page and on the compliance
// roster. axe-core runs on every page visited.
//
// node training.mjs BASE_URL OFFICER_ID   (CLERK_PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, recorder } from './lib.mjs';

const [base, officerId] = process.argv.slice(2);
const seen = recorder();
const check = (page) => seen.check(page);

async function jemRow(page) {
  return page.locator('table.standings tr', { hasText: 'Jail Enforcement Model (JEM)' }).textContent();
}

async function rosterRow(page) {
  await page.goto(`${base}/compliance`);
  await check(page);
  return page.locator('tr', { hasText: 'CC-7002' }).textContent();
}

const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, base, 'clerk', process.env.CLERK_PASSWORD);
  await page.goto(`${base}/officers/${officerId}`);
  await check(page);
  assert.match(await jemRow(page), /Not authorized.*basic training not completed/s);
  assert.match(await rosterRow(page), /Not authorized/);

  // The first exam is failed.
  await page.goto(`${base}/officers/${officerId}`);
  await page.getByRole('link', { name: 'Add a training record' }).click();
  await check(page);
  await page.getByLabel('Course').selectOption({ label: '287(g) Jail Enforcement Model basic training (JEM, 160 h)' });
  await page.getByLabel('Date completed').fill('2026-09-18');
  await page.getByLabel('Hours').fill('160');
  await page.getByLabel('Exam scores, in the order taken').fill('62');
  await page.getByRole('button', { name: 'Save training record' }).click();
  await page.waitForURL(new RegExp(`/officers/${officerId}$`));
  await check(page);
  assert.match(await page.textContent('main'), /Failed: remediation exam allowed/);
  assert.match(await jemRow(page), /exam failed, remediation exam not yet passed/);

  // The remediation exam is passed.
  await page.getByRole('link', { name: /^Edit training of 2026-09-18/ }).click();
  await check(page);
  await page.getByLabel('Exam scores, in the order taken').fill('62, 84');
  await page.getByRole('button', { name: 'Save training record' }).click();
  await page.waitForURL(new RegExp(`/officers/${officerId}$`));
  assert.match(await page.textContent('main'), /Passed on remediation/);
  const row = await jemRow(page);
  assert.match(row, /Authorized/);
  assert.match(row, /Current/);
  assert.match(await rosterRow(page), /Current/);

  // The certificate is uploaded and attached to the record.
  await page.goto(`${base}/officers/${officerId}`);
  await page.getByRole('link', { name: /^Edit training of 2026-09-18/ }).click();
  await page.getByRole('link', { name: 'Attach a certificate to this record' }).click();
  await check(page);
  await page.getByLabel('Title').fill('JEM basic training certificate');
  await page.getByLabel('Kind').selectOption('certificate');
  await page.getByLabel('Officer').selectOption(officerId);
  await page.getByLabel(/^File/).setInputFiles({
    name: 'certificate.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n'),
  });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL(/\/documents\/\d+$/);
  await check(page);
  assert.match(await page.textContent('main'), /[0-9a-f]{64}/, 'SHA-256 shown');
  await page.goto(`${base}/officers/${officerId}`);
  await check(page);
  const training = await page.locator('table', { hasText: 'Training completed' }).textContent();
  assert.match(training, /JEM basic training certificate/);
} finally {
  await browser.close();
}

seen.report();
