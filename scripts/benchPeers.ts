/**
 * `npm run bench:peers`: Groundwork side by side with the tools a user would pick instead, in one run,
 * on the same corpus and the same queries as `npm run bench` (the first 10,000 indexable .js/.ts files
 * of this project's node_modules; 200 short queries and 20 ~10 KB issue reports made from its chunks).
 *
 *   node scripts/build.mjs --scripts && node out/scripts/benchPeers.js [--record docs/benchmarks.md] [--keep DIR] [--max-files N]
 *
 * `--keep DIR` keeps the corpus and every index there (a re-run reuses the corpus); `--max-files N`
 * takes a smaller corpus (a quick check of the harness, not the recorded benchmark).
 *
 * Lexical, like with like (the same chunk texts from Groundwork's chunker are given to every index):
 *   - Groundwork: the product's `search()` (two-stage retrieval: chunk BM25, whole-file BM25, file
 *     ranking, widened hits) and, for the engine alone, `LexicalIndex.search` over the same terms;
 *   - ripgrep: one `rg` process per query over the corpus files (no index, no ranking: it counts the
 *     matches of the query's words per file; what an agent's grep tool does);
 *   - SQLite FTS5 through better-sqlite3, configured as Continue does: `fts5(path, content,
 *     tokenize = 'trigram')`, one row per chunk, the query's words OR'ed, `ORDER BY bm25(fts, 10, 1)`.
 * Vectors, like with like (the same deterministic 384-d *test* vectors for every store, from the
 * feature-hashing test embedder: not semantic, they exercise storage and exact search only):
 *   - Groundwork's VectorStore (32 vectra shards, binary codec, one SIMD-scored matrix);
 *   - LanceDB (`@lancedb/lancedb`): one table, exhaustive (flat) search, no ANN index, as Continue uses it;
 *   - vectra's own LocalIndex with its default JSON codec and its query loop.
 *
 * Every system is indexed in one fresh process and opened and queried in another, so each RSS figure is
 * that system's alone. "open" is what the system does before it can answer (connect, load); "first
 * answer" is open plus the first query, which for lazily loading stores (SQLite, LanceDB) is where the
 * reading happens. The peers are dependencies of this benchmark only: bench/peers/package.json and its
 * lockfile, installed on first use from the npm registry (`--omit=optional`, install scripts off;
 * better-sqlite3 is then compiled from source with node-gyp against this Node's headers, so nothing is
 * downloaded from outside the registry). The benchmark asserts nothing; it prints what it measured.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, CORPUS_MAX_FILES, makeQueries, percentile } from '../src/cli/bench';
import { spliceSection } from '../src/cli/recordSection.mjs';
import { analyzeQuery } from '../src/core/queryAnalysis';
import { search } from '../src/core/retrieval';
import { HashingTestEmbedder } from '../src/core/testEmbedder';
import { VectorStore, type FileChange } from '../src/core/vectorStore';
import { embeddingText, rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

const ROOT = path.resolve('.');
const PEERS_DIR = path.join(ROOT, 'bench', 'peers');
const DIMS = 384;
const K = 10;

// ---------------------------------------------------------------------------------------------------
// Shared inputs (written by the Groundwork index process, read by every peer)

interface ChunkRow {
  id: string;
  path: string;
  text: string;
}

interface Inputs {
  corpus: string;
  chunks: string; // JSON lines of ChunkRow
  queries: string; // JSON array of strings
  vectors: string; // N × DIMS float32, chunk order
  queryVectors: string; // Q × DIMS float32
}

function inputsIn(work: string): Inputs {
  return {
    corpus: path.join(work, 'corpus'),
    chunks: path.join(work, 'chunks.jsonl'),
    queries: path.join(work, 'queries.json'),
    vectors: path.join(work, 'vectors.f32'),
    queryVectors: path.join(work, 'query-vectors.f32'),
  };
}

async function readChunks(file: string): Promise<ChunkRow[]> {
  return (await fsp.readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ChunkRow);
}

async function readMatrix(file: string): Promise<Float32Array> {
  const buf = await fsp.readFile(file);
  const out = new Float32Array(buf.length / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

const row = (m: Float32Array, i: number) => m.subarray(i * DIMS, (i + 1) * DIMS);

// ---------------------------------------------------------------------------------------------------
// Measurement helpers

const now = () => performance.now();
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

interface IndexResult {
  indexMs: number;
  peakRssMb: number;
  note?: string;
  error?: string;
}

interface QueryResult {
  openMs: number;
  firstAnswerMs: number;
  p50: number;
  p95: number;
  rssMb: number;
  peakRssMb: number;
  queries: number;
  note?: string;
  error?: string;
}

/** Times `run` over every query (after `warm` untimed ones, so JIT and caches are warm as in the product bench). */
async function timeQueries(queries: number, run: (i: number) => unknown, warm = 10): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < Math.min(warm, queries); i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < queries; i++) {
    const t = now();
    await run(i);
    times.push(now() - t);
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

function emit(x: IndexResult | QueryResult | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Groundwork

async function gwIndex(inp: Inputs, dir: string): Promise<void> {
  const roots = rootsFromDirs([inp.corpus]);
  const t = now();
  const index = await WorkspaceIndex.open({ roots, indexDir: dir });
  const s = await index.update();
  await index.close();
  const indexMs = now() - t;
  const peak = peakRssMb();
  // The shared inputs, from the index just built (read-only open, outside the timing).
  const ro = await WorkspaceIndex.open({ roots, indexDir: dir, write: false });
  const queries = makeQueries(ro);
  const embedder = new HashingTestEmbedder(DIMS);
  const lines: string[] = [];
  const paths = ro.indexedPaths().sort();
  const vecs = new Float32Array(ro.chunkCount * DIMS);
  let n = 0;
  for (const p of paths) {
    for (const c of ro.getFile(p)!.chunks) {
      lines.push(JSON.stringify({ id: c.id, path: c.path, text: c.text } satisfies ChunkRow));
      vecs.set((await embedder.embed([embeddingText(c)]))[0]!, n * DIMS);
      n++;
    }
  }
  const qv = new Float32Array(queries.length * DIMS);
  for (let i = 0; i < queries.length; i++) qv.set(await embedder.embedQuery(queries[i]!), i * DIMS);
  await ro.close();
  await fsp.writeFile(inp.chunks, `${lines.join('\n')}\n`);
  await fsp.writeFile(inp.queries, JSON.stringify(queries));
  await fsp.writeFile(inp.vectors, Buffer.from(vecs.buffer, 0, n * DIMS * 4));
  await fsp.writeFile(inp.queryVectors, Buffer.from(qv.buffer));
  emit({ indexMs, peakRssMb: peak, note: `${s.filesIndexed} files, ${s.chunks} chunks (scan, read, chunk, BM25, write)` });
}

async function gwQuery(inp: Inputs, dir: string, engineOnly: boolean): Promise<void> {
  const queries = JSON.parse(await fsp.readFile(inp.queries, 'utf8')) as string[];
  const t = now();
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([inp.corpus]), indexDir: dir, write: false });
  const openMs = now() - t;
  const run = engineOnly ? (i: number) => index.lexical.search(analyzeQuery(queries[i]!).terms, K) : (i: number) => search(index, queries[i]!, { k: K, mode: 'lexical' });
  await run(0);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(queries.length, run);
  emit({ openMs, firstAnswerMs, ...lat, rssMb: rssMb(), peakRssMb: peakRssMb(), queries: queries.length });
  await index.close();
}

