// UI tests of the Groundwork chat as a person uses it, in the VS Code web workbench (code-server)
// driven by headless Chromium. The runner (test/integration/runServer.mjs) opens the workbench with
// the extension loaded and `groundwork.provider` = extractive, then runs these in order: they share
// one page, one sidebar and one transcript. Screenshots land in test-output/vscode/ui/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { startOpenAIStandIn, type OpenAIStandIn } from '../../openaiStandIn';
import { activeEditorTitle, ask, hoverEditorLine, lastTurn, openGroundworkSidebar, parseLabel, poll, screenshot, uiContext, waitForAnswer } from '../ui';

describe('UI: Groundwork chat in the sidebar', function () {
  this.timeout(120_000);
  let view: FrameLocator;
  /** The citation the chip test opened, for the hover test. */
  let cited: { path: string; startLine: number; endLine: number } | undefined;

  it('opens from the activity bar and shows the index status', async () => {
    const { page } = uiContext();
    view = await openGroundworkSidebar(page);
    // The index of the fixture workspace is ready and keyword-only (no embedding model in tests).
    await view.locator('.status-state', { hasText: /ready/i }).waitFor({ timeout: 60_000 });
    assert.match((await view.locator('.status-counts').textContent()) ?? '', /\d+ files · \d+ chunks/);
    await screenshot(page, '01-sidebar');
  });

  it('answers a question with a quoted answer and verified citation chips', async () => {
    const { page } = uiContext();
    // Start from an empty chat: the transcript keeps the extension-host phase's turns, which asked
    // the same question (and one of them had its citations made stale by an edit on purpose).
    await view.locator('button[aria-label="New chat"]').click();
    await poll('the transcript to clear', async () => (await view.locator('article.turn').count()) === 0);
    await ask(view, 'how are passwords hashed with scrypt and a salt?');
    // The turn appears at once, before the answer is complete.
    await lastTurn(view).locator('.question-text', { hasText: 'passwords hashed' }).waitFor();
    const turn = await waitForAnswer(view);
    assert.ok(((await turn.locator('.answer').textContent()) ?? '').trim().length > 0, 'the answer has text');
    await turn.locator('.notes', { hasText: 'Quoted from the sources' }).waitFor();
    const chips = turn.locator('.answer button.chip.chip-verified');
    assert.ok((await chips.count()) > 0, 'at least one verified citation chip');
    const labels = await chips.evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
    assert.ok(
      labels.some((l) => l.startsWith('src/auth/passwords.ts:L')),
      `chips: ${labels.join(', ')}`,
    );
    assert.match((await turn.locator('.integrity').textContent()) ?? '', /citations? found/);
    await screenshot(page, '02-answer');
  });

  it('opens the cited file at the cited lines when a chip is clicked', async () => {
    const { page } = uiContext();
    const chip = lastTurn(view).locator('.answer button.chip.chip-verified[title^="src/auth/passwords.ts:L"]').first();
    cited = parseLabel((await chip.getAttribute('title')) ?? '');
    await chip.click();
    await poll('the cited file in the active editor tab', async () => (await activeEditorTitle(page)) === path.basename(cited!.path));
    // The cited range is revealed: its first line number is on screen.
    await page
      .locator('.editor-group-container.active .monaco-editor .line-numbers')
      .filter({ hasText: new RegExp(`^\\s*${cited.startLine}\\s*$`) })
      .first()
      .waitFor({ state: 'visible' });
    await screenshot(page, '03-chip-opened-file');
  });

  it('shows the Groundwork hover on a cited range in the editor', async () => {
    const { page } = uiContext();
    assert.ok(cited, 'the chip test ran');
    const hover = await hoverEditorLine(page, cited.startLine);
    await poll('the Groundwork hover', async () => /Cited by Groundwork/.test((await hover.textContent()) ?? ''));
    const text = (await hover.textContent()) ?? '';
    assert.match(text, /lines \d+–\d+/);
    assert.match(text, /passwords hashed/);
    assert.match(text, /Reveal the answer/);
    await screenshot(page, '04-editor-hover');
    await page.keyboard.press('Escape');
  });

  describe('with a model that answers with hostile markdown', () => {
    let standIn: OpenAIStandIn;
    let settingsFile: string;
    let previousSettings: string | undefined;

    before(async () => {
      standIn = await startOpenAIStandIn();
      settingsFile = path.join(uiContext().workspace, '.vscode', 'settings.json');
      previousSettings = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    });

    after(async () => {
      if (previousSettings === undefined) fs.rmSync(settingsFile, { force: true });
      else fs.writeFileSync(settingsFile, previousSettings);
      await standIn.close();
    });

    it('streams the answer and renders it inert: no HTML, no links, no images, no script', async () => {
      const { page } = uiContext();
      const tokens = [
        'Passwords are hashed with scrypt ',
        'and a random salt [1]. ',
        '<img src=x onerror="window.__groundworkPwned=1">',
        ' <script>window.__groundworkPwned=2</script> ',
        '[open a terminal](command:workbench.action.terminal.new) ',
        '[run me](javascript:window.__groundworkPwned=3) ',
        '![tracker](http://127.0.0.1:9/pixel.png) ',
        '<a href="https://example.invalid/">phish</a> ',
        'and a made-up source [7].',
      ];
      fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
      fs.writeFileSync(settingsFile, JSON.stringify({ 'groundwork.provider': 'openai', 'groundwork.baseUrl': standIn.baseURL, 'groundwork.model': 'stand-in' }, null, 2));

      // The workbench picks up the settings file through its file watcher; until then a question
      // is answered by quoting. Ask until the stand-in model receives the question, each time in a
      // new chat: with history, the model would first be asked to rewrite the question.
      // A question the fixture answers well: with weak retrieval Groundwork quotes instead of asking the model.
      const question = 'how are passwords hashed with scrypt and a salt?';
      await poll(
        'the stand-in model to receive the question',
        async () => {
          standIn.chat.splice(0, standIn.chat.length, { type: 'stream', tokens, tokenDelayMs: 400 });
          const turns = view.locator('article.turn');
          await view.locator('button[aria-label="New chat"]').click();
          await poll('the transcript to clear', async () => (await turns.count()) === 0);
          await ask(view, question);
          await poll('the new turn', async () => (await turns.count()) > 0);
          const reached = await poll(
            'the answer to reach the model or finish quoting',
            async () => {
              if (standIn.requests.some((r) => r.path === '/v1/chat/completions')) return 'model';
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

      // Streaming: part of the answer is shown while the turn is still pending.
      const pending = view.locator('article.turn.pending .answer', { hasText: 'Passwords are hashed with scrypt' });
      await pending.waitFor({ timeout: 10_000 });
      await screenshot(page, '05-streaming');

      const turn = await waitForAnswer(view);
      assert.equal(standIn.requests.filter((r) => r.path === '/v1/chat/completions').length, 1, 'one model request');
      assert.match((await turn.locator('.provider').textContent()) ?? '', /127\.0\.0\.1/);
      const answer = turn.locator('.answer');
      const text = (await answer.textContent()) ?? '';
      assert.match(text, /<img src=x onerror=/, 'raw HTML shows as text');
      assert.match(text, /<script>window.__groundworkPwned=2<\/script>/);
      assert.equal(await answer.locator('img, script, a, iframe, [href], [src], [onerror], [style]').count(), 0, 'no live elements or attributes');
      assert.equal(await answer.locator('.md-link').count(), 2, 'links render as inert text');
      assert.match((await answer.locator('.md-image').textContent()) ?? '', /\[image: tracker\]/);
      assert.ok((await answer.locator('button.chip.chip-verified[data-n="1"]').count()) >= 1, '[1] is a verified chip');
      assert.equal(await answer.locator('button.chip[data-n="7"]:not([disabled])').count(), 0, '[7] cites nothing and is not clickable');
      const pwned = await view.locator('body').evaluate(() => (window as unknown as { __groundworkPwned?: number }).__groundworkPwned);
      assert.equal(pwned, undefined, 'no script ran in the webview');

      // Clicking the "links" does nothing: no terminal opens.
      await answer.locator('.md-link', { hasText: 'open a terminal' }).click();
      await answer.locator('.md-link', { hasText: 'run me' }).click();
      await page.waitForTimeout(1_000);
      assert.equal(await page.locator('.terminal-wrapper, .xterm').count(), 0, 'a link in an answer opened a terminal');
      assert.equal(await view.locator('body').evaluate(() => (window as unknown as { __groundworkPwned?: number }).__groundworkPwned), undefined);
      await screenshot(page, '06-hostile-answer-inert');
    });
  });
});
