/**
 * Tuning harness for retrieval settings, run on the DEV set only (eval/dev-mocha.jsonl by default):
 *   node scripts/build.mjs --scripts && node out/scripts/tune.js [workspace] [queries.jsonl]
 * Prints recall/MRR for each variant. The held-out set (eval/eslint.jsonl) must not be used here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { computeMetrics, formatMetrics, readQueryFile, type EvalResult } from '../src/core/evaluation';
import { search, type SearchOptions } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

async function main(): Promise<void> {
  const ws = path.resolve(process.argv[2] ?? 'node_modules/mocha');
  const queries = await readQueryFile(process.argv[3] ?? 'eval/dev-mocha.jsonl');
  const budgets = (process.env.BUDGETS ?? '1500').split(',').map(Number);
  const variants: Array<[string, SearchOptions]> = [
    ['default', {}],
    ['cap 1', { perFileCap: 1 }],
    ['cap 3', { perFileCap: 3 }],
    ['no path-match boost', { pathMatchFactor: 1 }],
    ['path-match 2', { pathMatchFactor: 2 }],
    ['test files x0.5', { testFileFactor: 0.5 }],
    ['frames x2, identifiers x1.5', { analysis: { frameWeight: 2, identifierWeight: 1.5 } }],
    ['frames x3', { analysis: { frameWeight: 3 } }],
    ['identifiers x2', { analysis: { identifierWeight: 2 } }],
  ];
  for (const budget of budgets) {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-tune-'));
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: dir, options: { chunkChars: budget } });
    const s = await index.update();
    console.log(`\nbudget ${budget}: ${s.filesIndexed} files, ${s.chunks} chunks`);
    for (const [name, opts] of variants) {
      const results: EvalResult[] = [];
      for (const q of queries) results.push({ id: q.id, hits: await search(index, q.query, { k: 10, ...opts }) });
      console.log(formatMetrics(name, computeMetrics(queries, results)));
    }
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
