// Issue 11: pages on a phone's width. A narrative typed without spaces
// wraps instead of widening the stop and review pages, and the stop list
// scrolls inside its own labelled, focusable region, not the page. A
// failed sign-in puts the focus on its message without JavaScript.
//
// node narrow.mjs BASE_URL STOP_ID   (PASSWORD in the environment)
import assert from 'node:assert/strict';
import { launch, signIn, recorder } from './lib.mjs';

const [base, stopId] = process.argv.slice(2);
const seen = recorder();

// How far the page itself scrolls sideways (0 when it fits).
const pageWidth = (page) => page.evaluate(() => document.scrollingElement.scrollWidth);

const browser = await launch();
try {
  // Without JavaScript, a failed sign-in puts the focus on its message.
  const plain = await browser.newPage({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  await signIn(plain, base, 'sup', 'not the password');
  assert.equal(await plain.evaluate(() => document.activeElement.id), 'error-summary', 'focus on the message');
  await plain.close();

  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await signIn(page, base, 'sup', process.env.PASSWORD);
  // A decision with a long comment, so the pages also carry the sign-off
  // table and a longer change history.
  await page.goto(`${base}/supervision/review/stop/${stopId}`);
  await page.getByLabel('Return for correction').check();
  await page.getByLabel('Comment').fill('Split the plate list into words: ' + 'XYZ9876'.repeat(30));
  await page.getByLabel('Your password, to sign').fill(process.env.PASSWORD);
  await page.getByRole('button', { name: 'Sign decision' }).click();
  await page.waitForURL(/\/supervision\/queue$/);
  for (const path of [`/stops/${stopId}`, `/supervision/review/stop/${stopId}`, '/stops']) {
    await page.goto(base + path);
    await seen.check(page);
    const width = await pageWidth(page);
    console.log(`${path}: ${width}px wide at 390`);
    assert.ok(width <= 390, `${path} is ${width}px wide on a 390px screen`);
  }

  // The table scrolls in its region, which the keyboard can reach.
  const region = page.getByRole('region', { name: 'Stops matching the filters' });
  assert.equal(await region.count(), 1, 'the stop list has its own region');
  const inner = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  assert.ok(inner.scroll > inner.client, `the table scrolls inside its region (${inner.scroll} > ${inner.client})`);
  await region.focus();
  assert.equal(await region.evaluate((el) => el === document.activeElement), true, 'the region takes focus');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('.table-scroll').scrollLeft > 0);

  // A wide screen shows the long narrative within the screen too.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/stops/${stopId}`);
  assert.ok((await pageWidth(page)) <= 1280, 'the stop page fits a 1280px screen');
} finally {
  await browser.close();
}
seen.report();