/** Groundwork's vector store alone, built from the shared vectors (one bulk change, files in path order). */
async function gwVecIndex(inp: Inputs, dir: string): Promise<void> {
  const chunks = await readChunks(inp.chunks);
  const vecs = await readMatrix(inp.vectors);
  const t = now();
  const store = await VectorStore.open(dir, { dimensions: DIMS });
  const byPath = new Map<string, FileChange>();
  chunks.forEach((c, i) => {
    let ch = byPath.get(c.path);
    if (!ch) byPath.set(c.path, (ch = { path: c.path, items: [] }));
    ch.items!.push({ id: c.id, hash: c.id, vector: row(vecs, i) });
  });
  await store.applyFileChanges([...byPath.values()]);
  await store.close();
  emit({ indexMs: now() - t, peakRssMb: peakRssMb() });
}

async function gwVecQuery(inp: Inputs, dir: string): Promise<void> {
  const qv = await readMatrix(inp.queryVectors);
  const nq = qv.length / DIMS;
  const t = now();
  const store = await VectorStore.open(dir, { dimensions: DIMS, readOnly: true });
  const openMs = now() - t;
  store.query(row(qv, 0), K);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(nq, (i) => store.query(row(qv, i), K));
  emit({ openMs, firstAnswerMs, ...lat, rssMb: rssMb(), peakRssMb: peakRssMb(), queries: nq, note: `${store.count} vectors, ${store.precision}` });
  await store.close();
}

