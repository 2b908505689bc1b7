#!/usr/bin/env node
// @ts-check
// Runs the integration suites in a real VS Code: code-server (VS Code 1.100's own server and web
// workbench, installed by scripts/setupVscodeHost.mjs) driven by headless Debian Chromium through
// playwright-core. See shared notes "vscode-host.md" for why and for the measured facts.
//
// Phase 1, extension host: the page opens the workbench with a payload naming the extension under
// development and the compiled suite (out/integration/suite/index.js); VS Code's extension host
// runs the suite's run() and reports through window.codeAutomationLog / codeAutomationExit.
// Phase 2, UI (when out/integration/ui/*.test.js exist): the workbench is reopened with the
// extension only, and mocha runs the UI tests here, in Node, against the same browser page.
//
//   node test/integration/runServer.mjs [options]
//     --workspace <dir>   folder to open (default: a temp copy of test/fixtures/workspace)
//     --extension <dir>   extensionDevelopmentPath (default: the repository root)
//     --suite <file>      extensionTestsPath (default: out/integration/suite/index.js)
//     --no-ui             skip phase 2
//     --timeout <s>       overall limit for the whole session (default 600)
//     --keep              keep the temp folders (user data, logs) and print where they are
//   Environment: GROUNDWORK_TEST_GREP=<regexp> filters tests in both phases; GROUNDWORK_CHROMIUM
//   overrides /usr/bin/chromium; GROUNDWORK_WORKBENCH_TIMEOUT_MS (default 120000).
//
// Prints mocha's reporter output as it arrives, then exactly `N passed, N failed` as its last line;
// exits non-zero on any failure (and saves screenshots and logs under test-output/vscode/).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { format } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const codeServerEntry = path.join(root, '.vscode-host', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const outputDir = path.join(root, 'test-output', 'vscode');
const RESULT_PREFIX = 'GROUNDWORK-TEST ';
const CHROMIUM = process.env.GROUNDWORK_CHROMIUM ?? '/usr/bin/chromium';
/** How long the workbench may take to appear (GROUNDWORK_WORKBENCH_TIMEOUT_MS overrides; tests of the harness use it). */
const WORKBENCH_LOAD_MS = Number(process.env.GROUNDWORK_WORKBENCH_TIMEOUT_MS ?? 120_000);
const t0 = Date.now();

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const opts = {
    /** @type {string | undefined} */
    workspace: undefined,
    extension: root,
    suite: path.join(root, 'out', 'integration', 'suite', 'index.js'),
    ui: true,
    timeoutS: 600,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--workspace') opts.workspace = path.resolve(value());
    else if (a === '--extension') opts.extension = path.resolve(value());
    else if (a === '--suite') opts.suite = path.resolve(value());
    else if (a === '--no-ui') opts.ui = false;
    else if (a === '--timeout') opts.timeoutS = Number(value());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!(opts.timeoutS > 0)) usage('--timeout must be a positive number of seconds');
  return opts;
}

