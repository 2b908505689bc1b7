/**
 * Writes the hits of the `npm run bench` queries on a kept index as JSON lines, for checking that a
 * speed change leaves rankings untouched: run it from two builds and compare the files byte for byte.
 *
 *   node out/scripts/queryProfile.js --dir DIR --vectors      (once: builds DIR/index-hybrid)
 *   node out/scripts/dumpRankings.js --dir DIR --out hits.jsonl
 *   cmp hits-before.jsonl hits-after.jsonl
 *
 * Each of the 220 queries runs hybrid (384-d hashing test embedder), lexical and vector-only, k = 10;
 * a line holds the mode, the query number and every hit's chunk, span, hash and scores.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeQueries } from '../src/cli/bench';
import { search } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { HashingTestEmbedder } from '../src/core/testEmbedder';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, out: { type: 'string' } } });
  if (!values.dir || !values.out) throw new Error('--dir DIR (with index-hybrid/ from queryProfile --vectors) and --out FILE are required');
  const index = await WorkspaceIndex.open({
    roots: rootsFromDirs([path.join(values.dir, 'corpus')]),
    indexDir: path.join(values.dir, 'index-hybrid'),
    embedder: new HashingTestEmbedder(384),
  });
  const lines: string[] = [];
  try {
    if ((index.vectors?.count ?? 0) < index.chunkCount || index.chunkCount === 0)
      throw new Error(`${values.dir}/index-hybrid is not a complete hybrid index: run queryProfile --vectors first`);
    const queries = makeQueries(index);
    for (const mode of ['hybrid', 'lexical', 'vector'] as const) {
      for (let i = 0; i < queries.length; i++) {
        const hits = await search(index, queries[i]!, { k: 10, mode });
        lines.push(
          JSON.stringify({
            mode,
            i,
            hits: hits.map((h) => [h.chunkId, h.path, h.startLine, h.endLine, h.hash, h.score, h.lexicalScore ?? null, h.vectorScore ?? null, h.retrievers]),
          }),
        );
      }
    }
  } finally {
    await index.close();
  }
  fs.writeFileSync(values.out, lines.join('\n') + '\n');
  console.log(`${lines.length} result lists written to ${values.out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
