// Loads a `netpath matrix -o html` page in headless Chromium, clicks the cell SRC -> DST and
// prints what the trace panel then shows, as JSON:
//   node click-matrix-cell.mjs PAGE.html 'SRC -> DST'
// CHROMIUM names the browser (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [page, pair] = process.argv.slice(2);
if (!page || !pair) {
  console.error('usage: click-matrix-cell.mjs PAGE.html "SRC -> DST"');
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'netpath-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const requests = [];
try {
  const tab = await context.newPage();
  tab.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  const errors = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  await tab.goto(pathToFileURL(resolve(page)).href);
  const before = await tab.locator('#trace').textContent();
  const cell = tab.locator(`td.cell[title=${JSON.stringify(pair)}]`);
  const cells = await cell.count();
  if (cells === 1) {
    await cell.click();
  }
  const out = {
    cells,
    before,
    title: await tab.locator('#trace-title').textContent(),
    panel: await tab.locator('#trace').textContent(),
    pair: await tab.locator('#trace').getAttribute('data-pair'),
    selected: await tab.locator('td.sel').count(),
    requests,
    errors,
  };
  console.log(JSON.stringify(out));
} finally {
  await context.close();
}