// ---------------------------------------------------------------------------------------------------
// Peers (loaded from bench/peers/node_modules; vectra from the project's own dependency)

const peerRequire = createRequire(path.join(PEERS_DIR, 'package.json'));
const projectRequire = createRequire(path.join(ROOT, 'package.json'));

/** The query's distinct words: what a keyword tool is given (FTS5 trigram needs at least 3 characters). */
function queryWords(q: string): string[] {
  return [...new Set(q.match(/[A-Za-z_$][A-Za-z0-9_$]{2,}/g) ?? [])];
}

async function rgQuery(inp: Inputs): Promise<void> {
  const queries = JSON.parse(await fsp.readFile(inp.queries, 'utf8')) as string[];
  let peak = 0;
  const runOne = (i: number) => {
    const args = ['--count-matches', '--ignore-case', '--fixed-strings', '--no-messages'];
    for (const w of queryWords(queries[i]!)) args.push('-e', w);
    // GNU time reports the rg process's own peak RSS on stderr (the last line).
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'rg', ...args, inp.corpus], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`rg failed (exit ${r.status}): ${r.stderr.slice(0, 300)}`);
    peak = Math.max(peak, Number.parseInt(r.stderr.trim().split('\n').pop() ?? '0', 10) / 1024);
  };
  const t = now();
  runOne(0);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(queries.length, runOne);
  emit({
    openMs: 0,
    firstAnswerMs,
    ...lat,
    rssMb: Math.round(peak),
    peakRssMb: Math.round(peak),
    queries: queries.length,
    note: 'no index; every query reads the corpus; no ranking (match counts per file)',
  });
}

type SqliteDb = {
  exec(sql: string): void;
  prepare(sql: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[]; get(...a: unknown[]): unknown };
  transaction(fn: () => void): () => void;
  close(): void;
};

function openSqlite(file: string, opts?: object): SqliteDb {
  const Database = peerRequire('better-sqlite3') as new (f: string, o?: object) => SqliteDb;
  return new Database(file, opts);
}

async function ftsIndex(inp: Inputs, dir: string): Promise<void> {
  const chunks = await readChunks(inp.chunks);
  await fsp.mkdir(dir, { recursive: true });
  const t = now();
  const db = openSqlite(path.join(dir, 'index.sqlite'));
  db.exec("CREATE VIRTUAL TABLE fts USING fts5(path, content, tokenize = 'trigram')");
  const ins = db.prepare('INSERT INTO fts (rowid, path, content) VALUES (?, ?, ?)');
  db.transaction(() => chunks.forEach((c, i) => ins.run(i + 1, c.path, c.text)))();
  db.close();
  emit({ indexMs: now() - t, peakRssMb: peakRssMb() });
}

async function ftsQuery(inp: Inputs, dir: string): Promise<void> {
  const queries = JSON.parse(await fsp.readFile(inp.queries, 'utf8')) as string[];
  const t = now();
  const db = openSqlite(path.join(dir, 'index.sqlite'), { readonly: true });
  const stmt = db.prepare('SELECT rowid, bm25(fts, 10.0, 1.0) AS score FROM fts WHERE fts MATCH ? ORDER BY score LIMIT ?');
  const openMs = now() - t;
  const match = queries.map((q) =>
    queryWords(q)
      .map((w) => `"${w}"`)
      .join(' OR '),
  );
  const run = (i: number) => (match[i] ? stmt.all(match[i], K) : []);
  run(0);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(queries.length, run);
  emit({ openMs, firstAnswerMs, ...lat, rssMb: rssMb(), peakRssMb: peakRssMb(), queries: queries.length });
  db.close();
}

type LanceTable = {
  add(rows: unknown[]): Promise<unknown>;
  search(v: Float32Array | number[]): { distanceType(d: string): { limit(k: number): { toArray(): Promise<unknown[]> } } };
  countRows(): Promise<number>;
};
type LanceDb = { createTable(name: string, rows: unknown[]): Promise<LanceTable>; openTable(name: string): Promise<LanceTable> };

/** LanceDB's `connect`; the module is loaded by the caller before any timing starts. */
function lanceConnect(): (dir: string) => Promise<LanceDb> {
  return (peerRequire('@lancedb/lancedb') as { connect(this: void, dir: string): Promise<LanceDb> }).connect;
}

