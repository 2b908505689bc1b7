/**
 * Query latency on the `npm run bench` corpus with a kept index, for profiling the query path
 * without re-indexing each time (`npm run bench` builds everything from scratch in a temp folder).
 *
 *   node scripts/build.mjs --scripts
 *   node out/scripts/queryProfile.js --dir /tmp/gw-query-profile [--runs 3]
 *   node --cpu-prof --cpu-prof-dir /tmp/prof out/scripts/queryProfile.js --dir …   (a V8 profile)
 *
 * The first run copies the corpus and indexes it lexically into --dir; later runs reuse both.
 * Prints p50 / p95 of the same 220 queries as `npm run bench` (200 short, 20 long).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, makeQueries } from '../src/cli/bench';
import { search } from '../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, runs: { type: 'string', default: '3' } } });
  if (!values.dir) throw new Error('--dir DIR is required (the corpus and its index are kept there)');
  const corpus = path.join(values.dir, 'corpus');
  if (!fs.existsSync(corpus)) {
    console.error('copying the corpus…');
    await buildCorpus(path.resolve(__dirname, '..', '..', 'node_modules'), corpus);
  }
  const indexDir = path.join(values.dir, 'index');
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir });
  try {
    if (index.fileCount === 0) {
      console.error('indexing (lexical)…');
      await index.update();
    }
    const queries = makeQueries(index);
    for (const q of queries.slice(0, 10)) await search(index, q, { k: 10, mode: 'lexical' });
    for (let run = 0; run < Number(values.runs); run++) {
      const times: number[] = [];
      for (const q of queries) {
        const t = process.hrtime.bigint();
        await search(index, q, { k: 10, mode: 'lexical' });
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
      const short = times.slice(0, 200);
      const long = times.slice(200);
      console.log(
        `run ${run + 1}: ${index.fileCount} files; p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms; short p95 ${pct(short, 95).toFixed(1)} ms, long p50 / p95 ${pct(long, 50).toFixed(1)} / ${pct(long, 95).toFixed(1)} ms`,
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
