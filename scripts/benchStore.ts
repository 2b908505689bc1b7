/**
 * Scale benchmark of the shared index on PostgreSQL (docs/scale.md): a corpus is indexed locally,
 * published into a PGlite server (PostgreSQL 18 + pgvector in WebAssembly, a separate process with
 * its data on disk, reached over a loopback socket through `pg`), opened back by a *separate reader
 * process* (so its memory is the reader's alone), and queried. Vectors come from the deterministic
 * *test* embedder (feature hashing): they exercise the storage, the HNSW index and the socket, not
 * model quality. Nothing is asserted; numbers are printed.
 *
 *   node scripts/runTs.mjs scripts/benchStore.ts [--files N] [--dims D] [--corpus DIR] [--queries N]
 *        [--keywords-only] [--keep] [--reuse DIR] [--posting-cache ENTRIES] [--text-cache CHARS]
 *
 * Default corpus: the first N (10,000) .js/.ts files of this project's node_modules, as
 * `groundwork bench` uses. Measures: local index time, publish time per phase, database size
 * (Groundwork tables and the data folder); in the reader process: open time (wall and CPU), RSS and
 * heap after open, keyword search p50/p95 (first pass: postings fetched; second pass: from the
 * reader's caches) and the hybrid search; then (with vectors) the vector k-NN alone with and
 * without the HNSW index, the HNSW build time and its recall against the exact scan.
 *
 * `--keywords-only` publishes no vectors (vectors publish at ~100/s on PGlite). `--keep` keeps the
 * temporary folder (the PGlite data, the queries); `--reuse DIR` skips indexing and publishing and
 * measures the reader on the data kept in DIR (migrating it first when its schema is older).
 * `--posting-cache` / `--text-cache` set the reader's cache sizes (PostgresStoreOptions).
 * `--compare-local CORPUS` (with a kept folder) finally runs the queries on the local index too and
 * counts the queries whose top 10 (places and scores) are identical.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { buildCorpus, makeQueries, percentile } from '../src/cli/bench';
import type { SnapshotInfo } from '../src/core/indexStore';
import { search } from '../src/core/retrieval';
import { HashingTestEmbedder } from '../src/core/testEmbedder';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { PostgresStore } from '../src/providers/postgresStore';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const files = Number(arg('--files', '10000'));
const dims = Number(arg('--dims', '384'));
const queryCount = Number(arg('--queries', '200'));
const keep = process.argv.includes('--keep');
const keywordsOnly = process.argv.includes('--keywords-only');
// The reader's caches (PostgresStoreOptions.postingCacheEntries / textCacheChars); absent: the defaults.
const postingCache = arg('--posting-cache');
const textCache = arg('--text-cache');
// Run from the repository root (the bundle itself runs from the OS temp folder).
const repoRoot = process.cwd();

const now = () => process.hrtime.bigint();
const msSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const cpuMs = (u: NodeJS.CpuUsage) => Math.round((u.user + u.system) / 1000);

async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await duBytes(p);
    else if (e.isFile()) n += (await fsp.stat(p)).size;
  }
  return n;
}

/** Starts a child process and resolves with its first stdout line (and a way to stop it). */
async function startChild(args: string[]): Promise<{ line: string; rest: Promise<string>; stop(): Promise<void>; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const lines: string[] = [];
  let first: ((l: string) => void) | undefined;
  const line = new Promise<string>((resolve, reject) => {
    first = resolve;
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0]!)} exited (${code}) before printing`)));
  });
  rl.on('line', (l) => {
    if (first) {
      first(l.trim());
      first = undefined;
    } else lines.push(l);
  });
  const rest = new Promise<string>((resolve) => child.once('exit', () => resolve(lines.join('\n'))));
  return {
    line: await line,
    rest,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const stats = (xs: number[]) => ({ p50: +percentile(xs, 50).toFixed(1), p95: +percentile(xs, 95).toFixed(1), max: +Math.max(...xs).toFixed(1) });

/** The reader process: opens the snapshot, measures, searches; prints one JSON line. */
async function reader(url: string, queriesFile: string): Promise<void> {
  const queries: string[] = JSON.parse(await fsp.readFile(queriesFile, 'utf8'));
  const embedder = keywordsOnly ? undefined : new HashingTestEmbedder(dims);
  const store = await PostgresStore.connect(url, {
    maxConnections: 4,
    ...(postingCache ? { postingCacheEntries: Number(postingCache) } : {}),
    ...(textCache ? { textCacheChars: Number(textCache) } : {}),
  });
  const out: Record<string, unknown> = {
    postingCache: postingCache ?? 'default',
    textCache: textCache ?? 'default',
    rssBeforeOpenMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  const cpu0 = process.cpuUsage();
  const t = now();
  const stored = await store.open({ repository: 'bench/corpus' }, { embedder });
  out.openS = +(msSince(t) / 1000).toFixed(2);
  out.openCpuMs = cpuMs(process.cpuUsage(cpu0));
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  out.rssAfterOpenMb = Math.round(m.rss / 2 ** 20);
  out.heapAfterOpenMb = Math.round(m.heapUsed / 2 ** 20);
  out.externalAfterOpenMb = Math.round((m.external + m.arrayBuffers) / 2 ** 20);
  const timings = (stored as { openTimings?: unknown }).openTimings;
  if (timings) out.openTimings = timings;
  const pass = async (mode: 'hybrid' | 'lexical') => {
    const times: number[] = [];
    const c0 = process.cpuUsage();
    for (const q of queries) {
      const t0 = now();
      await search(stored, q, { k: 10, mode });
      times.push(msSince(t0));
    }
    return { ...stats(times), cpuMsPerQuery: +(cpuMs(process.cpuUsage(c0)) / queries.length).toFixed(1) };
  };
  out.lexicalFirstPass = await pass('lexical');
  out.lexicalSecondPass = await pass('lexical');
  if (stored.vectors) out.hybrid = await pass('hybrid');
  out.rssAfterSearchesMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  out.heldPostings = { chunks: stored.lexical.heldPostings, files: stored.fileLexical.heldPostings };
  // The alternative to the packed document table: the same per-chunk fields as one row per chunk.
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const cpu1 = process.cpuUsage();
  const t1 = now();
  const rows = await c.query('SELECT doc, chunk_id, path, ord, start_line, end_line, language, symbols, lex_length FROM gw_chunks WHERE snapshot_id = $1 ORDER BY doc', [
    stored.snapshot.id,
  ]);
  out.rowPerChunkRead = { rows: rows.rows.length, s: +(msSince(t1) / 1000).toFixed(2), cpuMs: cpuMs(process.cpuUsage(cpu1)) };
  await c.end();
  // Last (its memory is not the reader's): the same queries on the local index the snapshot was
  // published from, when it was kept, compared hit for hit (places and scores), keywords only.
  const corpusDir = arg('--compare-local');
  if (corpusDir) {
    const local = await WorkspaceIndex.open({ roots: rootsFromDirs([corpusDir]), indexDir: path.join(path.dirname(queriesFile), 'index'), write: false });
    let same = 0;
    const place = (h: { path: string; startLine: number; endLine: number; score: number }) => `${h.path}:${h.startLine}-${h.endLine}:${h.score}`;
    for (const q of queries) {
      const a = (await search(stored, q, { k: 10, mode: 'lexical' })).map(place).join('\n');
      const b = (await search(local, q, { k: 10, mode: 'lexical' })).map(place).join('\n');
      if (a === b) same++;
    }
    out.identicalToLocal = `${same} / ${queries.length} queries (places and scores of the top 10, keywords)`;
    await local.close();
  }
  await stored.close();
  await store.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const reuse = arg('--reuse');
  const tmp = reuse ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'gw-benchstore-')));
  const out: Record<string, unknown> = {
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    loadavg: os.loadavg().map((x) => +x.toFixed(1)),
    vectors: !keywordsOnly,
  };
  let server: Awaited<ReturnType<typeof startChild>> | undefined;
  const dataDir = path.join(tmp, 'pgdata');
  const queriesFile = path.join(tmp, 'queries.json');
  try {
    const embedder = keywordsOnly ? undefined : new HashingTestEmbedder(dims);
    let index: WorkspaceIndex | undefined;
    if (!reuse) {
      let corpus = arg('--corpus');
      if (!corpus) {
        corpus = path.join(tmp, 'corpus');
        const n = await buildCorpus(path.join(repoRoot, 'node_modules'), corpus, { maxFiles: files });
        out.corpus = `${n} .js/.ts files from this project's node_modules`;
      } else out.corpus = corpus;
      log('indexing locally…');
      const t = now();
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir: path.join(tmp, 'index'), embedder });
      await index.update();
      out.localIndexS = +(msSince(t) / 1000).toFixed(1);
      out.files = index.fileCount;
      out.chunks = index.chunkCount;
      log(`${index.fileCount} files, ${index.chunkCount} chunks in ${out.localIndexS} s`);
      if (!index.fileCount) throw new Error(`no file of ${corpus} was indexed`);
      await fsp.writeFile(queriesFile, JSON.stringify(makeQueries(index).slice(0, queryCount)));
    } else out.reused = reuse;

    server = await startChild([path.join(repoRoot, 'scripts', 'pgliteServer.mjs'), '--data', dataDir]);
    const url = server.line;
    const store = await PostgresStore.connect(url, { maxConnections: 4 });
    let info: SnapshotInfo;
    if (index) {
      log(`publishing to ${url}…`);
      const phaseStart = new Map<string, bigint>();
      const phaseMs: Record<string, number> = {};
      let last = '';
      const t = now();
      info = await store.publish(
        await index.snapshotSource(),
        { repository: 'bench/corpus', commit: 'bench0000', dirty: false },
        {
          onProgress: (p) => {
            if (p.phase !== last) {
              if (last) phaseMs[last] = msSince(phaseStart.get(last)!);
              phaseStart.set(p.phase, now());
              last = p.phase;
              log(`publish: ${p.phase}`);
            }
          },
        },
      );
      out.publishS = +(msSince(t) / 1000).toFixed(1);
      out.publishPhasesS = Object.fromEntries(Object.entries(phaseMs).map(([k, v]) => [k, +(v / 1000).toFixed(1)]));
      await index.close();
    } else {
      const t = now();
      const before = await store.schemaVersion();
      const after = await store.migrate();
      if (after !== before) out.migration = { from: before, to: after, s: +(msSince(t) / 1000).toFixed(1) };
      info = (await store.snapshots('bench/corpus')).find((s) => s.state === 'ready')!;
      out.files = info.files;
      out.chunks = info.chunks;
    }
    const st = await store.status();
    out.tablesSize = mb(st.sizeBytes);
    out.dataDirSize = mb(await duBytes(dataDir));
    out.server = st.serverVersion.split(' on ')[0];

    log('reader process: open and search…');
    const self = process.argv[1]!;
    const r = await startChild([
      '--expose-gc',
      self,
      '--reader',
      url,
      queriesFile,
      '--dims',
      String(dims),
      ...(keywordsOnly ? ['--keywords-only'] : []),
      ...(postingCache ? ['--posting-cache', postingCache] : []),
      ...(textCache ? ['--text-cache', textCache] : []),
      ...(arg('--compare-local') ? ['--compare-local', arg('--compare-local')!] : []),
    ]);
    await r.rest;
    out.reader = JSON.parse(r.line);

    if (!keywordsOnly && info.vectors) {
      const queries: string[] = JSON.parse(await fsp.readFile(queriesFile, 'utf8'));
      const vectorsOf = await Promise.all(queries.map((q) => embedder!.embedQuery(q)));
      const knn = async (k: number) => {
        for (const v of vectorsOf.slice(0, 5)) await store.nearest(info, v, k);
        const times: number[] = [];
        const results: number[][] = [];
        for (const v of vectorsOf) {
          const t0 = now();
          const res = await store.nearest(info, v, k);
          times.push(msSince(t0));
          results.push(res.map((x) => x.doc));
        }
        return { times, results };
      };
      log('k-NN with HNSW…');
      const hnsw300 = await knn(300);
      const hnsw10 = await knn(10);
      out.withHnsw = { knn300: stats(hnsw300.times), knn10: stats(hnsw10.times) };
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP INDEX gw_vectors_${dims}_hnsw`);
      await admin.query(`ANALYZE gw_vectors_${dims}`);
      log('k-NN without HNSW (exact scan)…');
      const exact300 = await knn(300);
      const exact10 = await knn(10);
      out.withoutHnsw = { knn300: stats(exact300.times), knn10: stats(exact10.times) };
      const recall = (a: number[][], b: number[][], k: number) =>
        +(a.reduce((s, x, i) => s + x.slice(0, k).filter((d) => new Set(b[i]!.slice(0, k)).has(d)).length / Math.max(1, Math.min(k, b[i]!.length)), 0) / a.length).toFixed(3);
      out.hnswRecallAt10 = recall(hnsw10.results, exact10.results, 10);
      out.hnswRecallAt300 = recall(hnsw300.results, exact300.results, 300);
      log('rebuilding the HNSW index…');
      const t = now();
      await admin.query(`CREATE INDEX gw_vectors_${dims}_hnsw ON gw_vectors_${dims} USING hnsw (embedding vector_cosine_ops)`);
      out.hnswBuildS = +(msSince(t) / 1000).toFixed(1);
      await admin.end();
    }
    await store.close();
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await server?.stop();
    if (!keep && !reuse) await fsp.rm(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

if (process.argv[2] === '--reader') {
  reader(process.argv[3]!, process.argv[4]!).catch((err) => {
    process.stderr.write(`benchStore reader: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  main().catch((err) => {
    process.stderr.write(`benchStore: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