async function lanceIndex(inp: Inputs, dir: string): Promise<void> {
  const chunks = await readChunks(inp.chunks);
  const vecs = await readMatrix(inp.vectors);
  const connect = lanceConnect();
  const t = now();
  const db = await connect(dir);
  const rowsOf = (a: number, b: number) => chunks.slice(a, b).map((c, j) => ({ id: c.id, path: c.path, vector: Array.from(row(vecs, a + j)) }));
  const BATCH = 10_000;
  const table = await db.createTable('chunks', rowsOf(0, BATCH));
  for (let a = BATCH; a < chunks.length; a += BATCH) await table.add(rowsOf(a, a + BATCH));
  emit({ indexMs: now() - t, peakRssMb: peakRssMb(), note: `${await table.countRows()} rows, flat search (no ANN index)` });
}

async function lanceQuery(inp: Inputs, dir: string): Promise<void> {
  const qv = await readMatrix(inp.queryVectors);
  const nq = qv.length / DIMS;
  const connect = lanceConnect();
  const t = now();
  const table = await (await connect(dir)).openTable('chunks');
  const openMs = now() - t;
  const run = (i: number) => table.search(row(qv, i)).distanceType('cosine').limit(K).toArray();
  await run(0);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(nq, run);
  emit({ openMs, firstAnswerMs, ...lat, rssMb: rssMb(), peakRssMb: peakRssMb(), queries: nq });
}

type VectraIndex = {
  createIndex(c?: object): Promise<void>;
  beginUpdate(): Promise<void>;
  endUpdate(): Promise<void>;
  insertItem(item: object): Promise<unknown>;
  getIndexStats(): Promise<{ items: number }>;
  queryItems(v: number[], q: string, k: number): Promise<unknown[]>;
};

/** vectra's package entry (as a user would import it); loaded before any timing starts. */
function vectraLocalIndex(): new (folder: string) => VectraIndex {
  return (projectRequire('vectra') as { LocalIndex: new (folder: string) => VectraIndex }).LocalIndex;
}

async function vectraIndex(inp: Inputs, dir: string): Promise<void> {
  const chunks = await readChunks(inp.chunks);
  const vecs = await readMatrix(inp.vectors);
  const LocalIndex = vectraLocalIndex();
  const t = now();
  const index = new LocalIndex(dir);
  await index.createIndex({ version: 1, deleteIfExists: true });
  await index.beginUpdate();
  for (let i = 0; i < chunks.length; i++) await index.insertItem({ id: chunks[i]!.id, vector: Array.from(row(vecs, i)), metadata: { path: chunks[i]!.path } });
  try {
    await index.endUpdate();
  } catch (err) {
    emit({ indexMs: now() - t, peakRssMb: peakRssMb(), error: `saving ${chunks.length} items failed: ${(err as Error).message}` });
    return;
  }
  emit({ indexMs: now() - t, peakRssMb: peakRssMb() });
}

async function vectraQuery(inp: Inputs, dir: string): Promise<void> {
  const qv = await readMatrix(inp.queryVectors);
  const nq = qv.length / DIMS;
  const LocalIndex = vectraLocalIndex();
  const t = now();
  const index = new LocalIndex(dir);
  await index.getIndexStats(); // loads index.json
  const openMs = now() - t;
  const qs = Array.from({ length: nq }, (_, i) => Array.from(row(qv, i)));
  const run = (i: number) => index.queryItems(qs[i]!, '', K);
  await run(0);
  const firstAnswerMs = now() - t;
  const lat = await timeQueries(nq, run);
  emit({ openMs, firstAnswerMs, ...lat, rssMb: rssMb(), peakRssMb: peakRssMb(), queries: nq });
}

// ---------------------------------------------------------------------------------------------------
// Orchestration

const CHILDREN: Record<string, (inp: Inputs, dir: string) => Promise<void>> = {
  'gw-index': gwIndex,
  'gw-query': (i, d) => gwQuery(i, d, false),
  'gw-engine-query': (i, d) => gwQuery(i, d, true),
  'gw-vec-index': gwVecIndex,
  'gw-vec-query': gwVecQuery,
  'rg-query': (i) => rgQuery(i),
  'fts-index': ftsIndex,
  'fts-query': ftsQuery,
  'lance-index': lanceIndex,
  'lance-query': lanceQuery,
  'vectra-index': vectraIndex,
  'vectra-query': vectraQuery,
};

