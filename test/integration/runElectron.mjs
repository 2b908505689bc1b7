#!/usr/bin/env node
// @ts-check
// Runs the extension-host integration suite in desktop VS Code (Electron) via @vscode/test-electron,
// for developer machines that can download VS Code. The suite is the same bundle that
// test/integration/runServer.mjs runs in code-server; both launchers only call its run().
//
// It does NOT work on the project's CI/dev machines (they reach only the npm registry and Debian's
// packages, so VS Code cannot be downloaded): there, use `npm run test:vscode` (code-server).
//
//   node scripts/build.mjs --integration
//   node test/integration/runElectron.mjs [--version 1.100.3|stable|insiders] [--workspace <dir>]
//
// On Linux without a display run it under `xvfb-run -a`. The UI tests (test/integration/ui) need
// the browser workbench and are not run here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
// The oldest VS Code that package.json's engines.vscode accepts, unless asked otherwise.
const engines = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.vscode;
const version = opt('--version') ?? /\d+\.\d+\.\d+/.exec(engines)?.[0] ?? 'stable';

const extensionTestsPath = path.join(root, 'out', 'integration', 'suite', 'index.js');
if (!fs.existsSync(extensionTestsPath)) {
  console.error('no compiled suite: run node scripts/build.mjs --integration');
  process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-electron-'));
let workspace = opt('--workspace');
if (!workspace) {
  workspace = path.join(tmp, 'workspace');
  fs.cpSync(path.join(root, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
}
workspace = path.resolve(workspace);
const userData = path.join(tmp, 'user-data');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'groundwork.provider': 'extractive' }),
);

try {
  await runTests({
    version,
    extensionDevelopmentPath: root,
    extensionTestsPath,
    launchArgs: [
      workspace,
      '--user-data-dir',
      userData,
      '--extensions-dir',
      path.join(tmp, 'extensions'),
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
    ],
    extensionTestsEnv: {
      GROUNDWORK_TEST: '1',
      GROUNDWORK_OFFLINE: '1',
      GROUNDWORK_CACHE_DIR: path.join(tmp, 'groundwork-cache'),
      GROUNDWORK_CONFIG: path.join(tmp, 'groundwork-config.json'),
      GROUNDWORK_TEST_WORKSPACE: workspace,
      GROUNDWORK_TEST_USER_DATA: userData,
      GROUNDWORK_TEST_OUTPUT: path.join(root, 'test-output', 'vscode'),
    },
  });
  process.exitCode = 0;
} catch (err) {
  console.error(`integration tests failed: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
