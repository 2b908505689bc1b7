// @ts-check
// Bundle diet benchmark: prints the size of every runtime bundle in dist/, the VSIX size (with
// --vsix, which runs `vsce package`), and load times of what the extension loads on activation:
//   extension.js  required in a fresh Node process with a stand-in `vscode` module (module load only;
//                 activate() needs a real VS Code, see test/integration), and
//   indexWorker.js  started as a worker thread until it answers its first request (the extension
//                 starts this worker on activation, before any indexing).
// Each time is the median of --runs fresh processes (default 7). Build first: node scripts/build.mjs --production
//   node scripts/benchBundles.mjs [--runs 7] [--vsix]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 7;
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;

for (const f of ['extension.js', 'indexWorker.js', 'localEmbedderWorker.js', 'cli.js']) {
  const p = path.join(dist, f);
  if (fs.existsSync(p)) console.log(`${f.padEnd(24)} ${kb(fs.statSync(p).size)}`);
}

// One fresh process per sample so nothing is cached between runs (except the OS page cache).
const loadExtension = `
const Module = require('node:module');
const orig = Module._load;
Module._load = function (request, ...rest) { return request === 'vscode' ? new Proxy({}, { get: () => new Proxy(function () {}, { get: () => undefined }) }) : orig.call(this, request, ...rest); };
const t0 = performance.now();
require(${JSON.stringify(path.join(dist, 'extension.js'))});
process.stdout.write(String(performance.now() - t0));`;
const startWorker = `
const { Worker } = require('node:worker_threads');
const t0 = performance.now();
const w = new Worker(${JSON.stringify(path.join(dist, 'indexWorker.js'))});
w.on('message', (m) => { if (m && m.id === 1) { process.stdout.write(String(performance.now() - t0)); w.terminate(); } });
w.postMessage({ id: 1, method: 'status', params: {} });`;

function median(script) {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    xs.push(Number(r.stdout));
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}
console.log(`extension.js load         ${median(loadExtension).toFixed(0)} ms (median of ${runs})`);
console.log(`indexWorker ready         ${median(startWorker).toFixed(0)} ms (median of ${runs})`);

if (args.includes('--vsix')) {
  const out = path.join(root, 'groundwork-linux-x64.vsix');
  const r = spawnSync('npx', ['vsce', 'package', '--target', 'linux-x64', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr || r.stdout);
  console.log(`VSIX                      ${mb(fs.statSync(out).size)}`);
}
