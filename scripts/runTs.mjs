// @ts-check
// Bundles one TypeScript script with the same esbuild settings as scripts/build.mjs and runs it.
//   node scripts/runTs.mjs scripts/benchVectors.ts [args...]
// The bundle goes to the OS temp dir; extra arguments are passed to the script.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { vectraDeepImport } from './vectraDeepImport.mjs';
import { webTreeSitterCjs } from './webTreeSitterCjs.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/runTs.mjs <script.ts> [args...]');
  process.exit(2);
}

const outfile = path.join(os.tmpdir(), `gw-run-${path.basename(entry, '.ts')}-${process.pid}.cjs`);
await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  logLevel: 'warning',
  plugins: [vectraDeepImport, webTreeSitterCjs],
  external: ['vscode', 'sharp', 'onnxruntime-node'],
});
// Extra node flags (e.g. --cpu-prof) come from GW_NODE_FLAGS, since NODE_OPTIONS refuses some.
const flags = (process.env.GW_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const r = spawnSync(process.execPath, ['--enable-source-maps', ...flags, outfile, ...args], { stdio: 'inherit' });
fs.rmSync(outfile, { force: true });
process.exit(r.status ?? 1);
