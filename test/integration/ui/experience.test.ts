// UI tests of issue 9 (the chat experience), after chat.test.ts in the same page and workbench:
// theme contrast measured from computed colours in the four built-in theme families, asking while
// the view is hidden, adjacent [1][2] markers, citations that follow edits, "Focus on Chat View",
// a narrow sidebar, and Ask about Selection. Screenshots land in test-output/vscode/ui/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { startOpenAIStandIn, type OpenAIStandIn, type ChatScript } from '../../openaiStandIn';
import {
  activeEditorTitle,
  ask,
  hoverEditorLine,
  openFileByName,
  openGroundworkSidebar,
  parseLabel,
  poll,
  runCommand,
  screenshot,
  uiContext,
  waitForAnswer,
  waitForGroundworkView,
} from '../ui';

/** The workspace's .vscode/settings.json, merged with `patch` (a key set to undefined is removed). */
function writeWorkspaceSettings(patch: Record<string, unknown>): void {
  const file = path.join(uiContext().workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const current = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8') || '{}') as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete current[k];
    else current[k] = v;
  }
  fs.writeFileSync(file, JSON.stringify(current, null, 2));
}

interface ContrastItem {
  what: string;
  text: string;
  ratio: number;
  fg: string;
  bg: string;
}

/**
 * Every visible element of the chat that has text of its own, with the WCAG contrast ratio of its
 * computed text colour against its effective background (the backgrounds of it and its ancestors
 * composited, alpha included). Also the computed background of each `pre code` (must be none).
 */
