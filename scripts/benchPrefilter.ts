/**
 * The float32 store's exact int8 pre-filter (vectorStore.ts, `query`) against the full float32 scan:
 * identical results (ids, order and scores, checked query by query) and the time of `query` both ways.
 *
 * 1. The `npm run bench` hybrid index kept by `scripts/queryProfile.ts --vectors --dir DIR` (95,386 ×
 *    384 vectors of the hashing test embedder): the bench's 220 queries, embedded by that embedder,
 *    at k = 300 (what retrieval asks for) and k = 10.
 * 2. Clustered synthetic data: `--items` (default 100,000) × 384 unit vectors around `--centroids`
 *    (default 2,000) random centroids, per-dimension Gaussian noise σ = 0.05 (dense, like a model's
 *    vectors), 200 queries (data points plus noise), k = 300 and 10, with a few files deleted first
 *    (tombstones).
 *
 *   node scripts/build.mjs --scripts
 *   node out/scripts/benchPrefilter.js [--dir /tmp/gw-query-profile] [--items 100000] [--runs 5]
 *
 * Prints per case: median over runs of p50 / p95 query time, candidates re-scored per query, and
 * the number of queries whose results differ (must be 0).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeQueries } from '../src/cli/bench';
import { analyzeQuery } from '../src/core/queryAnalysis';
import { seededRandom } from '../src/core/random.mjs';
import { HashingTestEmbedder } from '../src/core/testEmbedder';
import { VectorStore, type FileChange, type VectorHit } from '../src/core/vectorStore';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

const DIMS = 384;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const median = (xs: number[]) => pct(xs, 50);

function same(a: VectorHit[], b: VectorHit[]): boolean {
  return a.length === b.length && a.every((h, i) => h.id === b[i]!.id && h.score === b[i]!.score && h.path === b[i]!.path && h.hash === b[i]!.hash);
}

/** Times `full` and `pre` on every query, `runs` times (alternating), and checks the results are equal. */
function compare(label: string, full: VectorStore, pre: VectorStore, queries: Float32Array[], k: number, runs: number): void {
  let differ = 0;
  for (const q of queries) if (!same(full.query(q, k), pre.query(q, k))) differ++;
  const before = pre.queryStats();
  const p50 = { full: [] as number[], pre: [] as number[] };
  const p95 = { full: [] as number[], pre: [] as number[] };
  for (let run = 0; run < runs; run++) {
    for (const [name, store] of [
      ['full', full],
      ['pre', pre],
    ] as const) {
      const times: number[] = [];
      for (const q of queries) {
        const t = performance.now();
        store.query(q, k);
        times.push(performance.now() - t);
      }
      p50[name].push(pct(times, 50));
      p95[name].push(pct(times, 95));
    }
  }
  const after = pre.queryStats();
  const n = after.prefiltered - before.prefiltered;
  const cand = n ? (after.prefilterCandidates - before.prefilterCandidates) / n : 0;
  console.log(
    `${label}, k = ${k}: full scan p50 / p95 ${median(p50.full).toFixed(2)} / ${median(p95.full).toFixed(2)} ms; pre-filter ${median(p50.pre).toFixed(2)} / ${median(p95.pre).toFixed(2)} ms ` +
      `(median of ${runs} runs of ${queries.length} queries); ${cand.toFixed(0)} rows re-scored per query, ${after.prefilterFallbacks - before.prefilterFallbacks} fallbacks; results differing: ${differ}`,
  );
}

async function benchCorpus(dir: string, runs: number): Promise<void> {
  const indexDir = path.join(dir, 'index-hybrid');
  if (!fs.existsSync(indexDir)) {
    console.log(`(no ${indexDir}: run node out/scripts/queryProfile.js --dir ${dir} --vectors first; bench corpus skipped)`);
    return;
  }
  const embedder = new HashingTestEmbedder(DIMS);
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([path.join(dir, 'corpus')]), indexDir, embedder });
  const queries: Float32Array[] = [];
  try {
    for (const q of makeQueries(index)) queries.push(await embedder.embedQuery(analyzeQuery(q.trim()).embedText));
  } finally {
    await index.close();
  }
  const full = await VectorStore.open(path.join(indexDir, 'vectors'), { dimensions: DIMS, readOnly: true, precision: 'float32', prefilter: false });
  const pre = await VectorStore.open(path.join(indexDir, 'vectors'), { dimensions: DIMS, readOnly: true, precision: 'float32', prefilterMinRows: 0 });
  pre.completePrefilterCodes();
  try {
    for (const k of [300, 10]) compare(`bench corpus (${pre.count} test-embedder vectors)`, full, pre, queries, k, runs);
  } finally {
    await full.close();
    await pre.close();
  }
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < v.length; j++) v[j]! *= inv;
  return v;
}

async function benchClustered(items: number, centroids: number, runs: number): Promise<void> {
  const rand = seededRandom(7);
  const g = gaussian(rand);
  const cents: Float32Array[] = [];
  for (let c = 0; c < centroids; c++) cents.push(unit(Float32Array.from({ length: DIMS }, () => g())));
  const point = (c: number) => unit(Float32Array.from(cents[c]!, (x) => x + 0.05 * g()));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-prefilter-'));
  try {
    const writer = await VectorStore.open(path.join(tmp, 'v'), { dimensions: DIMS, prefilterMinRows: 0 });
    const perFile = 20;
    const changes: FileChange[] = [];
    const samples: Float32Array[] = [];
    for (let f = 0; f * perFile < items; f++) {
      const p = `src/m${f % 97}/file${f}.ts`;
      const list = [];
      for (let i = 0; i < perFile && f * perFile + i < items; i++) {
        const v = point(Math.floor(rand() * centroids));
        if (samples.length < 200 && rand() < 0.01) samples.push(v);
        list.push({
          id: `${p}#L${i * 10 + 1}-L${i * 10 + 10}#${(f * perFile + i).toString(16).padStart(8, '0')}`,
          hash: (f * perFile + i).toString(16).padStart(16, '0'),
          vector: v,
        });
      }
      changes.push({ path: p, items: list });
    }
    await writer.applyFileChanges(changes);
    // Tombstones: delete every 50th file.
    await writer.applyFileChanges(changes.filter((_, i) => i % 50 === 0).map((c) => ({ path: c.path, items: null })));
    const queries = samples.map((v) => unit(Float32Array.from(v, (x) => x + 0.02 * g())));
    const full = await VectorStore.open(path.join(tmp, 'v'), { dimensions: DIMS, readOnly: true, precision: 'float32', prefilter: false });
    try {
      for (const k of [300, 10])
        compare(`clustered synthetic (${writer.count} × ${DIMS}, ${centroids} centroids, σ 0.05, tombstones in the writer)`, full, writer, queries, k, runs);
    } finally {
      await full.close();
      await writer.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: '/tmp/gw-query-profile' },
      items: { type: 'string', default: '100000' },
      centroids: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '5' },
    },
  });
  const runs = Number(values.runs);
  await benchCorpus(values.dir, runs);
  await benchClustered(Number(values.items), Number(values.centroids), runs);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
