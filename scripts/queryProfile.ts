/**
 * Query latency on the `npm run bench` corpus with a kept index, for profiling the query path
 * without re-indexing each time (`npm run bench` builds everything from scratch in a temp folder).
 *
 *   node scripts/build.mjs --scripts
 *   node out/scripts/queryProfile.js --dir /tmp/gw-query-profile [--runs 3] [--vectors [--breakdown] [--ab]]
 *   node --cpu-prof --cpu-prof-dir /tmp/prof out/scripts/queryProfile.js --dir …   (a V8 profile)
 *
 * The first run copies the corpus and indexes it lexically into --dir; later runs reuse both.
 * Prints p50 / p95 of the same 220 queries as `npm run bench` (200 short, 20 long). With --vectors
 * the index (kept in `index-hybrid/`) also has 384-d vectors of the hashing *test* embedder, as
 * `npm run bench` builds its hybrid index, and the queries run hybrid: that times the vector and
 * fusion path, not a model (no query-embedding cost worth the name).
 *
 * `--breakdown` (with --vectors) also times, per query, the parts of a hybrid search on their own:
 * the lexical search (mode lexical), the query embedding, the vector store's `query` at k = 300 (what
 * retrieval asks for) and the chunk lookups of its hits; the last run's means and p95 are printed.
 *
 * `--ab` (with --vectors) compares hybrid search with the vector store's exact int8 pre-filter (the
 * default) and without it (a second store on the same files, opened with `prefilter: false`), query
 * by query in alternation, so both see the same load on a shared machine; prints p50 / p95 of each
 * and the median of the per-query differences, and checks that both return the same hits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, makeQueries } from '../src/cli/bench';
import { search, SEARCH_DEFAULTS } from '../src/core/retrieval';
import { analyzeQuery } from '../src/core/queryAnalysis';
import { VectorStore as VectorStoreClass, type VectorStore } from '../src/core/vectorStore';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { HashingTestEmbedder } from '../src/core/testEmbedder';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, runs: { type: 'string', default: '3' }, vectors: { type: 'boolean' }, breakdown: { type: 'boolean' }, ab: { type: 'boolean' } },
  });
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
    if (values.breakdown && embedder && index.vectors) await breakdown(index, index.vectors, embedder, queries);
    if (values.ab && index.vectors) await prefilterAB(index, index.vectors, queries, Number(values.runs));
  } finally {
    await index.close();
  }
}

/** Times the parts of a hybrid search one by one (see the file header). */
async function breakdown(index: WorkspaceIndex, store: VectorStore, embedder: HashingTestEmbedder, queries: string[]): Promise<void> {
  const parts: Record<string, { short: number[]; long: number[] }> = {};
  const time = async (name: string, long: boolean, f: () => unknown): Promise<void> => {
    const t = process.hrtime.bigint();
    await f();
    const list = (parts[name] ??= { short: [], long: [] });
    (long ? list.long : list.short).push(Number(process.hrtime.bigint() - t) / 1e6);
  };
  const k = SEARCH_DEFAULTS.candidates;
  for (const q of queries) {
    const long = q.length > 1000;
    await time('hybrid search', long, () => search(index, q, { k: 10, mode: 'hybrid' }));
    await time('lexical search', long, () => search(index, q, { k: 10, mode: 'lexical' }));
    const text = analyzeQuery(q.trim()).embedText;
    let qv: Float32Array | undefined;
    await time('embed query (test embedder)', long, async () => (qv = await embedder.embedQuery(text)));
    let hits: Array<{ id: string }> = [];
    await time(`vector store query, k = ${k}`, long, () => (hits = store.query(qv!, k)));
    await time(`getChunk of its ${k} hits`, long, () => hits.forEach((h) => index.getChunk(h.id)));
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
  console.log('part (one more pass over the queries)      short mean / p95     long mean / p95');
  for (const [name, { short, long }] of Object.entries(parts)) {
    console.log(
      `  ${name.padEnd(40)} ${mean(short).toFixed(2).padStart(6)} / ${pct(short, 95).toFixed(2).padStart(6)} ms   ${mean(long).toFixed(2).padStart(6)} / ${pct(long, 95).toFixed(2).padStart(6)} ms`,
    );
  }
  const st = store.queryStats();
  console.log(
    `  vector queries so far: ${st.fullScans} full scans, ${st.prefiltered} pre-filtered (${st.prefilterFallbacks} fell back), ${(st.prefilterCandidates / Math.max(1, st.prefiltered - st.prefilterFallbacks)).toFixed(0)} rows re-scored per pre-filtered query`,
  );
}

/** Hybrid search with and without the vector pre-filter, alternating query by query (see the file header). */
async function prefilterAB(index: WorkspaceIndex, store: VectorStore, queries: string[], runs: number): Promise<void> {
  const full = await VectorStoreClass.open(store.dir, { dimensions: store.dimensions, shards: store.shardCount, readOnly: true, precision: 'float32', prefilter: false });
  const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
  const on: number[] = [];
  const off: number[] = [];
  const diff: number[] = [];
  let differing = 0;
  try {
    for (let run = 0; run < runs; run++) {
      for (const [i, q] of queries.entries()) {
        // Alternate which goes first, so neither always runs on a warmer cache.
        const order = (i + run) % 2 === 0 ? [store, full] : [full, store];
        const took = new Map<VectorStore, number>();
        const hits: string[] = [];
        for (const s of order) {
          index.vectors = s;
          const t = process.hrtime.bigint();
          const h = await search(index, q, { k: 10, mode: 'hybrid' });
          took.set(s, ms(t));
          hits.push(JSON.stringify(h));
        }
        if (hits[0] !== hits[1]) differing++;
        on.push(took.get(store)!);
        off.push(took.get(full)!);
        diff.push(took.get(full)! - took.get(store)!);
      }
    }
  } finally {
    index.vectors = store;
    await full.close();
  }
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
  console.log(
    `hybrid A/B over ${runs} × ${queries.length} queries, alternating: pre-filter p50 / p95 ${pct(on, 50).toFixed(1)} / ${pct(on, 95).toFixed(1)} ms; full scan ${pct(off, 50).toFixed(1)} / ${pct(off, 95).toFixed(1)} ms; median per-query saving ${pct(diff, 50).toFixed(2)} ms; queries with different hits: ${differing}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
