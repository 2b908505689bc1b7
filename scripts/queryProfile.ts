/**
 * Query latency on the `npm run bench` corpus with a kept index, for profiling the query path
 * without re-indexing each time (`npm run bench` builds everything from scratch in a temp folder).
 *
 *   node scripts/build.mjs --scripts
 *   node out/scripts/queryProfile.js --dir /tmp/gw-query-profile [--runs 3] [--vectors]
 *   node --cpu-prof --cpu-prof-dir /tmp/prof out/scripts/queryProfile.js --dir …   (a V8 profile)
 *
 * The first run copies the corpus and indexes it lexically into --dir; later runs reuse both.
 * Prints p50 / p95 of the same 220 queries as `npm run bench` (200 short, 20 long). With --vectors
 * the index (kept in `index-hybrid/`) also has 384-d vectors of the hashing *test* embedder, as
 * `npm run bench` builds its hybrid index, and the queries run hybrid: that times the vector and
 * fusion path, not a model (no query-embedding cost worth the name).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, makeQueries } from '../src/cli/bench';
import { search } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { HashingTestEmbedder } from '../src/core/testEmbedder';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, runs: { type: 'string', default: '3' }, vectors: { type: 'boolean' } } });
  if (!values.dir) throw new Error('--dir DIR is required (the corpus and its index are kept there)');
  const corpus = path.join(values.dir, 'corpus');
  if (!fs.existsSync(corpus)) {
    console.error('copying the corpus…');
    await buildCorpus(path.resolve(__dirname, '..', '..', 'node_modules'), corpus);
  }
  const hybrid = Boolean(values.vectors);
  const mode = hybrid ? 'hybrid' : 'lexical';
  const indexDir = path.join(values.dir, hybrid ? 'index-hybrid' : 'index');
  const embedder = hybrid ? new HashingTestEmbedder(384) : undefined;
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir, embedder, options: hybrid ? { embedBatchSize: 256 } : undefined });
  try {
    if (index.fileCount === 0 || (hybrid && (index.vectors?.count ?? 0) < index.chunkCount)) {
      console.error(`indexing (${mode})…`);
      await index.update();
    }
    const queries = makeQueries(index);
    for (const q of queries.slice(0, 10)) await search(index, q, { k: 10, mode });
    for (let run = 0; run < Number(values.runs); run++) {
      const times: number[] = [];
      for (const q of queries) {
        const t = process.hrtime.bigint();
        await search(index, q, { k: 10, mode });
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
      const short = times.slice(0, 200);
      const long = times.slice(200);
      console.log(
        `run ${run + 1} (${mode}): ${index.fileCount} files, ${index.vectors?.count ?? 0} vectors; p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms; short p95 ${pct(short, 95).toFixed(1)} ms, long p50 / p95 ${pct(long, 50).toFixed(1)} / ${pct(long, 95).toFixed(1)} ms`,
      );
    }
  } finally {
    await index.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
