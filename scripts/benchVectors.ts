/**
 * Vector store benchmark: synthetic L2-normalised vectors (default 100k × 384 in 32 shards, 20 chunks per
 * file) → bulk build time, size on disk, reopen time, query p50/p95 (200 queries, k = 50), time to
 * replace one file's 20 vectors (applied + persisted), compaction, peak RSS.
 *
 * Run:   node scripts/runTs.mjs scripts/benchVectors.ts [--items 100000] [--dims 384] [--shards 32]
 *
 * Reopen, queries and single-file updates run in a fresh child process, so their peak RSS is that of a
 * process serving an existing index (the builder also holds the synthetic source vectors). Prints one
 * JSON line (prefixed `BENCH `) and a readable table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { VectorStore, type FileChange, type VectorItem } from '../src/core/vectorStore';
import { shardOf } from '../src/core/fsUtil';
import { seededRandom } from '../src/core/random.mjs';

const CHUNKS_PER_FILE = 20;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function unitVectors(n: number, dims: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const m = new Float32Array(n * dims);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dims; j++) {
      const x = rand() * 2 - 1;
      m[r * dims + j] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dims; j++) m[r * dims + j]! *= inv;
  }
  return m;
}

function filePath(f: number): string {
  return `src/module${f % 97}/sub${f % 7}/file${f}.ts`;
}

/** A 16-hex-digit content hash for row `r` under `tag` (a 64-bit mix, so hashes look like hash16's). */
function rowHash(r: number, tag: string): string {
  const t = tag.charCodeAt(0) || 0;
  let h = Math.imul(r ^ 0x9e3779b9 ^ (t << 24), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  let l = Math.imul((r + 0x7f4a7c15) ^ h, 0x27d4eb2f) >>> 0;
  l = (l ^ (l >>> 15)) >>> 0;
  return h.toString(16).padStart(8, '0') + l.toString(16).padStart(8, '0');
}

/** One file's change; ids and hashes have the chunker's form (`<path>#L<a>-L<b>#<hash[0..8)>`), as in a real index. */
function fileChange(f: number, m: Float32Array, firstRow: number, dims: number, tag: string): FileChange {
  const items: VectorItem[] = [];
  const p = filePath(f);
  for (let c = 0; c < CHUNKS_PER_FILE; c++) {
    const r = firstRow + c;
    const hash = rowHash(r, tag);
    items.push({
      id: `${p}#L${c * 30 + 1}-L${c * 30 + 30}#${hash.slice(0, 8)}`,
      hash,
      vector: m.subarray(r * dims, (r + 1) * dims),
    });
  }
  return { path: p, items };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const ms = (x: number) => Math.round(x * 10) / 10;
/** maxRSS is reported in KB by Node. */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function serve(dir: string, dims: number, shards: number, files: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const store = await VectorStore.open(dir, { dimensions: dims, shards });
  const reopenMs = performance.now() - t0;
  const rssAfterOpen = process.memoryUsage().rss;
  const queries = unitVectors(200, dims, 99);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) store.query(queries.subarray(0, dims), 50); // warm-up (JIT)
  for (let i = 0; i < 200; i++) {
    const q = queries.subarray(i * dims, (i + 1) * dims);
    const t = performance.now();
    const hits = store.query(q, 50);
    times.push(performance.now() - t);
    if (hits.length !== 50) throw new Error('short result');
  }
  const fresh = unitVectors(CHUNKS_PER_FILE * 40, dims, 1234);
  const replace: number[] = [];
  for (let i = 0; i < 40; i++) {
    const f = (i * 7919) % files;
    const t = performance.now();
    await store.applyFileChanges([fileChange(f, fresh, i * CHUNKS_PER_FILE, dims, `u${i}x`)]);
    replace.push(performance.now() - t);
  }
  // Deleting 30% of the files tombstones > 25% of rows and triggers one compaction.
  const del: FileChange[] = [];
  for (let f = 0; f < files; f += 3) del.push({ path: filePath(f), items: null });
  const td = performance.now();
  await store.applyFileChanges(del);
  const deleteMs = performance.now() - td;
  const tq = performance.now();
  store.query(queries.subarray(0, dims), 50);
  const queryAfterCompactMs = performance.now() - tq;
  const count = store.count;
  await store.close();
  return {
    reopenMs: ms(reopenMs),
    rssAfterOpenMb: mb(rssAfterOpen),
    queryP50Ms: ms(pct(times, 50)),
    queryP95Ms: ms(pct(times, 95)),
    replaceFileP50Ms: ms(pct(replace, 50)),
    replaceFileP95Ms: ms(pct(replace, 95)),
    delete30pctFilesMs: ms(deleteMs),
    countAfterDelete: count,
    queryAfterCompactMs: ms(queryAfterCompactMs),
    servePeakRssMb: peakRssMb(),
  };
}

async function main(): Promise<void> {
  const items = arg('items', 100_000);
  const dims = arg('dims', 384);
  const shards = arg('shards', 32);
  const files = Math.ceil(items / CHUNKS_PER_FILE);
  const phase = process.argv.indexOf('--serve');
  if (phase >= 0) {
    const out = await serve(process.argv[phase + 1]!, dims, shards, files);
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  try {
    const tg = performance.now();
    const m = unitVectors(files * CHUNKS_PER_FILE, dims, 42);
    const genMs = performance.now() - tg;
    const changes: FileChange[] = [];
    for (let f = 0; f < files; f++) changes.push(fileChange(f, m, f * CHUNKS_PER_FILE, dims, 'c'));

    // 1. Bulk build, one call (large shard updates take the codec path, see VECTRA_INSERT_SCAN_BUDGET).
    const dir = path.join(root, 'bulk');
    let t = performance.now();
    const store = await VectorStore.open(dir, { dimensions: dims, shards });
    await store.applyFileChanges(changes);
    const bulkBuildMs = performance.now() - t;
    const sizeOnDisk = await store.sizeOnDisk();
    await store.close();

    // 2. Same build forced through vectra's insertItem (to show the quadratic duplicate-id scan).
    const dirV = path.join(root, 'vectra');
    t = performance.now();
    const sv = await VectorStore.open(dirV, { dimensions: dims, shards, vectraInsertScanBudget: Infinity });
    await sv.applyFileChanges(changes);
    const bulkBuildVectraInsertMs = performance.now() - t;
    await sv.close();
    fs.rmSync(dirV, { recursive: true, force: true });

    // 3. Build in 20 batches (how an indexer feeds files as they are embedded): every batch touches
    // every shard, so later batches rewrite ever larger shards.
    const dirB = path.join(root, 'batches');
    t = performance.now();
    const sb = await VectorStore.open(dirB, { dimensions: dims, shards });
    const per = Math.ceil(files / 20);
    for (let i = 0; i < files; i += per) await sb.applyFileChanges(changes.slice(i, i + per));
    const build20BatchesMs = performance.now() - t;
    await sb.close();
    fs.rmSync(dirB, { recursive: true, force: true });

    // 4. Same 20 batches, but files ordered by shard first: each batch then touches ~2 shards, so the
    // total bytes written stay close to the final index size instead of ~10× it.
    const dirS = path.join(root, 'sorted');
    const sorted = [...changes].sort((a, b) => shardOf(a.path, shards) - shardOf(b.path, shards));
    t = performance.now();
    const ss = await VectorStore.open(dirS, { dimensions: dims, shards });
    for (let i = 0; i < files; i += per) await ss.applyFileChanges(sorted.slice(i, i + per));
    const build20BatchesByShardMs = performance.now() - t;
    await ss.close();
    fs.rmSync(dirS, { recursive: true, force: true });

    const buildPeakRssMb = peakRssMb();
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1]!, '--serve', dir, '--items', String(items), '--dims', String(dims), '--shards', String(shards)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) throw new Error(`serve phase failed: ${child.stderr}`);
    const served = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number>;

    const result = {
      items: files * CHUNKS_PER_FILE,
      dims,
      shards,
      node: process.version,
      cpus: os.cpus().length,
      generateVectorsMs: ms(genMs),
      bulkBuildMs: ms(bulkBuildMs),
      bulkBuildVectraInsertMs: ms(bulkBuildVectraInsertMs),
      build20BatchesMs: ms(build20BatchesMs),
      build20BatchesByShardMs: ms(build20BatchesByShardMs),
      sizeOnDiskMb: mb(sizeOnDisk),
      bytesPerItem: Math.round(sizeOnDisk / (files * CHUNKS_PER_FILE)),
      buildPeakRssMb,
      ...served,
    };
    process.stdout.write(`BENCH ${JSON.stringify(result)}\n\n`);
    const rows: Array<[string, string]> = [
      ['items × dims / shards', `${result.items} × ${dims} / ${shards}`],
      ['bulk build (one call)', `${result.bulkBuildMs} ms`],
      ['bulk build via vectra insertItem', `${result.bulkBuildVectraInsertMs} ms`],
      ['build in 20 batches (files in path order)', `${result.build20BatchesMs} ms`],
      ['build in 20 batches (files ordered by shard)', `${result.build20BatchesByShardMs} ms`],
      ['size on disk', `${result.sizeOnDiskMb} MB (${result.bytesPerItem} B/item)`],
      ['reopen (load 32 shards + matrix)', `${served.reopenMs} ms`],
      ['RSS after reopen', `${served.rssAfterOpenMb} MB`],
      ['query k=50 p50 / p95', `${served.queryP50Ms} / ${served.queryP95Ms} ms`],
      ['replace one file (20 vectors) p50 / p95', `${served.replaceFileP50Ms} / ${served.replaceFileP95Ms} ms`],
      ['delete 30% of files (+ compaction)', `${served.delete30pctFilesMs} ms`],
      ['query after compaction', `${served.queryAfterCompactMs} ms`],
      ['peak RSS: builder / server', `${buildPeakRssMb} / ${served.servePeakRssMb} MB`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
