// Developer aid: sign in and screenshot pages.
// node shot.mjs BASE USER PASSWORD OUTDIR PATH...
import { launch, signIn, axeViolations } from './lib.mjs';
const [base, user, password, outdir, ...paths] = process.argv.slice(2);
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
if (user !== '-') await signIn(page, base, user, password);
for (const [i, path] of paths.entries()) {
  await page.goto(base + path);
  await page.screenshot({ path: `${outdir}/shot-${i}.png`, fullPage: true });
  console.log(path, '->', `${outdir}/shot-${i}.png`, JSON.stringify(await axeViolations(page)));
}
await browser.close();
