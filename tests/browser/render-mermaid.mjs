// Renders Mermaid diagrams (read from the files given) with the mermaid package in headless
// Chromium and prints one {ok, error, svg} per file, as a JSON array:
//   node render-mermaid.mjs DIAGRAM.mmd...
// CHROMIUM names the browser (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: render-mermaid.mjs DIAGRAM.mmd...');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const profile = mkdtempSync(join(tmpdir(), 'netpath-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const tab = await context.newPage();
  await tab.setContent('<!DOCTYPE html><html><body></body></html>');
  await tab.addScriptTag({ path: join(here, 'node_modules/mermaid/dist/mermaid.min.js') });
  const results = [];
  for (const [i, file] of files.entries()) {
    const text = readFileSync(file, 'utf8');
    results.push(await tab.evaluate(async ([src, id]) => {
      try {
        window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
        await window.mermaid.parse(src);
        const { svg } = await window.mermaid.render(id, src);
        return { ok: true, error: null, svg };
      } catch (e) {
        return { ok: false, error: String(e && e.message ? e.message : e), svg: '' };
      }
    }, [text, `netpath${i}`]));
  }
  console.log(JSON.stringify(results));
} finally {
  await context.close();
}
