// @ts-check
// Renders the extension's marketplace icon (media/icons/groundwork.png, 256×256) from the
// activity-bar glyph (media/icons/groundwork.svg) with Debian's Chromium through playwright-core:
// the same strokes, white on a rounded square. Run again after changing the glyph:
//   node scripts/makeIcon.mjs
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const glyph = fs
  .readFileSync(path.join(root, 'media/icons/groundwork.svg'), 'utf8')
  .replace('stroke="currentColor"', 'stroke="#ffffff"')
  .replace('width="24" height="24"', 'width="168" height="168"');
const html = `<html><body style="margin:0;background:transparent"><div style="width:256px;height:256px;border-radius:48px;background:linear-gradient(135deg,#2f6f4f,#1d4a6b);display:flex;align-items:center;justify-content:center">${glyph}</div></body></html>`;
const browser = await chromium.launch({ executablePath: process.env.GROUNDWORK_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 256, height: 256 } });
  await page.setContent(html);
  const out = path.join(root, 'media/icons/groundwork.png');
  await page.screenshot({ path: out, omitBackground: true });
  console.log(`wrote ${path.relative(root, out)} (${fs.statSync(out).size} bytes)`);
} finally {
  await browser.close();
}
