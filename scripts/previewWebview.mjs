// @ts-check
// Looks at the chat webview the way a person would, without VS Code: serves dist/media with
// media/preview.html and a fake extension host (media/src/preview/fakeHost.ts), drives headless
// Chromium through playwright-core, checks what the page does, and saves screenshots.
//   node scripts/previewWebview.mjs              build, check, screenshots → test-output/webview-*.png
//   node scripts/previewWebview.mjs --serve      build and serve on 127.0.0.1 until Ctrl+C (open the
//                                                printed URL; ?theme=light, ?trust=no, ?delay=400)
//   --no-build                                   use dist/media as it is
// Chromium comes from the system ($CHROMIUM_PATH, else /usr/bin/chromium); never `playwright install`.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = new Set(process.argv.slice(2));
const outDir = path.join(root, 'test-output');
const mediaDist = path.join(root, 'dist', 'media');

if (!args.has('--no-build')) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const fakeHost = (
  await esbuild.build({
    entryPoints: [path.join(root, 'media/src/preview/fakeHost.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    logLevel: 'warning',
  })
).outputFiles[0].text;

/** @type {Record<string, string>} */
const TYPES = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript', '.ttf': 'font/ttf', '.map': 'application/json' };
const server = http.createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'preview.html';
  /** @type {string | Buffer | undefined} */
  let body;
  if (name === 'favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  if (name === 'fakeHost.js') body = fakeHost;
  else if (name === 'preview.html' || name === 'preview.css') body = fs.readFileSync(path.join(root, 'media', name));
  else if (/^[\w.-]+$/.test(name) && fs.existsSync(path.join(mediaDist, name))) body = fs.readFileSync(path.join(mediaDist, name));
  if (body === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}/`;

if (args.has('--serve')) {
  console.log(`Chat webview preview at ${base}  (?theme=light, ?trust=no, ?delay=400, ?host=silent)`);
} else {
  try {
    await check();
  } finally {
    server.close();
  }
}

async function check() {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(outDir, { recursive: true });
  const failures = [];
  const expect = (ok, what) => {
    if (!ok) failures.push(what);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  };
  const shot = async (page, name) => {
    const file = path.join(outDir, `webview-${name}.png`);
    await page.screenshot({ path: file });
    console.log(`     → ${path.relative(root, file)}`);
  };
  try {
    for (const theme of /** @type {const} */ (['dark', 'light'])) {
      const context = await browser.newContext({ viewport: { width: 360, height: 780 }, deviceScaleFactor: 1, colorScheme: theme });
      const page = await context.newPage();
      /** @type {string[]} */
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      const sent = () => page.evaluate(() => /** @type {any} */ (window).__sent);

      // Mid-stream: slow deltas so the partial answer can be seen with its placeholder chips.
      await page.goto(`${base}?theme=${theme}&delay=500&trust=no`);
      await page.locator('article.turn.pending .answer', { hasText: 'Passwords are hashed' }).waitFor();
      expect(await page.locator('button.stop').isVisible(), `${theme}: Stop is shown while an answer streams`);
      await shot(page, `${theme}-streaming`);
      await page.waitForFunction(() => /** @type {any} */ (window).__done, null, { timeout: 20_000 });

      await page.goto(`${base}?theme=${theme}`);
      await page.waitForFunction(() => /** @type {any} */ (window).__done, null, { timeout: 20_000 });
      expect((await sent())[0]?.type === 'ready', `${theme}: posts ready first`);
      expect((await page.locator('article.turn').count()) === 5, `${theme}: five turns`);
      expect(!(await page.locator('button.stop').isVisible()), `${theme}: Stop hidden when nothing streams`);
      await shot(page, `${theme}-bottom`);

      // The streamed answer, revealed by the host (scroll into view + flash).
      await page.evaluate(() => window.postMessage({ type: 'reveal', turnId: 'turn-2' }, '*'));
      await page.waitForTimeout(1400);
      const t2 = page.locator('article.turn[data-turn-id="turn-2"]');
      expect((await t2.locator('.answer button.chip.chip-verified').count()) === 3, `${theme}: three verified chips`);
      expect((await t2.locator('.answer button.chip.chip-stale').count()) === 1, `${theme}: one stale chip`);
      expect((await t2.locator('.answer button.chip.chip-invalid[disabled]').count()) === 1, `${theme}: one disabled invalid chip`);
      expect((await t2.locator('.answer .md-link').count()) === 1, `${theme}: the markdown link is inert text`);
      await t2.locator('details.context summary').click();
      await shot(page, `${theme}-answer`);

      // Chip hover → debounced preview request → popover with the host's lines.
      const chip = t2.locator('.answer button.chip.chip-verified').first();
      await chip.hover();
      await page.locator('#citation-preview:not([hidden])').waitFor({ timeout: 3000 });
      const popText = (await page.locator('#citation-preview').textContent()) ?? '';
      expect(popText.includes('hashPassword') && popText.includes('<script>'), `${theme}: preview shows the lines, escaped`);
      await shot(page, `${theme}-preview`);
      await chip.click();
      const last = (await sent()).at(-1);
      expect(last?.type === 'openCitation' && last.turnId === 'turn-2' && last.citationId === 0, `${theme}: chip click posts openCitation with ids only`);
      await page.keyboard.press('Escape');
      // Keyboard focus previews too (the stale chip's preview carries the host's note).
      await t2.locator('.answer button.chip.chip-stale').focus();
      await page.locator('#citation-preview:not([hidden]) .preview-note').waitFor({ timeout: 3000 });
      await shot(page, `${theme}-focus`);
      await page.keyboard.press('Escape');
      expect(await page.locator('#citation-preview').isHidden(), `${theme}: Escape hides the preview`);
      const opens = async () => (await sent()).filter((m) => m.type === 'openCitation').length;
      const before = await opens();
      await t2.locator('.answer button.chip.chip-invalid').click({ force: true });
      expect((await opens()) === before, `${theme}: invalid chip does nothing`);
      await t2.locator('button.source-open').first().click();
      const src = (await sent()).at(-1);
      expect(src?.type === 'openSource' && src.n === 1, `${theme}: source click posts openSource`);
      await page.locator('article.turn[data-turn-id="turn-4"] button.action-button').click();
      expect(JSON.stringify((await sent()).at(-1)) === '{"type":"runAction","action":"setApiKey"}', `${theme}: error action posts runAction`);

      // Hostile answer: nothing ran, nothing loaded.
      const t5 = page.locator('article.turn[data-turn-id="turn-5"] .answer');
      expect((await t5.locator('img, script, a, iframe, [href], [src], [onerror], [style]').count()) === 0, `${theme}: hostile answer has no live elements`);
      expect((await page.evaluate(() => /** @type {any} */ (window).__pwned)) === undefined, `${theme}: no hostile script ran`);

      // Keyboard: type, Shift+Enter adds a line, Enter sends.
      await page.locator('textarea.input').click();
      await page.keyboard.type('What calls hashPassword?');
      await page.keyboard.press('Shift+Enter');
      await page.keyboard.type('And where?');
      const rows = await page.locator('textarea.input').evaluate((el) => el.clientHeight);
      expect(rows > 30, `${theme}: the input grows with a second line (${rows}px)`);
      await page.keyboard.press('Enter');
      const ask = (await sent()).at(-1);
      expect(ask?.type === 'ask' && ask.question === 'What calls hashPassword?\nAnd where?', `${theme}: Enter sends, Shift+Enter is a newline`);

      // Reload with a host that never answers: the transcript comes back from setState/getState.
      await page.goto(`${base}?theme=${theme}&host=silent`);
      await page.waitForFunction(() => /** @type {any} */ (window).__done, null, { timeout: 20_000 });
      expect((await page.locator('article.turn').count()) === 5, `${theme}: a reload restores the transcript from getState`);
      await page.locator('textarea.input').focus();
      await shot(page, `${theme}-restored`);
      await page.locator('button[aria-label="New chat"]').click();
      expect((await sent()).at(-1)?.type === 'newChat', `${theme}: New chat posts newChat`);
      await page.locator('.empty-state').waitFor();
      expect((await page.locator('article.turn').count()) === 0, `${theme}: 'cleared' empties the transcript`);
      await shot(page, `${theme}-empty`);

      const csp = await page.evaluate(() => /** @type {any} */ (window).__csp);
      expect(csp.length === 0, `${theme}: no CSP violations ${csp.join('; ')}`);
      expect(errors.length === 0, `${theme}: no page errors ${errors.join('; ')}`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const size = fs.statSync(path.join(mediaDist, 'main.js')).size;
  console.log(`dist/media/main.js: ${(size / 1024).toFixed(1)} KiB`);
  if (failures.length) {
    console.error(`${failures.length} check(s) failed`);
    process.exitCode = 1;
  }
}
