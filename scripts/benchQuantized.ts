/**
 * Quantised vector store benchmark: recall@10 of int8 search (with the exact float re-score) against
 * exact search, memory and speed.
 *
 * 1. Real embeddings: the 778 all-MiniLM-L6-v2 vectors (384-d) shipped by the npm package
 *    `@sap-ux/fiori-docs-embeddings` (a dev dependency used only here). Every vector is a query
 *    against the other 777 (itself excluded), with and without the float re-score.
 * 2. Clustered synthetic data: `--items` (default 1,000,000) × 384 around 2,000 random centroids
 *    (per-dimension Gaussian noise σ = 0.05, i.e. ~0.7 cosine to the centroid), 20 chunks per file,
 *    32 shards. Chunk ids and hashes have the chunker's form (`<path>#L<a>-L<b>#<hash[0..8)>`, 16 hex
 *    digits), as a real index's do. A child process builds the store and computes the exact top-10 of
 *    200 queries (data points plus noise) with the float32 store; then a fresh child per precision
 *    opens the store and reports open time (wall and CPU), RSS, query p50/p95 and recall@10.
 *
 * Run:   GROUNDWORK_WASM_DIR=dist/wasm node scripts/runTs.mjs scripts/benchQuantized.ts [--items 1000000] [--queries 200] [--skip-float] [--keep DIR]
 * The store is written under the OS temp folder (~1.6 GB at 1M × 384) and deleted at the end; with
 * `--keep DIR` it is written into DIR and kept, and a DIR that already holds one is reused (so two
 * builds of the store can be measured on the same files).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { VectorStore, type FileChange, type VectorItem } from '../src/core/vectorStore';
import { seededRandom } from '../src/core/random.mjs';

const DIMS = 384;
const CHUNKS_PER_FILE = 20;
const K = 10;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j]! * v[j]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < v.length; j++) v[j]! *= inv;
  return v;
}

function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

function filePath(f: number): string {
  return `src/module${f % 97}/sub${f % 7}/file${f}.ts`;
}

/** A 16-hex-digit content hash for row `r` (a 64-bit mix of r, so hashes look like hash16's). */
function rowHash(r: number): string {
  let h = Math.imul(r ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  let l = Math.imul((r + 0x7f4a7c15) ^ h, 0x27d4eb2f) >>> 0;
  l = (l ^ (l >>> 15)) >>> 0;
  return h.toString(16).padStart(8, '0') + l.toString(16).padStart(8, '0');
}

// ----- 1. real MiniLM vectors ------------------------------------------------------------------------

async function realVectors(): Promise<void> {
  // Resolved from the working directory (the repository): runTs.mjs runs the bundle from the temp folder.
  const pkgDir = path.dirname(createRequire(path.join(process.cwd(), 'package.json')).resolve('@sap-ux/fiori-docs-embeddings/package.json'));
  const meta = JSON.parse(fs.readFileSync(path.join(pkgDir, 'data/embeddings/metadata.json'), 'utf8')) as { model: string; dimensions: number; totalVectors: number };
  const bin = fs.readFileSync(path.join(pkgDir, 'data/embeddings/embeddings.bin'));
  const n = meta.totalVectors;
  if (meta.dimensions !== DIMS || bin.length !== n * DIMS * 4) throw new Error(`unexpected embeddings.bin: ${bin.length} bytes for ${n} × ${meta.dimensions}`);
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
  const rows: Float32Array[] = [];
  for (let r = 0; r < n; r++) rows.push(normalise(all.slice(r * DIMS, (r + 1) * DIMS)));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-q-real-'));
  try {
    const store = await VectorStore.open(path.join(tmp, 'v'), { dimensions: DIMS, shards: 4, precision: 'float32' });
    const changes: FileChange[] = [];
    for (let r = 0; r < n; r++) changes.push({ path: `docs/${r}.md`, items: [{ id: `docs/${r}.md#L1-L1#${r}`, hash: String(r).padStart(16, '0'), vector: rows[r]! }] });
    await store.applyFileChanges(changes);
    await store.close();
    const exact = await VectorStore.open(path.join(tmp, 'v'), { dimensions: DIMS, shards: 4, precision: 'float32', readOnly: true });
    const truth = rows.map((q, r) =>
      exact
        .query(q, K + 1)
        .map((h) => h.id)
        .filter((id) => id !== `docs/${r}.md#L1-L1#${r}`)
        .slice(0, K),
    );
    await exact.close();
    console.log(`real vectors: ${n} × ${DIMS} (${meta.model}, @sap-ux/fiori-docs-embeddings), each a query against the other ${n - 1}`);
    // min 1 / factor 1: no re-score beyond the k hits themselves (the int8 ranking alone).
    for (const [label, rescore] of [
      ['int8, no re-score', { factor: 1, min: 1 }],
      ['int8 + re-score of 4k (≥ 100)', undefined],
      ['int8 + re-score of 2k (≥ 20)', { factor: 2, min: 20 }],
    ] as const) {
      const s = await VectorStore.open(path.join(tmp, 'v'), { dimensions: DIMS, shards: 4, precision: 'int8', readOnly: true, int8Rescore: rescore });
      let found = 0;
      rows.forEach((q, r) => {
        const got = s
          .query(q, K + 1)
          .map((h) => h.id)
          .filter((id) => id !== `docs/${r}.md#L1-L1#${r}`)
          .slice(0, K);
        const want = new Set(truth[r]);
        found += got.filter((id) => want.has(id)).length;
      });
      await s.close();
      console.log(`  recall@10 ${label.padEnd(32)} ${(found / (n * K)).toFixed(4)}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ----- 2. clustered synthetic at scale --------------------------------------------------------------

interface Truth {
  queries: number[][];
  exact: string[][];
}

/** Child: writes the store and the exact answers (float32 store) into `dir`. */
async function build(dir: string, items: number, nq: number): Promise<void> {
  const rand = seededRandom(11);
  const g = gaussian(rand);
  const clusters = 2000;
  const centroids: Float32Array[] = [];
  for (let c = 0; c < clusters; c++) {
    const v = new Float32Array(DIMS);
    for (let j = 0; j < DIMS; j++) v[j] = g();
    centroids.push(normalise(v));
  }
  const t0 = performance.now();
  const m = new Float32Array(items * DIMS);
  for (let r = 0; r < items; r++) {
    const c = centroids[Math.floor(rand() * clusters)]!;
    const row = m.subarray(r * DIMS, (r + 1) * DIMS);
    for (let j = 0; j < DIMS; j++) row[j] = c[j]! + 0.05 * g();
    normalise(row);
  }
  const changes: FileChange[] = [];
  for (let f = 0; f * CHUNKS_PER_FILE < items; f++) {
    const p = filePath(f);
    const list: VectorItem[] = [];
    for (let c = 0; c < CHUNKS_PER_FILE && f * CHUNKS_PER_FILE + c < items; c++) {
      const r = f * CHUNKS_PER_FILE + c;
      const hash = rowHash(r);
      list.push({
        id: `${p}#L${c * 30 + 1}-L${c * 30 + 30}#${hash.slice(0, 8)}`,
        hash,
        vector: m.subarray(r * DIMS, (r + 1) * DIMS),
      });
    }
    changes.push({ path: p, items: list });
  }
  const store = await VectorStore.open(path.join(dir, 'v'), { dimensions: DIMS, precision: 'float32' });
  await store.applyFileChanges(changes);
  await store.close();
  console.error(`built ${items} vectors in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const queries: number[][] = [];
  for (let i = 0; i < nq; i++) {
    const r = Math.floor(rand() * items);
    const q = new Float32Array(DIMS);
    for (let j = 0; j < DIMS; j++) q[j] = m[r * DIMS + j]! + 0.03 * g();
    queries.push(Array.from(normalise(q)));
  }
  changes.length = 0;
  const exact = await VectorStore.open(path.join(dir, 'v'), { dimensions: DIMS, precision: 'float32', readOnly: true });
  const truth: Truth = { queries, exact: queries.map((q) => exact.query(Float32Array.from(q), K).map((h) => h.id)) };
  await exact.close();
  fs.writeFileSync(path.join(dir, 'truth.json'), JSON.stringify(truth));
}

/** Child: opens the store at one precision and prints one JSON line of measurements. */
async function serve(dir: string, precision: 'float32' | 'int8'): Promise<void> {
  const truth = JSON.parse(fs.readFileSync(path.join(dir, 'truth.json'), 'utf8')) as Truth;
  const queries = truth.queries.map((q) => Float32Array.from(q));
  const rssBase = process.memoryUsage().rss;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const store = await VectorStore.open(path.join(dir, 'v'), { dimensions: DIMS, precision, readOnly: true });
  const openMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const rssOpen = process.memoryUsage().rss;
  const heapOpen = process.memoryUsage().heapUsed;
  const times: number[] = [];
  let found = 0;
  queries.forEach((q, i) => {
    const s = performance.now();
    const hits = store.query(q, K);
    times.push(performance.now() - s);
    const want = new Set(truth.exact[i]);
    found += hits.filter((h) => want.has(h.id)).length;
  });
  const out = {
    precision,
    count: store.count,
    openMs,
    openCpuMs: (cpu.user + cpu.system) / 1000,
    heapOpenMB: heapOpen / 2 ** 20,
    rssBaseMB: rssBase / 2 ** 20,
    rssOpenMB: rssOpen / 2 ** 20,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    p50: pct(times, 50),
    p95: pct(times, 95),
    recall: found / (queries.length * K),
  };
  await store.close();
  console.log(`RESULT ${JSON.stringify(out)}`);
}

function child(args: string[]): string {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', process.argv[1]!, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status})`);
  return r.stdout;
}

