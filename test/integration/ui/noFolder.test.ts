// UI test of a window with no folder open (issue 9, item 7). It runs last: it reloads the shared
// page as an empty window (the extension still loaded), which the other UI tests must not see.
import * as assert from 'node:assert/strict';
import { lastTurn, openGroundworkSidebar, poll, runCommand, screenshot, uiContext, waitForAnswer } from '../ui';

describe('UI: no folder open', function () {
  this.timeout(180_000);

  it('says to open a folder instead of spinning, and asking answers with that, not a quoted answer', async () => {
    const { page, openEmptyWindow } = uiContext();
    await openEmptyWindow();
    const view = await openGroundworkSidebar(page);
    await view.locator('.status-state', { hasText: 'No folder open' }).waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('.status-state .codicon-modifier-spin').count(), 0, 'no spinner');
    assert.match((await view.locator('.empty-title').textContent()) ?? '', /Open a folder/);
    assert.ok(await view.locator('.empty-state button.action-button[data-action="openFolder"]').isVisible(), 'an Open Folder button');
    assert.equal(await view.locator('.empty-state button.starter:visible').count(), 0, 'no starter questions without code to ask about');
    assert.ok(await view.locator('textarea.input').isDisabled(), 'the input is disabled');
    await screenshot(page, 'no-folder');

    // The keyboard path still reaches the command: it answers with what to do.
    await runCommand(page, 'Groundwork: Ask about Workspace');
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible' });
    await input.fill('where is the router?');
    await input.press('Enter');
    await poll('the turn', async () => (await view.locator('article.turn').count()) > 0);
    const turn = await waitForAnswer(view);
    assert.match((await turn.locator('.error-box').textContent()) ?? '', /No folder is open/);
    assert.equal(await turn.locator('.notes', { hasText: 'Quoted' }).count(), 0, 'no "Quoted from the sources" note');
    assert.equal(await lastTurn(view).locator('.error-box button.action-button[data-action="openFolder"]').count(), 1);
    await screenshot(page, 'no-folder-asked');
  });
});
