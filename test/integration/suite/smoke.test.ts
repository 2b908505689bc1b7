// Smoke test in a real VS Code: the API is there, the fixture workspace is open, and the extension
// under development is present, activates and registers its commands.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { repoRoot } from '../../repoRoot';

interface Manifest {
  publisher: string;
  name: string;
  engines: { vscode: string };
  contributes?: { commands?: Array<{ command: string }> };
}

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as Manifest;
const extensionId = `${manifest.publisher}.${manifest.name}`;

describe('smoke: VS Code host', () => {
  it('exposes the VS Code API of the version the extension targets', () => {
    assert.equal(typeof vscode.version, 'string');
    const [major, minor] = vscode.version.split('.').map(Number);
    const wanted = /(\d+)\.(\d+)/.exec(manifest.engines.vscode);
    assert.ok(wanted, `engines.vscode ${manifest.engines.vscode}`);
    assert.ok(major === Number(wanted[1]) && (minor ?? 0) >= Number(wanted[2]), `VS Code ${vscode.version} does not satisfy engines.vscode ${manifest.engines.vscode}`);
  });

  it('has the fixture workspace open', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1, `workspace folders: ${folders.map((f) => f.uri.toString()).join(', ')}`);
    const expected = process.env.GROUNDWORK_TEST_WORKSPACE;
    if (expected) assert.equal(folders[0]?.uri.fsPath, expected);
  });
});

describe(`smoke: extension ${extensionId}`, () => {
  it('is installed from the development path', () => {
    const ext = vscode.extensions.getExtension(extensionId);
    assert.ok(
      ext,
      `extension ${extensionId} not found; loaded: ${vscode.extensions.all
        .map((e) => e.id)
        .filter((id) => !id.startsWith('vscode.'))
        .join(', ')}`,
    );
  });

  it('activates', async () => {
    const ext = vscode.extensions.getExtension(extensionId);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers groundwork.* commands, including every command its package.json contributes', async () => {
    const registered = new Set((await vscode.commands.getCommands(true)).filter((c) => c.startsWith('groundwork.')));
    assert.ok(registered.size > 0, 'no groundwork.* command is registered');
    const contributed = (manifest.contributes?.commands ?? []).map((c) => c.command);
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });
});
