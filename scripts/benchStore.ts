/**
 * Scale benchmark of the shared index on PostgreSQL (docs/scale.md): a corpus is indexed locally,
 * published into a PGlite server (PostgreSQL 18 + pgvector in WebAssembly, a separate process with
 * its data on disk, reached over a loopback socket through `pg`), opened back, and queried.
 * Vectors come from the deterministic *test* embedder (feature hashing): they exercise the storage,
 * the HNSW index and the socket, not model quality. Nothing is asserted; numbers are printed.
 *
 *   node scripts/runTs.mjs scripts/benchStore.ts [--files N] [--dims D] [--corpus DIR] [--queries N] [--keep]
 *
 * Default corpus: the first N (10,000) .js/.ts files of this project's node_modules, as
 * `groundwork bench` uses. Measures: local index time, publish time per phase, database size
 * (Groundwork tables and the data folder), snapshot load time, then over the socket the vector
 * k-NN alone and the full hybrid search, first with the HNSW index, then after dropping it (exact
 * scan), then the time to build the HNSW index from scratch and the recall of HNSW against exact.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { buildCorpus, makeQueries, percentile } from '../src/cli/bench';
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
// Run from the repository root (the bundle itself runs from the OS temp folder).
const repoRoot = process.cwd();

const now = () => process.hrtime.bigint();
const msSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await duBytes(p);
    else if (e.isFile()) n += (await fsp.stat(p)).size;
  }
  return n;
}

async function startServer(dataDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'pgliteServer.mjs'), '--data', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => resolve(l.trim()));
    child.once('exit', (code) => reject(new Error(`the PGlite server exited (${code}) before listening`)));
  });
  return {
    url,
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

async function main(): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'gw-benchstore-'));
  const out: Record<string, unknown> = {
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    loadavg: os.loadavg().map((x) => +x.toFixed(1)),
  };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    let corpus = arg('--corpus');
    if (!corpus) {
      corpus = path.join(tmp, 'corpus');
      const n = await buildCorpus(path.join(repoRoot, 'node_modules'), corpus, { maxFiles: files });
      out.corpus = `${n} .js/.ts files from this project's node_modules`;
    } else out.corpus = corpus;
    const embedder = new HashingTestEmbedder(dims);
    log('indexing locally…');
    let t = now();
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir: path.join(tmp, 'index'), embedder });
    await index.update();
    out.localIndexS = +(msSince(t) / 1000).toFixed(1);
    out.files = index.fileCount;
    out.chunks = index.chunkCount;
    log(`${index.fileCount} files, ${index.chunkCount} chunks in ${out.localIndexS} s`);
    if (!index.fileCount) throw new Error(`no file of ${corpus} was indexed`);

    const dataDir = path.join(tmp, 'pgdata');
    server = await startServer(dataDir);
    const store = await PostgresStore.connect(server.url, { maxConnections: 4 });
    log(`publishing to ${server.url}…`);
    const phaseStart = new Map<string, bigint>();
    const phaseMs: Record<string, number> = {};
    let last = '';
    t = now();
    const info = await store.publish(
      index.snapshotSource(),
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
    const st = await store.status();
    out.tablesSize = mb(st.sizeBytes);
    out.dataDirSize = mb(await duBytes(dataDir));
    out.server = st.serverVersion.split(' on ')[0];
    await index.close();

    t = now();
    const stored = await store.open({ repository: 'bench/corpus' }, { embedder });
    out.openS = +(msSince(t) / 1000).toFixed(2);
    out.rssAfterOpenMb = Math.round(process.memoryUsage().rss / 2 ** 20);
    const queries = makeQueries(stored).slice(0, queryCount);
    const vectorsOf = await Promise.all(queries.map((q) => embedder.embedQuery(q)));

    const knn = async (k: number) => {
      for (const v of vectorsOf.slice(0, 5)) await store.nearest(info, v, k);
      const times: number[] = [];
      const results: number[][] = [];
      for (const v of vectorsOf) {
        const t0 = now();
        const r = await store.nearest(info, v, k);
        times.push(msSince(t0));
        results.push(r.map((x) => x.doc));
      }
      return { times, results };
    };
    const searches = async (mode: 'hybrid' | 'lexical') => {
      for (const q of queries.slice(0, 5)) await search(stored, q, { k: 10, mode });
      const times: number[] = [];
      for (const q of queries) {
        const t0 = now();
        await search(stored, q, { k: 10, mode });
        times.push(msSince(t0));
      }
      return stats(times);
    };

    log('queries with HNSW…');
    const hnsw300 = await knn(300);
    const hnsw10 = await knn(10);
    out.withHnsw = { knn300: stats(hnsw300.times), knn10: stats(hnsw10.times), hybridSearch: await searches('hybrid') };
    out.lexicalSearch = await searches('lexical');

    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`DROP INDEX gw_vectors_${dims}_hnsw`);
    await admin.query(`ANALYZE gw_vectors_${dims}`);
    log('queries without HNSW (exact scan)…');
    const exact300 = await knn(300);
    const exact10 = await knn(10);
    out.withoutHnsw = { knn300: stats(exact300.times), knn10: stats(exact10.times), hybridSearch: await searches('hybrid') };
    const recall = (a: number[][], b: number[][], k: number) =>
      +(a.reduce((s, r, i) => s + r.slice(0, k).filter((d) => new Set(b[i]!.slice(0, k)).has(d)).length / Math.max(1, Math.min(k, b[i]!.length)), 0) / a.length).toFixed(3);
    out.hnswRecallAt10 = recall(hnsw10.results, exact10.results, 10);
    out.hnswRecallAt300 = recall(hnsw300.results, exact300.results, 300);
    log('rebuilding the HNSW index…');
    t = now();
    await admin.query(`CREATE INDEX gw_vectors_${dims}_hnsw ON gw_vectors_${dims} USING hnsw (embedding vector_cosine_ops)`);
    out.hnswBuildS = +(msSince(t) / 1000).toFixed(1);
    await admin.end();
    await stored.close();
    await store.close();
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await server?.stop();
    if (!keep) await fsp.rm(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

main().catch((err) => {
  process.stderr.write(`benchStore: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
