// Groundwork inside a real VS Code extension host: activation, the index and its commands, a saved
// edit becoming searchable, the citation hover, settings defaults and secret handling.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GroundworkApi } from '../../../src/vscode/extension';
import { SETTINGS_DEFAULTS } from '../../../src/vscode/settingsDefaults';
import { repoRoot } from '../../repoRoot';

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { publisher: string; name: string };
const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  return folder.uri.fsPath;
}

async function api(): Promise<GroundworkApi> {
  const ext = vscode.extensions.getExtension<GroundworkApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  const exported = await ext.activate();
  await exported.index.whenReady();
  return exported;
}

describe('Groundwork extension', function () {
  this.timeout(120_000);

  before(async () => {
    // Quoted answers: no model is reachable here, and the test must not depend on one.
    await vscode.workspace.getConfiguration('groundwork').update('provider', 'extractive', vscode.ConfigurationTarget.Workspace);
  });

  it('activates, indexes the workspace in its worker, and reports status', async () => {
    const gw = await api();
    assert.ok(gw.index.isReady);
    const st = await gw.index.status();
    assert.ok(st, 'status is available');
    assert.ok(st.files >= 9, `indexed ${st.files} files`);
    assert.ok(st.chunks >= st.files);
    assert.equal(st.vectors.mode, 'off', 'no embedding model in the test host');
    assert.ok(st.vectorsReason, 'the reason vectors are off is reported');
    assert.ok(st.indexDir.includes('index') && !st.indexDir.startsWith(workspaceDir()), 'index lives outside the workspace');
  });

  it('answers a question with verified citations (quoted answer, no model)', async () => {
    const gw = await api();
    const record = await gw.answers.ask('how are passwords hashed with scrypt and a salt?', { useHistory: false });
    assert.equal(record.view.flags.extractive, true);
    assert.ok(record.view.citations.length > 0, record.view.answer);
    assert.ok(
      record.view.citations.every((c) => c.status === 'verified'),
      JSON.stringify(record.view.citations),
    );
    assert.ok(record.sources.some((s) => s.path === 'src/auth/passwords.ts'));
  });

  it('says how a search was ranked, and takes embedding priorities, typing and a new pace from the host', async () => {
    const gw = await api();
    const client = gw.index.requireClient();
    const r = await client.retrieve('token bucket rate limiting per client', 5);
    assert.equal(r.vectors.mode, 'off', 'no embedding model in the test host: keyword search by configuration');
    assert.equal(r.vectors.hits, r.hits.length);
    // The worker accepts the editor-driven calls (with vectors off they reorder nothing).
    await client.prioritize(['src/http/rateLimit.ts'], 'open');
    await client.activity();
    await client.setThrottle({ cpuShare: 0.25, quietMs: 0 });
    await assert.rejects(client.setThrottle({ cpuShare: 0 }), /cpuShare/);
    const record = await gw.answers.ask('how does the token bucket refill?', { useHistory: false });
    assert.equal(record.view.searchNote, undefined, 'no "vectors are being computed" note when vectors are off');
  });

  it('makes a saved edit searchable', async () => {
    const gw = await api();
    const file = vscode.Uri.file(path.join(workspaceDir(), 'src', 'http', 'rateLimit.ts'));
    const doc = await vscode.workspace.openTextDocument(file);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(file, new vscode.Position(doc.lineCount, 0), '\nexport function quotaForEnterprisePlan(seats: number) { return seats * 250; }\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await doc.save());
    await gw.index.settle();
    const { hits } = await gw.index.requireClient().retrieve('quotaForEnterprisePlan', 5);
    assert.equal(hits[0]?.path, 'src/http/rateLimit.ts');
    assert.ok(hits[0].text.includes('quotaForEnterprisePlan'));
  });

  it('shows the citation hover on a cited range, with a link that reveals the answer', async () => {
    const gw = await api();
    const record = await gw.answers.ask('how does the router answer 404 when no route matches?', { useHistory: false });
    const cited = gw.answers.citedRanges.find((c) => c.turnId === record.view.id);
    assert.ok(cited, `the answer cited something: ${record.view.answer.slice(0, 200)}`);
    const uri = vscode.Uri.file(path.join(workspaceDir(), ...cited.path.split('/')));
    await vscode.window.showTextDocument(uri);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(cited.startLine - 1, 1));
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
      .join('\n');
    assert.match(text, /Cited by Groundwork/);
    assert.match(text, /router answer 404/);
    assert.match(text, /command:groundwork\.revealAnswer\?/);
  });

  it('moves cited ranges with inserted lines and marks them stale when their lines are edited', async () => {
    const gw = await api();
    const record = await gw.answers.ask('how are passwords hashed with scrypt and a salt?', { useHistory: false });
    const i = record.citations.findIndex((c) => c.path === 'src/auth/passwords.ts' && c.status === 'verified');
    assert.ok(i >= 0, JSON.stringify(record.view.citations));
    const before = { ...record.citations[i]! };
    const uri = vscode.Uri.file(path.join(workspaceDir(), 'src', 'auth', 'passwords.ts'));
    const doc = await vscode.workspace.openTextDocument(uri);
    const insert = new vscode.WorkspaceEdit();
    insert.insert(uri, new vscode.Position(0, 0), '\n\n\n\n\n');
    assert.ok(await vscode.workspace.applyEdit(insert));
    const moved = gw.answers.turn(record.view.id)!;
    assert.equal(moved.citations[i]!.startLine, before.startLine! + 5);
    assert.equal(moved.citations[i]!.status, 'verified');
    assert.equal(moved.view.citations[i]!.label, `src/auth/passwords.ts:L${before.startLine! + 5}-L${before.endLine! + 5}`);
    const cited = gw.answers.citedRanges.find((c) => c.turnId === record.view.id && c.path === 'src/auth/passwords.ts');
    assert.equal(cited?.startLine, before.startLine! + 5, 'the hover range moved too');
    const edit = new vscode.WorkspaceEdit();
    edit.insert(uri, new vscode.Position(before.startLine! + 5 - 1, 0), '// touched\n// ');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(gw.answers.turn(record.view.id)!.view.citations[i]!.status, 'stale');
    assert.match(gw.answers.turn(record.view.id)!.view.citations[i]!.reason ?? '', /edited after this answer/);
    // Put the file back as it was on disk.
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('says in the header why a configured endpoint is not used', async () => {
    const gw = await api();
    const c = vscode.workspace.getConfiguration('groundwork');
    await c.update('provider', 'openai', vscode.ConfigurationTarget.Workspace);
    await c.update('baseUrl', 'http://127.0.0.1:9/v1', vscode.ConfigurationTarget.Workspace);
    try {
      let st = await gw.chat.status();
      // The provider choice is recomputed on the configuration event; wait for it, boundedly.
      for (let i = 0; i < 50 && !st.providerProblem; i++) {
        await new Promise((r) => setTimeout(r, 100));
        st = await gw.chat.status();
      }
      assert.match(st.providerProblem ?? '', /A model is needed for http:\/\/127\.0\.0\.1:9\/v1/);
      assert.match(st.provider, /needs groundwork\.model/);
    } finally {
      await c.update('baseUrl', undefined, vscode.ConfigurationTarget.Workspace);
      await c.update('provider', 'extractive', vscode.ConfigurationTarget.Workspace);
    }
  });

  it('declares settings whose defaults equal the code defaults', () => {
    const c = vscode.workspace.getConfiguration('groundwork');
    for (const [key, value] of Object.entries(SETTINGS_DEFAULTS)) {
      assert.deepEqual(c.inspect(key)?.defaultValue, value, `groundwork.${key}`);
    }
  });

  it('keeps the API key in secret storage, never in settings', async () => {
    const secret = 'sk-groundwork-integration-test-0123456789';
    await vscode.commands.executeCommand('groundwork.setApiKey', secret);
    const settingsFiles = [path.join(workspaceDir(), '.vscode', 'settings.json')];
    if (process.env.GROUNDWORK_TEST_USER_DATA) settingsFiles.push(path.join(process.env.GROUNDWORK_TEST_USER_DATA, 'User', 'settings.json'));
    for (const f of settingsFiles) {
      const content = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
      assert.ok(!content.includes(secret), `${f} contains the key`);
    }
    const all = JSON.stringify(vscode.workspace.getConfiguration('groundwork'));
    assert.ok(!all.includes(secret));
    await vscode.commands.executeCommand('groundwork.setApiKey', '');
  });

  it('groundwork.teamIndex: an invalid setting is named; an unreachable server falls back to the local index and says so; the password stays in secret storage', async () => {
    const gw = await api();
    const config = vscode.workspace.getConfiguration('groundwork');
    try {
      await config.update('teamIndex', { url: 'postgres://reader:hunter2@127.0.0.1/gw', repository: '' }, vscode.ConfigurationTarget.Workspace);
      await gw.team.sync(true);
      const invalid = gw.team.configuration;
      assert.equal(invalid.kind, 'invalid');
      assert.match(invalid.kind === 'invalid' ? invalid.message : '', /groundwork\.teamIndex.*contains a password/);
      // A port with nothing listening (bound, then released): a real connection attempt that fails.
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      await config.update('teamIndex', { url: `postgres://reader@127.0.0.1:${port}/gw?sslmode=disable`, repository: 'acme/app' }, vscode.ConfigurationTarget.Workspace);
      const pw = 'team-index-integration-password-42';
      await vscode.commands.executeCommand('groundwork.setTeamIndexPassword', pw);
      await gw.team.sync(true);
      const st = gw.team.state;
      assert.equal(st.state, 'unavailable', JSON.stringify(st));
      assert.match(st.state === 'unavailable' ? st.message : '', /nothing is listening there/);
      assert.match(gw.index.stateLine(), /team index unavailable/);
      // Questions are still answered, from the local index.
      const record = await gw.answers.ask('how are passwords hashed with scrypt and a salt?', { useHistory: false });
      assert.ok(record.sources.some((s) => s.path === 'src/auth/passwords.ts'));
      const settingsFile = path.join(workspaceDir(), '.vscode', 'settings.json');
      assert.ok(!fs.readFileSync(settingsFile, 'utf8').includes(pw), 'the password is not in the settings');
      await vscode.commands.executeCommand('groundwork.clearTeamIndexPassword');
    } finally {
      await config.update('teamIndex', undefined, vscode.ConfigurationTarget.Workspace);
      await gw.team.sync(true);
    }
    assert.equal(gw.team.configuration.kind, 'off');
    assert.equal(gw.team.state.state, 'off');
  });

  it('runs the status, chunks and evaluation commands', async () => {
    const gw = await api();
    await vscode.commands.executeCommand('groundwork.showStatus');
    const status = vscode.window.activeTextEditor?.document;
    assert.match(status?.getText() ?? '', /# Groundwork index status/);
    // A read-only report, not an Untitled document: closing it never asks "Save changes?".
    assert.equal(status?.uri.scheme, 'groundwork-report');
    assert.equal(status?.isUntitled, false);
    assert.equal(status?.isDirty, false);
    assert.equal(status?.languageId, 'markdown');
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(workspaceDir(), 'src', 'auth', 'session.ts')));
    await vscode.commands.executeCommand('groundwork.showChunks');
    const queries = path.join(gw.index.indexDir, '..', 'eval-queries.jsonl');
    fs.writeFileSync(queries, `${JSON.stringify({ id: 'q1', query: 'token bucket rate limit', expected: ['src/http/rateLimit.ts'] })}\n`);
    const metrics = await vscode.commands.executeCommand<{ mrrAt10: number }>('groundwork.runEvaluation', vscode.Uri.file(queries));
    assert.equal(metrics?.mrrAt10, 1);
    const report = vscode.window.activeTextEditor?.document;
    assert.equal(report?.uri.scheme, 'groundwork-report');
    assert.equal(report?.isDirty, false);
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.isUntitled && d.isDirty), 'no dirty Untitled documents were opened');
  });
});