async function main(): Promise<void> {
  const phase = strArg('phase');
  const dir = strArg('dir');
  if (phase === 'build') return build(dir!, arg('items', 1_000_000), arg('queries', 200));
  if (phase === 'serve') return serve(dir!, strArg('precision') as 'float32' | 'int8');

  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${mb(os.totalmem())}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  await realVectors();
  const items = arg('items', 1_000_000);
  const nq = arg('queries', 200);
  const keep = strArg('keep');
  const tmp = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'gw-q-syn-'));
  try {
    if (keep && fs.existsSync(path.join(tmp, 'truth.json'))) console.log(`reusing the store in ${tmp}`);
    else {
      fs.mkdirSync(tmp, { recursive: true });
      child(['--phase', 'build', '--dir', tmp, '--items', String(items), '--queries', String(nq)]);
    }
    let disk = 0;
    for (const e of fs.readdirSync(path.join(tmp, 'v'), { recursive: true, withFileTypes: true })) if (e.isFile()) disk += fs.statSync(path.join(e.parentPath, e.name)).size;
    console.log(`clustered synthetic: ${items} × ${DIMS} (2,000 clusters), 32 shards, ${mb(disk)} on disk; ${nq} queries, recall@10 vs exact float32 search`);
    const precisions: Array<'float32' | 'int8'> = process.argv.includes('--skip-float') ? ['int8'] : ['int8', 'float32'];
    for (const p of precisions) {
      const line = child(['--phase', 'serve', '--dir', tmp, '--precision', p])
        .split('\n')
        .find((l) => l.startsWith('RESULT '));
      const r = JSON.parse(line!.slice(7)) as {
        count: number;
        openMs: number;
        openCpuMs: number;
        heapOpenMB: number;
        rssOpenMB: number;
        peakRssMB: number;
        p50: number;
        p95: number;
        recall: number;
      };
      console.log(
        `  ${p.padEnd(8)} open ${(r.openMs / 1000).toFixed(2)} s (CPU ${(r.openCpuMs / 1000).toFixed(2)} s), JS heap ${r.heapOpenMB.toFixed(0)} MB, RSS after open ${r.rssOpenMB.toFixed(0)} MB, peak RSS ${r.peakRssMB.toFixed(0)} MB, query k=10 p50 ${r.p50.toFixed(1)} / p95 ${r.p95.toFixed(1)} ms, recall@10 ${r.recall.toFixed(4)}`,
      );
    }
  } finally {
    if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
