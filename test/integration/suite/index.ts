// Entry point of the integration suite inside VS Code's extension host: the `extensionTestsPath`
// contract shared by code-server's payload (test/integration/runServer.mjs) and
// @vscode/test-electron (test/integration/runElectron.mjs). VS Code requires this bundle and calls
// run(); the run fails when the returned promise rejects.
//
// Besides mocha's spec reporter (human output, forwarded to the runner through codeAutomationLog),
// every test outcome is logged as one structured line, `GROUNDWORK-TEST {json}`, so the runner can
// count results without parsing the reporter's prose.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha = require('mocha');

/** Prefix of the structured result lines that the runner parses (and does not echo). */
export const RESULT_PREFIX = 'GROUNDWORK-TEST ';

function emit(event: Record<string, unknown>): void {
  console.log(`${RESULT_PREFIX}${JSON.stringify(event)}`);
}

function fullTitle(test: Mocha.Runnable): string {
  return test.titlePath().join(' › ');
}

/** The compiled test files next to this bundle (out/integration/suite/**\/*.test.js). */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(p));
    else if (entry.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    // The extension host's console is not a terminal; escape codes would only clutter the log.
    color: false,
    // Activation indexes the workspace on a 2-core machine; leave room, but fail rather than hang.
    timeout: Number(process.env.GROUNDWORK_TEST_TIMEOUT_MS ?? 60_000),
    slow: 5_000,
  });
  const grep = process.env.GROUNDWORK_TEST_GREP;
  if (grep) mocha.grep(grep);
  const files = testFiles(__dirname);
  for (const file of files) mocha.addFile(file);

  return new Promise<void>((resolve, reject) => {
    if (files.length === 0) {
      reject(new Error(`no *.test.js files next to ${__filename}; run node scripts/build.mjs --integration`));
      return;
    }
    let passed = 0;
    let failed = 0;
    let pending = 0;
    emit({ event: 'start', files: files.length });
    try {
      const runner = mocha.run((failures) => {
        emit({ event: 'end', passed, failed, pending });
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else resolve();
      });
      runner.on('pass', (test) => {
        passed++;
        emit({ event: 'pass', title: fullTitle(test), ms: test.duration });
      });
      runner.on('fail', (test, err: unknown) => {
        // A failing hook counts once, like mocha's own "N failing".
        failed++;
        emit({ event: 'fail', title: fullTitle(test), error: err instanceof Error ? err.message : String(err) });
      });
      runner.on('pending', (test) => {
        pending++;
        emit({ event: 'pending', title: fullTitle(test) });
      });
    } catch (err) {
      // A test file that throws while loading ends up here.
      emit({ event: 'end', passed, failed: failed + 1, pending, error: err instanceof Error ? err.message : String(err) });
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
