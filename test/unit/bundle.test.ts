/**
 * The bundles carry only what runs: vectra's BM25 (wink-nlp and its ~3.5 MB English model) and its
 * protobuf codec (protobufjs) are replaced by throwing stubs in scripts/build.mjs, and the VSIX
 * allowlist ships only the files the extension loads. Checked on the bundles `npm run test:unit`
 * builds (their source maps list every module that went in).
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../repoRoot';

const DIST = path.join(repoRoot(), 'dist');
const UNUSED = ['wink-nlp', 'wink-eng-lite-web-model', 'wink-bm25-text-search', 'protobufjs', 'long'];

function bundledPackages(bundle: string): Set<string> {
  const map = path.join(DIST, `${bundle}.map`);
  assert.ok(existsSync(map), `${map} missing: run node scripts/build.mjs`);
  const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
  const pkgs = new Set<string>();
  for (const s of sources) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(s);
    if (m) pkgs.add(m[1]!);
  }
  return pkgs;
}

describe('bundles', () => {
  for (const bundle of ['indexWorker.js', 'cli.js', 'extension.js']) {
    it(`${bundle} leaves out vectra's unused BM25 and protobuf modules but keeps vectra`, () => {
      const pkgs = bundledPackages(bundle);
      for (const name of UNUSED) assert.ok(!pkgs.has(name), `${bundle} bundles ${name}`);
      if (bundle !== 'extension.js') assert.ok(pkgs.has('vectra'), `${bundle} should bundle vectra (found: ${[...pkgs].join(', ')})`);
    });
  }

  it('the VSIX allowlist ships the bundles the extension loads and not the CLI', () => {
    const lines = readFileSync(path.join(repoRoot(), '.vscodeignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const f of ['dist/extension.js', 'dist/indexWorker.js', 'dist/localEmbedderWorker.js']) assert.ok(lines.includes(`!${f}`), f);
    assert.ok(!lines.some((l) => l.startsWith('!') && l.includes('cli.js')), 'dist/cli.js is not loaded by the extension');
  });
});
