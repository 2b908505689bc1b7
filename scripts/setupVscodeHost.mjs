// @ts-check
// Installs what the real-VS-Code integration tests need on this machine kind (Debian, npm registry
// only; see shared notes "vscode-host.md"): Debian's chromium + ripgrep + Kerberos headers, and
// code-server (VS Code's own server and web workbench) in .vscode-host/, outside the project's
// node_modules so `npm ci` never rebuilds its native modules.
//
//   node scripts/setupVscodeHost.mjs           install what is missing (idempotent, no stdin)
//   node scripts/setupVscodeHost.mjs --force   reinstall code-server even if it answers --version
//
// playwright-core (which drives Chromium) is a devDependency of the project instead: it is pure
// JavaScript with no install script, so `npm ci` installs it in a second and the test runner imports
// it directly. We never run `playwright install`: the browser is Debian's /usr/bin/chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** code-server 4.100.3 = VS Code 1.100.3, the newest code-server that runs on Node 20. */
export const CODE_SERVER_VERSION = '4.100.3';
/** What code-server's own @vscode/ripgrep postinstall looks for in its cache before downloading. */
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_BINARY_VERSION = 'v13.0.0-10';
const APT_PACKAGES = ['libkrb5-dev', 'ripgrep', 'chromium'];

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const hostDir = path.join(root, '.vscode-host');
export const codeServerEntry = path.join(hostDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const force = process.argv.includes('--force');
const t0 = Date.now();

/** @param {string} msg */
function log(msg) {
  console.log(`[setup-vscode-host] ${msg}`);
}
/**
 * @param {string} msg
 * @returns {never}
 */
function fail(msg) {
  console.error(`[setup-vscode-host] ERROR: ${msg}`);
  process.exit(1);
}
/** @param {number} since */
function secs(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
/** Runs a command with inherited output (so CI logs show progress); throws on a non-zero exit. */
/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} [opts]
 */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}
/**
 * @param {string} bin
 * @returns {string | undefined}
 */
function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
/** @param {string} pkg */
function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// 1. Debian packages.
function ensureAptPackages() {
  const t = Date.now();
  const haveDpkg = Boolean(which('dpkg-query'));
  const missing = haveDpkg
    ? APT_PACKAGES.filter((p) => !dpkgInstalled(p))
    : // Not Debian: judge by the files we actually use.
      [...(fs.existsSync('/usr/include/gssapi/gssapi.h') ? [] : ['libkrb5-dev']), ...(which('rg') ? [] : ['ripgrep']), ...(fs.existsSync('/usr/bin/chromium') ? [] : ['chromium'])];
  if (missing.length === 0) {
    log(`Debian packages already installed (${APT_PACKAGES.join(', ')}) — ${secs(t)}`);
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!which('apt-get') || !isRoot) {
    fail(
      `missing system packages: ${missing.join(', ')}. ` +
        (which('apt-get')
          ? `Run as root (or: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}), then re-run this script.`
          : `apt-get is not available here; install the equivalents yourself: Kerberos development headers ` +
            `(for code-server's "kerberos" native addon), ripgrep (rg on PATH) and Chromium at /usr/bin/chromium.`),
    );
  }
  log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt/dpkg (a parallel set-up, unattended upgrades) may hold the lock: wait for it.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run('apt-get', [...lock, 'update', '-q'], { env });
  run('apt-get', [...lock, 'install', '-y', '-q', ...missing], { env });
  log(`Debian packages installed — ${secs(t)}`);
}

// 2. @vscode/ripgrep downloads rg from GitHub in its postinstall unless its cache already holds the
// release archive; seed that archive with Debian's rg (a tar.gz with `rg` at its root).
function seedRipgrepCache() {
  const triple = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' }[process.arch];
  if (!triple) fail(`no ripgrep cache name known for architecture ${process.arch}`);
  const rg = which('rg');
  if (!rg) fail('rg (ripgrep) is not on PATH');
  const cacheDir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const archive = path.join(cacheDir, `ripgrep-${RIPGREP_BINARY_VERSION}-${triple}.tar.gz`);
  if (fs.existsSync(archive) && fs.statSync(archive).size > 0) {
    log(`ripgrep cache already seeded: ${archive}`);
    return;
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${archive}.tmp-${process.pid}`;
  const real = fs.realpathSync(rg);
  if (path.basename(real) !== 'rg') fail(`expected the ripgrep binary to be named rg: ${real}`);
  run('tar', ['-czf', tmp, '-C', path.dirname(real), 'rg']);
  fs.renameSync(tmp, archive);
  log(`ripgrep cache seeded with ${rg}: ${archive}`);
}

/** The version code-server answers, or undefined when it is not (properly) installed. */
export function installedCodeServerVersion() {
  if (!fs.existsSync(codeServerEntry)) return undefined;
  // --version writes a default config file: keep it from touching ~/.config and ~/.local.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cs-version-'));
  try {
    const r = spawnSync(process.execPath, [codeServerEntry, '--version'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, XDG_CONFIG_HOME: scratch, XDG_DATA_HOME: scratch, XDG_CACHE_HOME: scratch },
    });
    // It may log a line first ("Wrote default config file …"); the answer is "4.100.3 <commit> with Code 1.100.3".
    if (r.status !== 0) return undefined;
    return /^(\d+\.\d+\.\d+) \S+ with Code/m.exec(r.stdout)?.[1];
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// 3. code-server in its own folder, pinned exactly, its install scripts approved.
function ensureCodeServer() {
  const t = Date.now();
  const have = installedCodeServerVersion();
  if (have === CODE_SERVER_VERSION && !force) {
    log(`code-server ${have} already installed in ${path.relative(root, hostDir)}/ — ${secs(t)}`);
    return;
  }
  log(have ? `code-server answers ${have}; installing ${CODE_SERVER_VERSION}` : `installing code-server ${CODE_SERVER_VERSION}`);
  seedRipgrepCache();
  fs.mkdirSync(hostDir, { recursive: true });
  const manifest = {
    name: 'groundwork-vscode-host',
    private: true,
    description: 'code-server for the Groundwork integration tests; written by scripts/setupVscodeHost.mjs.',
    dependencies: { 'code-server': CODE_SERVER_VERSION },
    allowScripts: { 'code-server': true, argon2: true },
  };
  fs.writeFileSync(path.join(hostDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev'], {
    cwd: hostDir,
    env: {
      ...process.env,
      // code-server's postinstall refuses to run as root without it.
      npm_config_unsafe_perm: 'true',
      // A nested `npx node-gyp` otherwise asks for confirmation, and cancels without stdin.
      npm_config_yes: 'true',
    },
  });
  const now = installedCodeServerVersion();
  if (now !== CODE_SERVER_VERSION) {
    fail(`code-server was installed but answers ${JSON.stringify(now)} instead of ${CODE_SERVER_VERSION} (see the npm output above)`);
  }
  log(`code-server ${now} installed — ${secs(t)}`);
}

function checkPlaywright() {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'playwright-core', 'package.json'), 'utf8'));
    log(`playwright-core ${pkg.version} (devDependency; browser: /usr/bin/chromium)`);
  } catch {
    fail('playwright-core is not installed in node_modules: run `npm ci` (it is a devDependency).');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  try {
    ensureAptPackages();
    ensureCodeServer();
    checkPlaywright();
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  log(`done — total ${secs(t0)}`);
}
