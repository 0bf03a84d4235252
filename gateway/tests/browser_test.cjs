// The dashboard in Debian's Chromium, driven by playwright-core (run by gateway_integration_test's
// TheDashboardInChromium, which starts spawnd and `spawnctl serve`):
//   node browser_test.cjs URL SPAWNPOINT SERVICE TOKEN SCREENSHOT
// 1. logs in with the token and sees SERVICE running;
// 2. `docker kill`s its container and sees the restart (the restart count goes up, the state comes
//    back to running) without reloading the page and without the page making a single request:
//    the change arrives on the event stream opened before;
// 3. clicks Restart (accepting the confirmation) and sees the count go up again;
// 4. saves a screenshot (the README shows it), and one at a phone's width beside it.
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');

const [url, spawnpoint, service, token, screenshot] = process.argv.slice(2);
const TIMEOUT = 60000;

function fail(message) {
  console.error('browser_test: ' + message);
  process.exit(1);
}

async function api(path) {
  const res = await fetch(url + path, { headers: { Authorization: 'Bearer ' + token } });
  if (!res.ok) fail(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    const page = await context.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.method() + ' ' + r.url()));
    page.on('pageerror', (e) => fail('page error: ' + e.message));
    page.on('dialog', (d) => d.accept());

    await page.goto(url + '/');
    await page.fill('.login input[type=password]', token);
    await page.click('.login button[type=submit]');
    const row = page.locator(`section.spawnpoint[data-path="${spawnpoint}"] li.service[data-service="${service}"]`);
    const state = row.locator('[data-testid=state]');
    const restarts = row.locator('[data-testid=restarts]');
    await state.filter({ hasText: /^running$/ }).waitFor({ timeout: TIMEOUT });
    await page.locator('[data-testid=live]', { hasText: 'live' }).waitFor({ timeout: TIMEOUT });
    const before = Number(await restarts.textContent());
    console.log(`dashboard shows ${service} running, restarts ${before}`);

    // docker kill: seen as a restart, with no request from the page and no reload.
    await page.evaluate(() => { window.__sameDocument = true; });
    const svc = await api(`/api/v1/service?spawnpoint=${encodeURIComponent(spawnpoint)}&name=${encodeURIComponent(service)}`);
    const requestsBefore = requests.length;
    execFileSync('docker', ['kill', svc.ContainerId]);
    await page.waitForFunction(
      ([sel, n]) => { const el = document.querySelector(sel); return el && Number(el.textContent) > n; },
      [`li.service[data-service="${service}"] [data-testid=restarts]`, before], { timeout: TIMEOUT });
    await state.filter({ hasText: /^running$/ }).waitFor({ timeout: TIMEOUT });
    const newRequests = requests.slice(requestsBefore);
    if (newRequests.length !== 0) fail('the page made requests while following the restart: ' + newRequests.join(', '));
    if (!(await page.evaluate(() => window.__sameDocument === true))) fail('the page was reloaded');
    const afterKill = Number(await restarts.textContent());
    console.log(`docker kill seen live: restarts ${before} -> ${afterKill}, no request, no reload`);

    // The restart button (with its confirmation) works.
    await row.click();  // select: the log pane tails it
    await row.locator('button[data-action=restart]').click();
    await page.locator('.notice.ok').waitFor({ timeout: TIMEOUT });
    await page.waitForFunction(
      ([sel, n]) => { const el = document.querySelector(sel); return el && Number(el.textContent) > n; },
      [`li.service[data-service="${service}"] [data-testid=restarts]`, afterKill], { timeout: TIMEOUT });
    await state.filter({ hasText: /^running$/ }).waitFor({ timeout: TIMEOUT });
    await page.locator('[data-testid=log] .line', { hasText: 'hello from ' + service }).first().waitFor({ timeout: TIMEOUT });
    console.log(`restart button: restarts ${afterKill} -> ${await restarts.textContent()}, log pane shows the service`);

    await page.locator('.notice').click();  // dismiss
    await page.screenshot({ path: screenshot, fullPage: false });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshot.replace(/\.png$/, '-phone.png') });
    console.log('screenshot: ' + screenshot);
  } finally {
    await browser.close();
  }
})().catch((e) => fail(e.stack || String(e)));
