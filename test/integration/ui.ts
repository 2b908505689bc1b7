// Helpers for the UI tests (test/integration/ui/*.test.ts). They run in the test runner's Node
// process (test/integration/runServer.mjs, phase 2) and drive the VS Code web workbench in headless
// Chromium through playwright-core; they never import `vscode`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';

/** What the runner hands the UI tests (set on globalThis before mocha loads them). */
export interface UiContext {
  page: Page;
  /** Absolute path of the workspace folder open in the workbench (a temp copy of the fixture). */
  workspace: string;
  /** test-output/vscode: screenshots go to its ui/ folder. */
  outputDir: string;
  /** code-server's port on 127.0.0.1. */
  port: number;
  /** Reloads the page as a window with no folder open, the extension still loaded. */
  openEmptyWindow: () => Promise<void>;
  /** Reloads the page as a window on another folder (absolute path), the extension still loaded. */
  openFolderWindow: (folder: string) => Promise<void>;
  /** The run's temporary folder (removed at the end): where a test makes a workspace of its own. */
  tmpDir: string;
}

export function uiContext(): UiContext {
  const ctx = (globalThis as { __groundworkUi?: UiContext }).__groundworkUi;
  if (!ctx) throw new Error('UI tests run only under test/integration/runServer.mjs (phase 2)');
  return ctx;
}

/** The extension's id as the webview iframe's URL spells it. */
export const EXTENSION_ID = 'groundwork.groundwork';

/**
 * The Groundwork chat webview's document. Webviews are an iframe (`iframe.webview.ready`, whose src
 * names the extension) holding another iframe (`#active-frame`) with the extension's HTML.
 */
export function groundworkWebview(page: Page, extensionId = EXTENSION_ID): FrameLocator {
  return page.frameLocator(`iframe.webview.ready[src*="extensionId=${extensionId}"]`).frameLocator('#active-frame');
}

/** Saves a screenshot of the whole page as test-output/vscode/ui/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, outputDir = uiContext().outputDir): Promise<string> {
  const dir = path.join(outputDir, 'ui');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Runs a command by its palette title ("Groundwork: Clear Conversation"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  // While focus moves (a webview handing it to an editor) F1 can be swallowed, or the palette can
  // open and close again on the blur: retry until it stays open and takes the text, a few times.
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      await input.fill(`>${title}`, { timeout: 5_000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible' });
  await input.press('Enter');
}

/** Opens the Groundwork view container from the activity bar and returns the chat webview. */
export async function openGroundworkSidebar(page: Page): Promise<FrameLocator> {
  const entry = page.locator('.part.activitybar .action-item [aria-label^="Groundwork"]').first();
  await entry.waitFor({ state: 'visible', timeout: 30_000 });
  // Clicking an already open container would close it again.
  const open = await page.locator('.part.sidebar .composite.title', { hasText: /groundwork/i }).isVisible();
  if (!open) await entry.click();
  const view = groundworkWebview(page);
  await view.locator('textarea.input').waitFor({ state: 'visible', timeout: 30_000 });
  return view;
}

/**
 * Waits for the Groundwork view to open by itself (a command that asks shows it) and returns the
 * chat webview. Unlike {@link openGroundworkSidebar} it never clicks the activity bar, which would
 * race the command and could close the view again.
 */
export async function waitForGroundworkView(page: Page, timeout = 30_000): Promise<FrameLocator> {
  await page.locator('.part.sidebar .composite.title', { hasText: /groundwork/i }).waitFor({ state: 'visible', timeout });
  const view = groundworkWebview(page);
  await view.locator('textarea.input').waitFor({ state: 'visible', timeout });
  return view;
}

/** Opens a workspace file by name with Quick Open (Ctrl+P) and waits until it is the active editor. */
export async function openFileByName(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+p');
  const quick = page.locator('.quick-input-widget input.input');
  await quick.waitFor({ state: 'visible' });
  await quick.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor();
  await quick.press('Enter');
  await poll(`${name} in the editor`, async () => (await activeEditorTitle(page)) === name);
}

/** Types a question into the chat composer and sends it with Enter. */
export async function ask(view: FrameLocator, question: string): Promise<void> {
  const input = view.locator('textarea.input');
  await input.fill(question);
  await input.press('Enter');
}

/** The newest turn of the transcript. */
export function lastTurn(view: FrameLocator): Locator {
  return view.locator('article.turn').last();
}

/** Waits until the newest turn has finished streaming and returns it. */
export async function waitForAnswer(view: FrameLocator, timeout = 60_000): Promise<Locator> {
  const turn = lastTurn(view);
  await turn.waitFor({ state: 'attached', timeout });
  await view.locator('article.turn:last-child:not(.pending)').waitFor({ state: 'attached', timeout });
  return turn;
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeout`. */
export async function poll<T>(what: string, check: () => Promise<T | undefined | false>, timeout = 30_000, every = 200): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** `path:Lx-Ly` as the host labels citations and sources. */
export function parseLabel(label: string): { path: string; startLine: number; endLine: number } {
  const m = /^(.*):L(\d+)-L(\d+)/.exec(label);
  if (!m) throw new Error(`not a path:Lx-Ly label: ${label}`);
  return { path: m[1]!, startLine: Number(m[2]), endLine: Number(m[3]) };
}

/** The title of the active editor tab (e.g. "passwords.ts"). */
export async function activeEditorTitle(page: Page): Promise<string> {
  const tab = page.locator('.editor-group-container.active .tabs-container .tab.active .label-name').first();
  await tab.waitFor({ state: 'visible' });
  return (await tab.textContent())?.trim() ?? '';
}

/**
 * Moves the mouse over the first non-blank text of `line` (1-based) in the active editor, which
 * must be visible, and returns the hover widget (`.monaco-hover`) once it shows.
 */
export async function hoverEditorLine(page: Page, line: number, timeout = 15_000): Promise<Locator> {
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  const number = editor
    .locator('.margin-view-overlays .line-numbers')
    .filter({ hasText: new RegExp(`^\\s*${line}\\s*$`) })
    .first();
  await number.waitFor({ state: 'visible', timeout });
  const numberBox = await number.boundingBox();
  if (!numberBox) throw new Error(`line ${line} has no box`);
  const y = numberBox.y + numberBox.height / 2;
  // The rendered line whose box spans the same y as its line number.
  const lines = editor.locator('.view-lines .view-line');
  let target: Locator | undefined;
  for (let i = 0, n = await lines.count(); i < n && !target; i++) {
    const box = await lines.nth(i).boundingBox();
    if (box && box.y <= y && y <= box.y + box.height) {
      const spans = lines.nth(i).locator('span > span');
      for (let j = 0, m = await spans.count(); j < m; j++) {
        if ((await spans.nth(j).textContent())?.trim()) {
          target = spans.nth(j);
          break;
        }
      }
    }
  }
  if (!target) throw new Error(`line ${line} shows no text to hover`);
  // Move away first so the editor sees a fresh hover, then onto the text.
  await page.mouse.move(0, 0);
  await target.hover();
  const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: /\S/ }).first();
  await hover.waitFor({ state: 'visible', timeout });
  return hover;
}