function usage(problem) {
  const text = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const start = text.findIndex((l) => l.includes('node test/integration/runServer.mjs'));
  console.error(
    text
      .slice(start, start + 9)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  if (problem) console.error(`\nerror: ${problem}`);
  process.exit(problem ? 2 : 0);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function log(msg) {
  console.log(`[vscode-test] ${msg}`);
}
function secs(since = t0) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
class HarnessError extends Error {}

/** A caught value as text. */
function errText(/** @type {unknown} */ err) {
  return err instanceof Error ? err.message : String(err);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Peak memory of this process and all its descendants (code-server, its extension host, Chromium and
 * its helpers), sampled every 0.5 s from Linux /proc. Proportional set size (Pss), so pages that
 * Chromium's processes share are counted once; plain RSS sums overstate it by ~50%.
 */
class MemorySampler {
  peakBytes = 0;
  #timer;
  start() {
    if (!fs.existsSync('/proc/self/stat')) return;
    const sample = () => {
      const children = new Map();
      for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
          // Fields after the command name, which is in parentheses and may contain spaces.
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          if (!children.has(ppid)) children.set(ppid, []);
          children.get(ppid).push(Number(name));
        } catch {
          // The process ended while we looked.
        }
      }
      let total = 0;
      const stack = [process.pid];
      while (stack.length) {
        const pid = stack.pop();
        try {
          const kb = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
          total += Number(kb ?? 0) * 1024;
        } catch {
          // Gone, or not ours to read.
        }
        stack.push(...(children.get(pid) ?? []));
      }
      this.peakBytes = Math.max(this.peakBytes, total);
    };
    sample();
    this.#timer = setInterval(sample, 500);
    this.#timer.unref();
  }
  stop() {
    clearInterval(this.#timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The session

class Session {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  server;
  /** @type {import('playwright-core').BrowserContext | undefined} */
  context;
  /** @type {import('playwright-core').Page | undefined} */
  page;
  /** Counts of the two phases, kept current so an interruption can still report them. */
  hostResult;
  uiResult;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-vscode-'));
  port = 0;
  #closed = false;

  constructor(opts) {
    this.opts = opts;
    this.workspace = opts.workspace ?? path.join(this.tmp, 'workspace');
  }

  /** The browser page; only after startBrowser(). */
  get livePage() {
    if (!this.page) throw new HarnessError('internal: the browser page is used before the browser started');
    return this.page;
  }

  /** The browser context; only after startBrowser(). */
  get liveContext() {
    if (!this.context) throw new HarnessError('internal: the browser is used before it started');
    return this.context;
  }

  dir(name) {
    const p = path.join(this.tmp, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  }

  async startServer() {
    const t = Date.now();
    if (!this.opts.workspace) {
      // A copy, so whatever the extension writes never lands in the repository's fixtures.
      fs.cpSync(path.join(root, 'test', 'fixtures', 'workspace'), this.workspace, { recursive: true });
    }
    const userData = this.dir('user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'workbench.enableExperiments': false,
          'telemetry.telemetryLevel': 'off',
          'update.mode': 'none',
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          'extensions.ignoreRecommendations': true,
          'security.workspace.trust.enabled': false,
          'git.enabled': false,
          'window.dialogStyle': 'custom',
          // Tests must not depend on a model: answers quote the retrieved code.
          'groundwork.provider': 'extractive',
          'groundwork.embeddings.provider': 'none',
        },
        null,
        2,
      ),
    );
    this.port = await freePort();
    const cfg = path.join(this.tmp, 'config.yaml');
    fs.writeFileSync(cfg, `bind-addr: 127.0.0.1:${this.port}\nauth: none\ncert: false\n`);

    // The extension host inherits this environment.
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
    Object.assign(env, {
      XDG_CONFIG_HOME: this.dir('xdg-config'),
      XDG_DATA_HOME: this.dir('xdg-data'),
      XDG_CACHE_HOME: this.dir('xdg-cache'),
      GROUNDWORK_TEST: '1',
      GROUNDWORK_OFFLINE: '1',
      GROUNDWORK_CACHE_DIR: this.dir('groundwork-cache'),
      GROUNDWORK_CONFIG: path.join(this.tmp, 'groundwork-config.json'),
      GROUNDWORK_TEST_WORKSPACE: this.workspace,
      GROUNDWORK_TEST_USER_DATA: userData,
      GROUNDWORK_TEST_OUTPUT: outputDir,
    });
    fs.mkdirSync(outputDir, { recursive: true });
    this.serverLog = path.join(outputDir, 'code-server.log');
    const logFd = fs.openSync(this.serverLog, 'w');
    this.server = spawn(
      process.execPath,
      [
        codeServerEntry,
        '--config',
        cfg,
        '--user-data-dir',
        userData,
        '--extensions-dir',
        this.dir('extensions'),
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--ignore-last-opened',
        this.workspace,
      ],
      // Its own process group, so the server, its extension hosts and their workers die together.
      { detached: true, stdio: ['ignore', logFd, logFd], env },
    );
    fs.closeSync(logFd);
    let exited;
    this.server.on('exit', (code, signal) => {
      exited = `code-server exited early (${code ?? signal})`;
    });

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new HarnessError(`${exited}; its log:\n${this.serverLogTail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (res.ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new HarnessError(`code-server did not answer /healthz within 60 s; its log:\n${this.serverLogTail()}`);
      await sleep(200);
    }
    log(`code-server ready on 127.0.0.1:${this.port} — ${secs(t)}`);
  }

  serverLogTail(lines = 40) {
    return tail(this.serverLog, lines);
  }

  async startBrowser() {
    const t = Date.now();
    let chromium;
    try {
      ({ chromium } = require('playwright-core'));
    } catch {
      throw new HarnessError('playwright-core is not installed: run `npm ci` (it is a devDependency).');
    }
    if (!fs.existsSync(CHROMIUM)) {
      throw new HarnessError(`no Chromium at ${CHROMIUM}: run node scripts/setupVscodeHost.mjs (or set GROUNDWORK_CHROMIUM)`);
    }
    this.context = await chromium.launchPersistentContext(this.dir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
      // We close the browser ourselves, after screenshots.
      handleSIGINT: false,
      handleSIGTERM: false,
    });
    this.page = this.liveContext.pages()[0] ?? (await this.liveContext.newPage());
    this.recordBrowserConsole(this.page, 'browser-console.log');
    log(`Chromium ${this.liveContext.browser()?.version() ?? ''} started — ${secs(t)}`.replace('  ', ' '));
  }

  /** The page's own console (workbench and webviews), for diagnosis; never echoed. */
  recordBrowserConsole(page, file) {
    const out = fs.createWriteStream(path.join(outputDir, file));
    page.on('console', (m) => out.write(`[${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => out.write(`[pageerror] ${e.stack ?? e.message}\n`));
  }

  remoteUri(p) {
    return `vscode-remote://127.0.0.1:${this.port}${p.split(path.sep).map(encodeURIComponent).join('/')}`;
  }

  /** The workbench on the test workspace, or with `emptyWindow` on no folder at all (`ew=true`). */
  workbenchUrl(payload, { emptyWindow = false, folder = this.workspace } = {}) {
    const q = new URLSearchParams(emptyWindow ? { ew: 'true', payload: JSON.stringify(payload) } : { folder, payload: JSON.stringify(payload) });
    return `http://127.0.0.1:${this.port}/?${q}`;
  }

  async openWorkbench(payload, phase) {
    const t = Date.now();
    try {
      await this.livePage.goto(this.workbenchUrl(payload), { waitUntil: 'domcontentloaded', timeout: WORKBENCH_LOAD_MS });
      await this.livePage
        .locator('.monaco-workbench')
        .first()
        .waitFor({ state: 'attached', timeout: Math.max(1, WORKBENCH_LOAD_MS - (Date.now() - t)) });
    } catch (err) {
      await this.screenshot(`failure-${phase}`);
      throw new HarnessError(
        `the VS Code workbench did not load within ${WORKBENCH_LOAD_MS / 1000} s (phase ${phase}: ${errText(err).split('\n')[0]}); ` +
          `see test-output/vscode/failure-${phase}.png, browser-console.log and code-server.log. code-server's log ends:\n${this.serverLogTail(15)}`,
      );
    }
    log(`workbench loaded (${phase}) — ${secs(t)}`);
  }

  /** Phase 1: the extension-host suite. Resolves to { passed, failed, pending }. */
  async runExtensionHostSuite() {
    const result = (this.hostResult = { started: false, ended: false, passed: 0, failed: 0, pending: 0, exitCode: undefined });
    let resolveExit;
    const exited = new Promise((r) => (resolveExit = r));
    // The workbench's own log and the extension host's console arrive through the same function, in
    // the same shape. Everything goes to workbench.log; from the suite's "start" line to its "end"
    // line, what arrives is the test run (mocha's reporter, the extension's console), so it is echoed.
    const workbenchLog = fs.createWriteStream(path.join(outputDir, 'workbench.log'));
    await this.livePage.exposeFunction('codeAutomationLog', (type, args) => {
      const text = formatLogArgs(args);
      workbenchLog.write(`[${type}] ${text}\n`);
      for (const line of text.split('\n')) {
        const at = line.indexOf(RESULT_PREFIX);
        if (at >= 0) onResult(result, line.slice(at + RESULT_PREFIX.length));
        else if (result.started && !result.ended) (type === 'error' ? console.error : console.log)(line);
      }
    });
    await this.livePage.exposeFunction('codeAutomationExit', (code, logs) => {
      if (code !== 0 && Array.isArray(logs)) saveWorkbenchLogs(logs);
      resolveExit(code);
    });
    const payload = [
      ['extensionDevelopmentPath', this.remoteUri(this.opts.extension)],
      ['extensionTestsPath', this.remoteUri(this.opts.suite)],
    ];
    const t = Date.now();
    await this.openWorkbench(payload, 'extension-host');
    result.exitCode = await exited;
    log(`extension-host suite finished with exit code ${result.exitCode} — ${secs(t)}`);
    if (!result.ended) {
      // run() never reported its end: the bundle failed to load, or the extension host crashed.
      console.error(
        `[vscode-test] the suite ${result.started ? 'did not report its end' : 'never started'}; ` +
          `the workbench's last messages (all of them in test-output/vscode/workbench.log):\n` +
          tail(path.join(outputDir, 'workbench.log'), 30),
      );
      result.failed = Math.max(result.failed, 1);
    } else if (result.exitCode !== 0 && result.failed === 0) {
      result.failed = 1;
    }
    if (result.failed > 0) await this.screenshot('failure-extension-host');
    return result;
  }

  /** Phase 2: UI tests, in this process, against the page with the extension loaded normally. */
  async runUiTests() {
    const uiDir = path.join(path.dirname(path.dirname(this.opts.suite)), 'ui');
    const files = fs.existsSync(uiDir) ? listFiles(uiDir, '.test.js') : [];
    const result = (this.uiResult = { passed: 0, failed: 0, pending: 0 });
    if (!this.opts.ui || files.length === 0) return result;
    // A fresh page: the previous one's extension host has shut down after its tests.
    await this.livePage.close();
    this.page = await this.liveContext.newPage();
    this.recordBrowserConsole(this.page, 'browser-console-ui.log');
    await this.openWorkbench([['extensionDevelopmentPath', this.remoteUri(this.opts.extension)]], 'ui');
    const Mocha = require('mocha');
    const developmentPayload = [['extensionDevelopmentPath', this.remoteUri(this.opts.extension)]];
    globalThis.__groundworkUi = {
      page: this.page,
      workspace: this.workspace,
      outputDir,
      port: this.port,
      // Reloads the same page as a window with no folder open (the extension still loaded).
      openEmptyWindow: async () => {
        await this.livePage.goto(this.workbenchUrl(developmentPayload, { emptyWindow: true }), { waitUntil: 'domcontentloaded', timeout: WORKBENCH_LOAD_MS });
        await this.livePage.locator('.monaco-workbench').first().waitFor({ state: 'attached', timeout: WORKBENCH_LOAD_MS });
      },
      // Reloads the same page on another folder (absolute path; the extension still loaded).
      openFolderWindow: async (folder) => {
        await this.livePage.goto(this.workbenchUrl(developmentPayload, { folder }), { waitUntil: 'domcontentloaded', timeout: WORKBENCH_LOAD_MS });
        await this.livePage.locator('.monaco-workbench').first().waitFor({ state: 'attached', timeout: WORKBENCH_LOAD_MS });
      },
      // A folder for a test's own workspace, removed with the run's temporary folder.
      tmpDir: this.tmp,
    };
    const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: 60_000, slow: 10_000 });
    if (process.env.GROUNDWORK_TEST_GREP) mocha.grep(process.env.GROUNDWORK_TEST_GREP);
    for (const f of files) mocha.addFile(f);
    await mocha.loadFilesAsync();
    await new Promise((resolve) => {
      const runner = mocha.run(() => resolve(undefined));
      runner.on('pass', () => result.passed++);
      runner.on('fail', () => result.failed++);
      runner.on('pending', () => result.pending++);
    });
    if (result.failed > 0) await this.screenshot('failure-ui');
    return result;
  }

  async screenshot(name) {
    if (!this.page || this.livePage.isClosed()) return;
    try {
      const file = path.join(outputDir, `${name}.png`);
      await this.livePage.screenshot({ path: file, timeout: 15_000 });
      log(`screenshot: ${path.relative(root, file)}`);
    } catch (err) {
      log(`could not take a screenshot: ${errText(err)}`);
    }
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    if (this.context) await Promise.race([this.liveContext.close().catch(() => {}), sleep(10_000)]);
    await killGroup(this.server);
    if (this.opts.keep) log(`kept ${this.tmp}`);
    else fs.rmSync(this.tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** SIGTERM to the server's process group, SIGKILL after 5 s. */
async function killGroup(child) {
  if (!child?.pid) return;
  const alive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  if (alive()) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function listFiles(dir, suffix) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The workbench forwards console calls as (format string, …values), e.g. ["  %d passing (%s)", 5, "50ms"]. */
function formatLogArgs(args) {
  if (!Array.isArray(args)) return String(args);
  return format(...args);
}

/** Applies one structured line of the suite (test/integration/suite/index.ts). */
function onResult(result, json) {
  let ev;
  try {
    ev = JSON.parse(json);
  } catch {
    return;
  }
  if (ev.event === 'start') result.started = true;
  else if (ev.event === 'end') {
    result.ended = true;
    // The end line carries mocha's own counts; the per-test lines before it are only a fallback.
    result.passed = ev.passed;
    result.failed = ev.failed;
    result.pending = ev.pending;
    if (ev.error) console.error(`[vscode-test] suite error: ${ev.error}`);
  } else if (!result.ended && ev.event === 'pass') result.passed++;
  else if (!result.ended && ev.event === 'fail') result.failed++;
  else if (!result.ended && ev.event === 'pending') result.pending++;
}

function saveWorkbenchLogs(logs) {
  const dir = path.join(outputDir, 'workbench-logs');
  for (const { relativePath, contents } of logs) {
    const file = path.join(dir, relativePath);
    if (!file.startsWith(dir)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
  log(`workbench logs saved under ${path.relative(root, dir)}/`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(codeServerEntry)) {
    throw new HarnessError(`code-server is not installed in .vscode-host/: run node scripts/setupVscodeHost.mjs`);
  }
  if (!fs.existsSync(opts.suite)) {
    throw new HarnessError(`no compiled suite at ${path.relative(root, opts.suite)}: run node scripts/build.mjs --integration`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(opts.extension, 'package.json'), 'utf8'));
  if (manifest.main && !fs.existsSync(path.resolve(opts.extension, manifest.main))) {
    throw new HarnessError(`the extension's main ${manifest.main} does not exist: run node scripts/build.mjs`);
  }
  fs.rmSync(outputDir, { recursive: true, force: true });
  fs.mkdirSync(outputDir, { recursive: true });

  const memory = new MemorySampler();
  memory.start();
  const session = new Session(opts);
  const shutdown = async (why, code) => {
    console.error(`[vscode-test] ${why}`);
    await session.screenshot('failure-interrupted');
    await session.close();
    // What ran so far, and the interruption as one failure.
    const passed = (session.hostResult?.passed ?? 0) + (session.uiResult?.passed ?? 0);
    const failed = (session.hostResult?.failed ?? 0) + (session.uiResult?.failed ?? 0) + 1;
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('interrupted (SIGINT)', 130));
  process.once('SIGTERM', () => void shutdown('terminated (SIGTERM)', 143));
  const overall = setTimeout(() => void shutdown(`timed out after ${opts.timeoutS} s (--timeout); see test-output/vscode/`, 1).then(() => {}), opts.timeoutS * 1000);

  let totals = { passed: 0, failed: 0, pending: 0 };
  let harnessFailure;
  try {
    await session.startServer();
    await session.startBrowser();
    const host = await session.runExtensionHostSuite();
    const ui = await session.runUiTests();
    totals = {
      passed: host.passed + ui.passed,
      failed: host.failed + ui.failed,
      pending: host.pending + ui.pending,
    };
  } catch (err) {
    harnessFailure = err;
    console.error(`[vscode-test] ERROR: ${err instanceof HarnessError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (!(err instanceof HarnessError)) await session.screenshot('failure-harness');
  } finally {
    clearTimeout(overall);
    memory.stop();
    await session.close();
  }
  const failed = totals.failed + (harnessFailure ? 1 : 0);
  log(`session ${secs()}; peak memory (runner + code-server + extension host + Chromium) ${(memory.peakBytes / 2 ** 20).toFixed(0)} MB`);
  if (!harnessFailure && totals.passed === 0 && failed === 0) {
    console.error('[vscode-test] no test ran');
    console.log(`0 passed, 1 failed`);
    process.exit(1);
  }
  if (totals.pending) log(`${totals.pending} pending`);
  console.log(`${totals.passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
