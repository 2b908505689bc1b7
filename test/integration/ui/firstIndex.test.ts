// UI test of a first index (issue 10, "useful early"): a workspace the extension has never indexed,
// large enough that its first keyword index takes a while, is opened with the user about to work
// on one file. The file opened while the index runs is indexed next, a question about it is
// answered before the index ends, and the answer says how much of the workspace it could see.
// It reloads the shared page on its own folder, so it runs after the tests of the fixture workspace
// (files load in name order) and before noFolder.test.ts, which runs last.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ask, openFileByName, openGroundworkSidebar, poll, screenshot, uiContext, waitForAnswer } from '../ui';

/** Real code in bulk: .js files of this project's node_modules (small ones, path order), copied. */
function copyBulk(to: string, max: number): number {
  // out/integration/ui/<this bundle> → the repository's node_modules.
  const from = path.resolve(__dirname, '..', '..', '..', 'node_modules');
  assert.ok(fs.existsSync(from), `no node_modules at ${from}`);
  let n = 0;
  const walk = (dir: string): void => {
    if (n >= max) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (n >= max) return;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.js') && !e.name.endsWith('.min.js')) {
        const size = fs.statSync(p).size;
        if (size < 200 || size > 40_000) continue;
        const dest = path.join(to, path.relative(from, p));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.copyFileSync(p, dest);
        n++;
      }
    }
  };
  walk(from);
  return n;
}

function writeSettings(folder: string, settings: Record<string, unknown>): void {
  fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(folder, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
}

describe('UI: a first index', function () {
  this.timeout(300_000);

  it('indexes the file opened during the first index next and answers about it before the index ends, saying so', async () => {
    const { page, openFolderWindow, tmpDir, workspace } = uiContext();
    const folder = path.join(tmpDir, 'first-index-workspace');
    fs.rmSync(folder, { recursive: true, force: true });
    // `bulk/` sorts before `focus/`: in path order the focus file would be indexed last.
    const copied = copyBulk(path.join(folder, 'bulk'), 6000);
    assert.ok(copied >= 3000, `only ${copied} files to index`);
    fs.mkdirSync(path.join(folder, 'focus'), { recursive: true });
    fs.copyFileSync(path.join(workspace, 'src', 'http', 'rateLimit.ts'), path.join(folder, 'focus', 'rateLimit.ts'));
    writeSettings(folder, {});

    await openFolderWindow(folder);
    const view = await openGroundworkSidebar(page);
    // The first index starts with the window; the user opens the file they work on meanwhile.
    await view.locator('.status-state', { hasText: /Scanning|Indexing/ }).waitFor({ timeout: 60_000 });
    await openFileByName(page, 'rateLimit.ts');

    await ask(view, 'how fast does the rate limiter refill its tokens?');
    const turn = await waitForAnswer(view, 120_000);
    assert.ok((await turn.locator('.references button.ref-open[title^="focus/rateLimit.ts:"]').count()) > 0, 'the open file answers');
    const note = turn.locator('.notes .note', { hasText: 'still being indexed' });
    assert.equal(await note.count(), 1, 'the answer says the workspace is still being indexed');
    const text = (await note.textContent()) ?? '';
    const m = /\(([\d,]+) of ([\d,]+) files so far/.exec(text);
    assert.ok(m, `the note counts the files: ${text}`);
    const [done, total] = [Number(m[1]!.replace(/,/g, '')), Number(m[2]!.replace(/,/g, ''))];
    assert.ok(done < total, `answered before the index ended (${done} of ${total})`);
    assert.match((await view.locator('.status-state').textContent()) ?? '', /Indexing \d+\/\d+ files/, 'the header still shows the first index');
    // The header counts what is searchable so far, not the 0 of an index that has not finished once.
    const counts = await poll('live counts in the header', async () => {
      const m2 = /([\d,]+) files? · ([\d,]+) chunks?/.exec((await view.locator('.status-counts').textContent()) ?? '');
      return m2 && Number(m2[1]!.replace(/,/g, '')) > 0 ? m2 : undefined;
    });
    assert.ok(Number(counts[2]!.replace(/,/g, '')) > 0, `chunks counted: ${counts[0]}`);
    await screenshot(page, 'first-index-dark');
    for (const [theme, file] of [
      ['Default Light Modern', 'first-index-light'],
      ['Default High Contrast', 'first-index-high-contrast'],
    ] as const) {
      writeSettings(folder, { 'workbench.colorTheme': theme });
      const kind = theme.includes('High') ? 'hc-black' : 'vs';
      await poll(`the ${theme} theme`, async () => ((await page.locator('.monaco-workbench').first().getAttribute('class')) ?? '').split(/\s+/).includes(kind));
      await page.waitForTimeout(500);
      await screenshot(page, file);
    }

    // Once the first index ends, a question gets no such note.
    await view.locator('.status-state', { hasText: /^Ready/ }).waitFor({ timeout: 240_000 });
    await ask(view, 'how fast does the rate limiter refill its tokens?');
    await poll('the second turn', async () => (await view.locator('article.turn').count()) >= 2);
    const after = await waitForAnswer(view, 60_000);
    assert.equal(await after.locator('.notes .note', { hasText: 'still being indexed' }).count(), 0, 'no note once the index is complete');
  });
});
