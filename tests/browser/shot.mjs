// Screenshot the lab in headless Chromium: `node shot.mjs URL OUT.png [WIDTH HEIGHT] [KEYS]`.
// KEYS are pressed after the page is ready (e.g. "eee" or "nnnn"), so a
// screenshot can show a run in progress. Used for docs/lab.png and by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, out, w = '1280', h = '800', keys = ''] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'sockbox-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  viewport: { width: Number(w), height: Number(h) },
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('pageerror:', e.message));
  page.on('console', (m) => console.error(`console.${m.type()}:`, m.text()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 5000 }).catch(() => console.error('page not ready'));
  for (const k of keys) await page.keyboard.press(k === '>' ? 'ArrowRight' : k);
  await page.waitForTimeout(700);
  await page.screenshot({ path: out, fullPage: process.env.FULL === '1' });
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