function runChild(mode: string, work: string, dir: string): Record<string, unknown> {
  process.stderr.write(`  ${mode}…\n`);
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--max-old-space-size=8192', process.argv[1]!, '--child', mode, '--work', work, '--dir', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) return { error: `process failed (exit ${r.status ?? r.signal})` };
  return JSON.parse(last) as Record<string, unknown>;
}

/** Installs bench/peers on first use: registry only, no optional packages, install scripts off; then builds better-sqlite3 from source. */
function ensurePeers(): void {
  const sqliteBinary = path.join(PEERS_DIR, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  const lance = path.join(PEERS_DIR, 'node_modules', '@lancedb', 'lancedb', 'package.json');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    process.stderr.write(`bench/peers: npm ${args.join(' ')}\n`);
    const r = spawnSync('npm', args, { cwd: PEERS_DIR, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`bench/peers: npm ${args[0]} failed (exit ${r.status}); see the output above`);
  };
  if (!existsSync(lance) || !existsSync(path.join(PEERS_DIR, 'node_modules', 'better-sqlite3', 'package.json'))) {
    run(['ci', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund']);
  }
  if (!existsSync(sqliteBinary)) {
    // build_from_source skips prebuild-install's download; nodedir points node-gyp at the installed headers.
    const nodedir = path.resolve(path.dirname(process.execPath), '..');
    if (!existsSync(path.join(nodedir, 'include', 'node', 'node.h')))
      throw new Error(`bench/peers: Node's headers are not under ${nodedir}/include/node; install them to build better-sqlite3`);
    run(['rebuild', 'better-sqlite3', '--foreground-scripts'], { npm_config_build_from_source: 'true', npm_config_nodedir: nodedir });
  }
}

async function dirSize(p: string): Promise<number> {
  const st = await fsp.stat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fsp.readdir(p)) total += await dirSize(path.join(p, e));
  return total;
}

interface Row {
  system: string;
  does: string;
  index?: IndexResult;
  query: QueryResult;
  disk: number;
}

const fmtMs = (x: number | undefined) => (x === undefined ? '–' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);
const fmtMb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const ratio = (x: number | undefined, base: number | undefined) => (x === undefined || !base ? '' : ` (${(x / base).toFixed(x / base >= 10 ? 0 : 2)}×)`);

function table(rows: Row[]): string {
  const base = rows[0]!;
  const out = ['| system | what it does | index | open | first answer | query p50 / p95 | disk | peak RSS index / serving |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const q = r.query;
    const b = base.query;
    const err = r.index?.error ?? q.error;
    out.push(
      `| ${r.system} | ${r.does}${err ? ` **${err}**` : ''} | ${r.index ? fmtMs(r.index.indexMs) + ratio(r.index.indexMs, base.index?.indexMs) : 'none'} | ${fmtMs(q.openMs)}${ratio(q.openMs, b.openMs)} | ${fmtMs(q.firstAnswerMs)}${ratio(q.firstAnswerMs, b.firstAnswerMs)} | ${fmtMs(q.p50)} / ${fmtMs(q.p95)}${ratio(q.p95, b.p95)} | ${r.disk ? fmtMb(r.disk) + ratio(r.disk, base.disk) : '0 (reads the files)'} | ${r.index ? `${r.index.peakRssMb} MB` : '–'} / ${q.peakRssMb ?? '–'} MB${ratio(q.peakRssMb, b.peakRssMb)} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      work: { type: 'string' },
      dir: { type: 'string' },
      record: { type: 'string' },
      keep: { type: 'string' },
      'max-files': { type: 'string' },
    },
  });
  if (values.child) {
    const fn = CHILDREN[values.child];
    if (!fn) throw new Error(`unknown child ${values.child}`);
    return fn(inputsIn(values.work!), values.dir!);
  }
  ensurePeers();
  const work = values.keep ? path.resolve(values.keep) : await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-peers-'));
  await fsp.mkdir(work, { recursive: true });
  const inp = inputsIn(work);
  const dir = (name: string) => path.join(work, name);
  try {
    if (!existsSync(inp.corpus)) {
      process.stderr.write(`copying the corpus into ${inp.corpus}…\n`);
      await buildCorpus(path.join(ROOT, 'node_modules'), inp.corpus, { maxFiles: values['max-files'] ? Number.parseInt(values['max-files'], 10) : CORPUS_MAX_FILES });
    }
    for (const d of ['gw', 'gw-vectors', 'fts', 'lance', 'vectra']) await fsp.rm(dir(d), { recursive: true, force: true });
    process.stderr.write('lexical:\n');
    const gwIx = runChild('gw-index', work, dir('gw')) as unknown as IndexResult;
    if (gwIx.error || !existsSync(inp.queries)) throw new Error(`benchPeers: Groundwork's index failed: ${gwIx.error ?? 'no queries written'}`);
    const chunkCount = (await fsp.readFile(inp.chunks, 'utf8')).split('\n').filter(Boolean).length;
    const lexical: Row[] = [
      {
        system: 'Groundwork `search()`',
        does: 'BM25 over chunks + whole-file BM25, file ranking, widened hits',
        index: gwIx,
        query: runChild('gw-query', work, dir('gw')) as unknown as QueryResult,
        disk: await dirSize(dir('gw')),
      },
      {
        system: 'Groundwork BM25 engine alone',
        does: '`LexicalIndex.search`, top 10 chunks (same index files)',
        query: runChild('gw-engine-query', work, dir('gw')) as unknown as QueryResult,
        disk: await dirSize(dir('gw')),
      },
      {
        system: 'ripgrep (one `rg` per query)',
        does: 'case-insensitive fixed-string match of the query words, counts per file; no ranking',
        query: runChild('rg-query', work, '') as unknown as QueryResult,
        disk: 0,
      },
    ];
    const ftsIx = runChild('fts-index', work, dir('fts')) as unknown as IndexResult;
    lexical.push({
      system: 'SQLite FTS5 (better-sqlite3)',
      does: "trigram tokenizer, one row per chunk, words OR'ed, `bm25(fts, 10, 1)` top 10",
      index: ftsIx,
      query: runChild('fts-query', work, dir('fts')) as unknown as QueryResult,
      disk: await dirSize(dir('fts')),
    });
    process.stderr.write('vectors:\n');
    const vectors: Row[] = [];
    const gwv = runChild('gw-vec-index', work, dir('gw-vectors')) as unknown as IndexResult;
    vectors.push({
      system: 'Groundwork VectorStore',
      does: 'exact dot product, SIMD over one matrix, 32 vectra shards on disk',
      index: gwv,
      query: runChild('gw-vec-query', work, dir('gw-vectors')) as unknown as QueryResult,
      disk: await dirSize(dir('gw-vectors')),
    });
    const lx = runChild('lance-index', work, dir('lance')) as unknown as IndexResult;
    vectors.push({
      system: 'LanceDB 0.31.0',
      does: 'exact (flat) cosine search, no ANN index',
      index: lx,
      query: lx.error ? ({ error: lx.error } as QueryResult) : (runChild('lance-query', work, dir('lance')) as unknown as QueryResult),
      disk: await dirSize(dir('lance')),
    });
    const vx = runChild('vectra-index', work, dir('vectra')) as unknown as IndexResult;
    vectors.push({
      system: 'vectra 0.15.0 LocalIndex',
      does: 'default JSON codec, its own cosine loop',
      index: vx,
      query: vx.error ? ({ error: 'not queried: nothing was saved' } as QueryResult) : (runChild('vectra-query', work, dir('vectra')) as unknown as QueryResult),
      disk: await dirSize(dir('vectra')),
    });

    const queries = (JSON.parse(await fsp.readFile(inp.queries, 'utf8')) as string[]).length;
    const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} at the end`;
    const report = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Corpus: ${gwIx.note ?? ''} from the first ${CORPUS_MAX_FILES} indexable .js/.ts files of this project's node_modules; ${chunkCount} chunks given to every index; ${queries} queries (200 short, 20 ~10 KB issue reports), k = ${K}. Ratios are to the first row of each table.`,
      '',
      '**Lexical**',
      '',
      table(lexical),
      '',
      `**Vectors** (${chunkCount} × ${DIMS} deterministic test vectors, the same for every store; query vectors from the same embedder)`,
      '',
      table(vectors),
    ].join('\n');
    process.stdout.write(`${report}\n`);
    if (values.record) {
      const file = path.resolve(values.record);
      const current = await fsp.readFile(file, 'utf8').catch(() => '');
      await fsp.writeFile(file, spliceSection(current, 'peers', report, { append: 'newline' })!);
      process.stderr.write(`Recorded in ${file}\n`);
    }
  } finally {
    if (!values.keep) await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
