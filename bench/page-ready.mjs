// Times the lab page in headless Chromium: from navigation start to the moment
// the page marks itself ready to step (body[data-ready="true"], set once the
// wasm is loaded and the first lesson is open). Each load uses a fresh browser
// context (empty cache). Prints one result line (bench/src/report.rs format).
//
// Usage: node page-ready.mjs <lab-url> <dir-with-node_modules> [runs]
// Env: CHROMIUM (default /usr/bin/chromium). Talks to 127.0.0.1 only.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [url, modulesDir, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url || '')) {
  console.error(`page-ready: only loopback URLs, not ${url}`);
  process.exit(2);
}
const { chromium } = createRequire(join(modulesDir, 'package.json'))('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const times = [];
try {
  // One warm-up load (starts the browser's processes), then the measured ones.
  for (let i = 0; i <= runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) =>
      route.request().url().startsWith(url) ? route.continue() : route.abort());
    await context.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.body && document.body.dataset.ready === 'true') {
          window.__readyAt = performance.now();
          obs.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
    });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const t = await page.evaluate(() => window.__readyAt ?? performance.now());
    if (i > 0) times.push(t);
    await context.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.error(`page-ready: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
console.log(JSON.stringify({
  row: 'wasm.page', impl: 'sockbox', value: median, unit: 'ms', runs: times.length,
  detail: 'navigation start to body[data-ready], fresh context each load',
}));