async function contrastReport(view: FrameLocator): Promise<{ items: ContrastItem[]; preCodeBackgrounds: string[]; themeKind: string; themeId: string }> {
  return view.locator('body').evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (c: string): Rgba | undefined => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return undefined;
      const p = m[1]!
        .split(/[\s,/]+/)
        .filter(Boolean)
        .map(Number);
      return [p[0]!, p[1]!, p[2]!, p.length > 3 ? p[3]! : 1];
    };
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3];
      return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
    };
    const backgroundOf = (el: Element): Rgba => {
      const chain: Element[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) chain.push(e);
      let bg: Rgba = [255, 255, 255, 1];
      for (const e of chain.reverse()) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) bg = over(c, bg);
      }
      return bg;
    };
    const lum = (c: Rgba) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a: Rgba, b: Rgba) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
      return (hi + 0.05) / (lo + 0.05);
    };
    const describe = (el: Element) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    const items: ContrastItem[] = [];
    for (const el of Array.from(document.querySelectorAll('#root *'))) {
      if (!(el instanceof HTMLElement) || el.closest('.visually-hidden, [hidden], details:not([open]) > :not(summary)')) continue;
      if (!el.getClientRects().length) continue;
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim());
      if (!own) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden') continue;
      const bg = backgroundOf(el);
      const fg = over(parse(cs.color) ?? [0, 0, 0, 1], bg);
      items.push({
        what: describe(el),
        text: (el.textContent ?? '').trim().slice(0, 40),
        ratio: ratio(fg, bg),
        fg: cs.color,
        bg: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`,
      });
    }
    return {
      items,
      preCodeBackgrounds: Array.from(document.querySelectorAll('.code-block pre code')).map((e) => getComputedStyle(e).backgroundColor),
      themeKind: document.body.dataset.vscodeThemeKind ?? '',
      themeId: document.body.dataset.vscodeThemeId ?? '',
    };
  });
}

/** Configures the stand-in model and asks `question` in a new chat until the model receives it (the settings file is picked up asynchronously). */
async function askStandIn(view: FrameLocator, standIn: OpenAIStandIn, question: string, script: () => ChatScript): Promise<void> {
  writeWorkspaceSettings({ 'groundwork.provider': 'openai', 'groundwork.baseUrl': standIn.baseURL, 'groundwork.model': 'stand-in' });
  const before = standIn.requests.filter((r) => r.path === '/v1/chat/completions').length;
  await poll(
    'the stand-in model to receive the question',
    async () => {
      standIn.chat.splice(0, standIn.chat.length, script());
      const turns = view.locator('article.turn');
      await newChat(view);
      await poll('the transcript to clear', async () => (await turns.count()) === 0);
      await ask(view, question);
      await poll('the new turn', async () => (await turns.count()) > 0);
      const reached = await poll(
        'the answer to reach the model or finish quoting',
        async () => {
          if (standIn.requests.filter((r) => r.path === '/v1/chat/completions').length > before) return 'model';
          const cls = await turns.first().getAttribute('class');
          return cls?.split(/\s+/).includes('pending') === false ? 'quoted' : undefined;
        },
        60_000,
        100,
      );
      return reached === 'model';
    },
    30_000,
    500,
  );
}

/** New chat, and wait until the transcript is empty (so "the last turn" is the next one asked). */
async function newChat(view: FrameLocator): Promise<void> {
  await view.locator('button[aria-label="New chat"]').click();
  await poll('the transcript to clear', async () => (await view.locator('article.turn').count()) === 0);
}

async function sidebarWidth(page: Page): Promise<number> {
  return (await page.locator('.part.sidebar').boundingBox())?.width ?? 0;
}

/** Drags the sash on the sidebar's right edge so the sidebar is `width` px wide (VS Code clamps at 170). */
async function dragSidebarTo(page: Page, width: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  assert.ok(box, 'the sidebar is visible');
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width - 1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 8 });
  await page.mouse.up();
}

describe('UI: the chat experience (issue 9)', function () {
  this.timeout(180_000);
  let view: FrameLocator;

  before(async () => {
    view = await openGroundworkSidebar(uiContext().page);
    await newChat(view);
  });

  after(() => {
    writeWorkspaceSettings({ 'workbench.colorTheme': undefined, 'groundwork.provider': undefined, 'groundwork.baseUrl': undefined, 'groundwork.model': undefined });
  });

  it('offers starter questions on an empty chat and answers one', async () => {
    const starters = view.locator('.empty-state button.starter');
    assert.ok((await starters.count()) >= 3, 'starter questions are shown');
    await starters.first().click();
    const turn = await waitForAnswer(view);
    assert.match((await turn.locator('.question-text').textContent()) ?? '', /main parts of this codebase/);
    await newChat(view);
  });

  const THEMES = [
    { id: 'Default Dark Modern', kind: 'vscode-dark', file: 'theme-dark-modern' },
    { id: 'Default Light Modern', kind: 'vscode-light', file: 'theme-light-modern' },
    { id: 'Default High Contrast', kind: 'vscode-high-contrast', file: 'theme-high-contrast' },
    { id: 'Default High Contrast Light', kind: 'vscode-high-contrast-light', file: 'theme-high-contrast-light' },
  ];

  it('asks a question whose answer has inline code, a code block, chips and references', async () => {
    await ask(view, 'how are passwords hashed with scrypt and a salt?');
    const turn = await waitForAnswer(view);
    assert.ok((await turn.locator('.answer :not(pre) > code').count()) > 0, 'inline code');
    assert.ok((await turn.locator('.answer .code-block pre code').count()) > 0, 'a code block');
    assert.ok((await turn.locator('.answer .code-block pre code [class^="hljs-"]').count()) > 0, 'the code block is highlighted');
    assert.ok((await turn.locator('.answer button.chip').count()) > 0, 'citation chips');
    assert.match((await turn.locator('.references summary').textContent()) ?? '', /^Used \d+ references?$/);
    // One message per state: the no-model note once, outside the answer, and not in the answer text.
    assert.equal(await turn.locator('.notes .note', { hasText: 'Quoted from the sources' }).count(), 1);
    assert.doesNotMatch((await turn.locator('.answer').textContent()) ?? '', /No language model is configured/);
    assert.match((await turn.locator('.context summary').textContent()) ?? '', /sources? retrieved/);
  });

  for (const theme of THEMES) {
    it(`keeps every text readable in ${theme.id.replace('Default ', '')} (contrast ≥ 4.5 by computed colours)`, async () => {
      const { page } = uiContext();
      writeWorkspaceSettings({ 'workbench.colorTheme': theme.id });
      const report = await poll(
        `the webview to switch to ${theme.id}`,
        async () => {
          const r = await contrastReport(view);
          // The kinds differ from each theme to the next in this order (Dark Modern is the default).
          return r.themeKind === theme.kind ? r : undefined;
        },
        30_000,
        300,
      );
      // The page re-applies the theme's variables after the kind switches; measure once stable.
      await page.waitForTimeout(300);
      const stable = await contrastReport(view);
      assert.ok(stable.items.length > 20, `measured ${stable.items.length} text elements`);
      assert.ok(report.preCodeBackgrounds.length > 0);
      for (const bg of stable.preCodeBackgrounds) assert.match(bg, /^rgba\(0, 0, 0, 0\)$|^transparent$/, 'code lines have no background stripe');
      const low = stable.items.filter((i) => i.ratio < 4.5);
      assert.deepEqual(
        low.map((i) => `${i.what} "${i.text}" ${i.fg} on ${i.bg} = ${i.ratio.toFixed(2)}`),
        [],
        'text below WCAG AA contrast',
      );
      await screenshot(page, theme.file);
    });
  }

  it('keeps chips and references whole in a 170 px sidebar', async () => {
    const { page } = uiContext();
    writeWorkspaceSettings({ 'workbench.colorTheme': undefined });
    const before = await sidebarWidth(page);
    await dragSidebarTo(page, 120);
    await poll('the sidebar to narrow', async () => (await sidebarWidth(page)) <= 175);
    const overflow = await view.locator('body').evaluate(() => {
      const width = document.documentElement.clientWidth;
      const bad: string[] = [];
      for (const el of Array.from(document.querySelectorAll<HTMLElement>('button.chip, .ref, .question, .turn-footer, .notes, .header'))) {
        const r = el.getBoundingClientRect();
        if (el.scrollWidth > el.clientWidth + 1 || r.right > width + 1)
          bad.push(`${el.className}: scroll ${el.scrollWidth} > ${el.clientWidth} or right ${Math.round(r.right)} > ${width}`);
      }
      const scroller = document.querySelector<HTMLElement>('.scroller');
      if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) bad.push(`the transcript scrolls sideways (${scroller.scrollWidth} > ${scroller.clientWidth})`);
      return { width, bad, chips: document.querySelectorAll('button.chip').length };
    });
    assert.ok(overflow.chips > 0, 'there are chips to check');
    assert.ok(overflow.width <= 175, `webview width ${overflow.width}`);
    assert.deepEqual(overflow.bad, []);
    await screenshot(page, 'narrow-170px');
    await dragSidebarTo(page, Math.max(before, 300));
  });

  it('focuses the question input on "Focus on Chat View", so typing is not lost', async () => {
    const { page } = uiContext();
    // Focus elsewhere first (the editor area / workbench).
    await page.locator('.part.editor').click({ position: { x: 200, y: 200 } });
    await runCommand(page, 'Groundwork: Focus on Chat View');
    await poll('the input to have focus', async () => view.locator('textarea.input').evaluate((el) => document.hasFocus() && document.activeElement === el));
    await page.keyboard.type('typed right away');
    assert.equal(await view.locator('textarea.input').inputValue(), 'typed right away');
    await view.locator('textarea.input').fill('');
  });

  it('moves a chip with its lines when lines are inserted above, and marks it stale when its lines are edited', async () => {
    const { page } = uiContext();
    writeWorkspaceSettings({ 'groundwork.provider': undefined, 'groundwork.baseUrl': undefined, 'groundwork.model': undefined });
    await newChat(view);
    await ask(view, 'how are passwords hashed with scrypt and a salt?');
    const turn = await waitForAnswer(view);
    const ref = turn.locator('.references button.ref-open[title^="src/auth/passwords.ts:L"]').first();
    const cited = parseLabel(((await ref.getAttribute('title')) ?? '').split(' — ')[0]!);
    await ref.click();
    await poll('passwords.ts in the editor', async () => (await activeEditorTitle(page)) === 'passwords.ts');
    // Five new lines at the top of the file, then save.
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+Home');
    for (let i = 0; i < 5; i++) await page.keyboard.press('Enter');
    await page.keyboard.press('Control+s');
    const moved = `src/auth/passwords.ts:L${cited.startLine + 5}-L${cited.endLine + 5}`;
    const movedRef = turn.locator(`.references button.ref-open[title^="${moved} "]`);
    await movedRef.waitFor({ timeout: 15_000 });
    assert.equal(await movedRef.getAttribute('data-status'), 'verified', 'moved, not stale');
    // The preview shows the moved lines.
    await movedRef.hover();
    const preview = view.locator('#citation-preview:not([hidden])');
    await preview.waitFor({ timeout: 10_000 });
    assert.equal(((await preview.locator('.preview-line .ln').first().textContent()) ?? '').trim(), String(cited.startLine + 5));
    await screenshot(page, 'edit-moved-citation');
    // Now edit a cited line itself: the citation goes stale, everywhere in the turn.
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+g');
    await page.keyboard.type(String(cited.startLine + 5));
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.type(' // edited');
    await turn.locator('.answer button.chip.chip-stale').first().waitFor({ timeout: 15_000 });
    assert.match((await turn.locator('.references .ref-stale .ref-why').first().textContent()) ?? '', /edited after this answer/);
    await turn.locator('.notes', { hasText: 'marked stale' }).waitFor();
    assert.match((await turn.locator('.integrity').textContent()) ?? '', /citations? found · 1 stale/, 'the footer counts the citations as they are now');
    await screenshot(page, 'edit-stale-citation');
    // Undo everything and save, so later tests see the original file.
    for (let i = 0; i < 12; i++) await page.keyboard.press('Control+z');
    await page.keyboard.press('Control+s');
  });

  it('"Reveal the answer" in an editor hover opens the hidden view scrolled to that turn', async () => {
    const { page } = uiContext();
    await newChat(view);
    await ask(view, 'how are passwords hashed with scrypt and a salt?');
    const first = await waitForAnswer(view);
    const turnId = (await first.getAttribute('data-turn-id')) ?? '';
    // By id: `first` is "the last turn", which moves on as more questions are asked.
    const ref = view.locator(`article.turn[data-turn-id="${turnId}"] .references button.ref-open[title^="src/auth/passwords.ts:L"]`).first();
    const cited = parseLabel(((await ref.getAttribute('title')) ?? '').split(' — ')[0]!);
    // Later turns push the first one out of sight.
    for (const q of ['how does the router answer 404 when no route matches?', 'how does the token bucket rate limiter refill?', 'how are todos persisted to disk?']) {
      const before = await view.locator('article.turn').count();
      await ask(view, q);
      await poll('the next answer', async () => (await view.locator('article.turn').count()) > before && (await view.locator('article.turn.pending').count()) === 0);
    }
    await ref.click();
    await poll('passwords.ts in the editor', async () => (await activeEditorTitle(page)) === 'passwords.ts');
    await poll('the editor to have focus', async () => page.evaluate(() => Boolean(document.activeElement?.closest('.monaco-editor'))));
    await runCommand(page, 'View: Show Explorer');
    await page.locator('.part.sidebar .composite.title', { hasText: /explorer/i }).waitFor();
    const hover = await hoverEditorLine(page, cited.startLine);
    await hover.getByText('Reveal the answer').first().click();
    view = await waitForGroundworkView(page);
    const target = view.locator(`article.turn.flash[data-turn-id="${turnId}"]`);
    await target.waitFor({ timeout: 20_000 });
    const inView = await target.evaluate((el) => {
      const scroller = el.closest('.scroller')!;
      const a = el.getBoundingClientRect();
      const b = scroller.getBoundingClientRect();
      return a.top >= b.top - 1 && a.top < b.bottom;
    });
    assert.ok(inView, 'the revealed turn is scrolled into view');
    await screenshot(page, 'reveal-from-hover');
  });

  it('opens the model picker from the header, which says what answers now', async () => {
    const { page } = uiContext();
    await view.locator('button.status-provider').click();
    const quick = page.locator('.quick-input-widget');
    await quick.locator('.monaco-list-row', { hasText: 'No model: quote the code' }).waitFor({ timeout: 10_000 });
    assert.match((await quick.locator('input.input').getAttribute('placeholder')) ?? '', /^Now: quoted answers/);
    await screenshot(page, 'model-picker');
    await page.keyboard.press('Escape');
  });

  it('keeps past conversations: New chat puts the current one in the history list, which reopens it', async () => {
    const { page } = uiContext();
    await newChat(view);
    await ask(view, 'where is the router defined, for the history list?');
    await waitForAnswer(view);
    await newChat(view);
    await poll('the transcript to clear', async () => (await view.locator('article.turn').count()) === 0);
    await view.locator('button[aria-label="Past conversations"]').click();
    const item = view.locator('.history button.history-item', { hasText: 'for the history list' }).first();
    await item.waitFor({ timeout: 10_000 });
    assert.match((await item.textContent()) ?? '', /1 question/);
    await screenshot(page, 'past-conversations');
    await item.click();
    await view.locator('article.turn .question-text', { hasText: 'for the history list' }).waitFor({ timeout: 10_000 });
    assert.ok(await view.locator('.history').isHidden(), 'the list closes on opening a conversation');
  });

  describe('with a model (the OpenAI protocol stand-in)', () => {
    let standIn: OpenAIStandIn;
    before(async () => {
      standIn = await startOpenAIStandIn();
    });
    after(async () => {
      writeWorkspaceSettings({ 'groundwork.provider': undefined, 'groundwork.baseUrl': undefined, 'groundwork.model': undefined });
      await standIn.close();
    });

    it('renders adjacent markers [1][2] as a chip each, each one checked and counted', async () => {
      const { page } = uiContext();
      await askStandIn(view, standIn, 'how are passwords hashed with scrypt and a salt?', () => ({
        type: 'stream',
        tokens: ['Passwords are hashed with `scrypt` ', 'and a random salt [1][2]. ', 'Sessions use `quantumEntangle` [1].'],
      }));
      const turn = await waitForAnswer(view);
      const answer = turn.locator('.answer');
      await poll('two chips for [1][2]', async () => (await answer.locator('button.chip[data-n="2"]').count()) === 1);
      assert.equal(await answer.locator('button.chip[data-n="1"]').count(), 2);
      assert.doesNotMatch((await answer.textContent()) ?? '', /\[2\]/, 'no marker left as literal text');
      assert.equal(await answer.locator('button.chip.chip-verified[data-n="1"]').count(), 2, '[1] resolves');
      // [2] is checked like any marker: found when retrieval gave a second source, else invalid and saying why.
      const second = answer.locator('button.chip[data-n="2"]');
      const secondStatus = await second.getAttribute('data-status');
      if (secondStatus === 'invalid') assert.match((await second.getAttribute('title')) ?? '', /there is no source \[2\]/);
      else assert.equal(secondStatus, 'verified');
      // `quantumEntangle` is in no source: that citation resolves but is flagged as not supporting its claim.
      const last = answer.locator('button.chip').nth(2);
      assert.equal(await last.getAttribute('data-n'), '1');
      assert.match((await last.getAttribute('class')) ?? '', /\bchip-weak\b/);
      assert.match((await last.getAttribute('title')) ?? '', /may not support the claim: the cited lines do not mention “quantumEntangle”/);
      // The first [1] backs "hashed with `scrypt`", which its source contains.
      assert.doesNotMatch((await answer.locator('button.chip').first().getAttribute('class')) ?? '', /\bchip-weak\b/);
      assert.match((await turn.locator('.integrity').textContent()) ?? '', /^[23]\/3 citations found · [12] may not support (its|their) claim$/);
      await screenshot(page, 'adjacent-markers');
    });

    it('shows the pending turn, its streaming text and Stop when asked while the view is hidden', async () => {
      const { page } = uiContext();
      // Configure the model while the view is visible, then hide the view by opening the Explorer.
      writeWorkspaceSettings({ 'groundwork.provider': 'openai', 'groundwork.baseUrl': standIn.baseURL, 'groundwork.model': 'stand-in' });
      const tokens = ['First ', 'part ', 'of ', 'a ', 'slow ', 'answer ', 'about ', 'scrypt ', 'and ', 'salts [1].'];
      standIn.chat.splice(0, standIn.chat.length, { type: 'stream', tokens, tokenDelayMs: 700 }, { type: 'stream', tokens, tokenDelayMs: 700 });
      await runCommand(page, 'View: Show Explorer');
      await page.locator('.part.sidebar .composite.title', { hasText: /explorer/i }).waitFor();
      await runCommand(page, 'Groundwork: Ask about Workspace');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible' });
      await input.fill('hidden view: how are passwords hashed with scrypt and a salt?');
      await input.press('Enter');
      // The view opens on the new turn while it streams: pending, partial text, Stop.
      view = await waitForGroundworkView(page);
      const pending = view.locator('article.turn.pending', { hasText: 'hidden view' });
      await pending.waitFor({ timeout: 20_000 });
      await pending.locator('.answer', { hasText: 'First part' }).waitFor({ timeout: 20_000 });
      assert.ok(await view.locator('button.stop').isVisible(), 'Stop is offered while it streams');
      await screenshot(page, 'hidden-view-streaming');
      const done = await waitForAnswer(view);
      assert.match((await done.locator('.answer').textContent()) ?? '', /salts/);
    });
  });

  it('asks about a selection with the question in the bubble and the selection as a file:Lx-Ly attachment', async () => {
    const { page } = uiContext();
    await newChat(view);
    await openFileByName(page, 'rateLimit.ts');
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+Home');
    for (let i = 0; i < 8; i++) await page.keyboard.press('Shift+ArrowDown');
    await runCommand(page, 'Groundwork: Ask about Selection');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible' });
    await input.fill('what does this limit?');
    await input.press('Enter');
    view = await waitForGroundworkView(page);
    const turn = await waitForAnswer(view);
    assert.equal(((await turn.locator('.question-text').textContent()) ?? '').trim(), 'what does this limit?');
    assert.match((await turn.locator('.question .attachment').textContent()) ?? '', /^src\/http\/rateLimit\.ts:L1-L8$/);
    assert.ok((await turn.locator('.references button.ref-open[title^="src/http/rateLimit.ts:"]').count()) > 0, 'the selection’s file is cited');
    await screenshot(page, 'ask-selection');
    // The same from the chat input: #selection attaches the editor's selection.
    await ask(view, '#selection how fast does it refill?');
    await poll('the #selection turn', async () => ((await view.locator('article.turn').last().locator('.question-text').textContent()) ?? '').includes('refill'));
    const second = await waitForAnswer(view);
    assert.equal(((await second.locator('.question-text').textContent()) ?? '').trim(), 'how fast does it refill?');
    assert.match((await second.locator('.question .attachment').textContent()) ?? '', /^src\/http\/rateLimit\.ts:L1-L8$/);
  });
});
