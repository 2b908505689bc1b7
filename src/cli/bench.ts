/**
 * `groundwork bench` (`npm run bench`): measures the engine on a real corpus and prints the
 * numbers; with `--record FILE` it also writes them into that Markdown file between the markers
 * `<!-- bench:begin -->` and `<!-- bench:end -->`.
 *
 * The default corpus is every .js/.ts/.mjs/.cjs file under this project's node_modules, copied into
 * a temporary folder (folder names that the default excludes would hide, such as `dist` or nested
 * `node_modules`, are renamed so the files are indexed). Nothing here asserts a target: the numbers
 * are reported as measured.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { search } from '../core/retrieval';
import { spliceSection } from './recordSection.mjs';
import { HashingTestEmbedder } from '../core/testEmbedder';
import type { Logger } from '../core/types';
import { rootsFromDirs, WorkspaceIndex } from '../core/workspaceIndex';
import { formatBytes } from './output';
import { seededRandom } from '../core/random.mjs';
import { classifyContent } from '../core/discovery';
import { DEFAULT_MAX_FILE_BYTES } from '../core/defaults';

export interface BenchOptions {
  corpus?: string;
  record?: string;
  logger: Logger;
}

const SOURCE_EXT = /\.(?:[cm]?js|ts)$/;
const RENAME_SEGMENTS = new Set(['node_modules', 'dist', 'build', 'out', 'target', 'coverage', 'lib-cov', '.cache']);

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && SOURCE_EXT.test(e.name)) yield p;
  }
}

/**
 * The default corpus is capped so runs stay comparable as dependencies are added: the first
 * {@link CORPUS_MAX_FILES} source files in sorted path order that the index would accept by content
 * (`classifyContent`: not binary, minified or build output). Build output ending in a source-map
 * comment was half of node_modules' first 10,000 files once the index started skipping it, which
 * halved the corpus the benchmark measured. (Stricter than skipping source-map trailers alone: also
 * minified files and generated-file banners, which the index skips as well.)
 */
export const CORPUS_MAX_FILES = 10_000;

/**
 * Copies the indexable source files of `from` into `to` (at most `maxFiles`), `copies` times (into
 * `copy-0/`, `copy-1/`… when more than one: a larger tree made of the same real files); returns the
 * number of distinct files copied.
 */
export async function buildCorpus(from: string, to: string, opts: { maxFiles?: number; copies?: number } = {}): Promise<number> {
  const max = opts.maxFiles ?? CORPUS_MAX_FILES;
  const copies = Math.max(1, opts.copies ?? 1);
  let n = 0;
  for await (const file of walk(from)) {
    if (n >= max) break;
    const rel = path
      .relative(from, file)
      .split(path.sep)
      .map((s) => (RENAME_SEGMENTS.has(s) ? `${s}_` : s));
    if (rel.some((s) => s.startsWith('.'))) continue;
    const bytes = await fsp.readFile(file);
    if (bytes.length > DEFAULT_MAX_FILE_BYTES || !classifyContent(bytes).ok) continue;
    for (let c = 0; c < copies; c++) {
      const dest = copies > 1 ? path.join(to, `copy-${c}`, ...rel) : path.join(to, ...rel);
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      await fsp.writeFile(dest, bytes);
    }
    n++;
  }
  return n;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function rssMb(): number {
  // maxRSS is in kilobytes.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * 200 short queries (symbol names and phrases drawn from the corpus' own chunks) and 20 long ones
 * (~10 KB issue reports with a stack trace made of real function names and paths).
 */
export function makeQueries(index: Pick<WorkspaceIndex, 'indexedPaths' | 'getFile'>): string[] {
  const rand = seededRandom(42);
  const paths = index.indexedPaths();
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const short: string[] = [];
  const symbols: Array<{ sym: string; path: string }> = [];
  while (short.length < 200) {
    const file = index.getFile(pick(paths));
    const chunk = file && file.chunks.length ? pick(file.chunks) : undefined;
    if (!chunk) continue;
    if (chunk.symbols.length && rand() < 0.5) {
      const sym = pick(chunk.symbols);
      symbols.push({ sym, path: chunk.path });
      short.push(rand() < 0.5 ? sym : `where is ${sym} implemented and how is it used`);
    } else {
      const words = chunk.text.split(/\s+/).filter((w) => /^[A-Za-z]{3,}$/.test(w));
      if (words.length < 4) continue;
      const start = Math.floor(rand() * Math.max(1, words.length - 6));
      short.push(`how does ${words.slice(start, start + 6).join(' ')} work`);
    }
  }
  const long: string[] = [];
  for (let i = 0; i < 20; i++) {
    const parts = [`### Bug report ${i}`, '', 'After upgrading, running the build crashes with the error below. Steps to reproduce:', ''];
    while (parts.join('\n').length < 8000) {
      const s = symbols.length ? pick(symbols) : { sym: 'main', path: 'index.js' };
      parts.push(`    at ${s.sym} (/home/user/project/node_modules/${s.path}:${1 + Math.floor(rand() * 400)}:${1 + Math.floor(rand() * 40)})`);
      if (rand() < 0.2) parts.push('', `I expected ${s.sym} to return the cached value but it threw TypeError: Cannot read properties of undefined (reading 'length').`, '');
    }
    long.push(parts.join('\n').slice(0, 10_240));
  }
  return [...short, ...long];
}

export interface LatencyStats {
  p50: number;
  p95: number;
  max: number;
  shortP95: number;
  longP95: number;
}

export async function measureQueries(index: WorkspaceIndex, queries: string[], mode: 'lexical' | 'hybrid'): Promise<LatencyStats> {
  // Warm-up: first queries pay for JIT compilation.
  for (const q of queries.slice(0, 10)) await search(index, q, { k: 10, mode });
  const times: number[] = [];
  const shortTimes: number[] = [];
  const longTimes: number[] = [];
  for (const q of queries) {
    const t = process.hrtime.bigint();
    await search(index, q, { k: 10, mode });
    const d = ms(t);
    times.push(d);
    (q.length > 1000 ? longTimes : shortTimes).push(d);
  }
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    max: Math.max(...times),
    shortP95: percentile(shortTimes, 95),
    longP95: percentile(longTimes, 95),
  };
}

/** Time from a file's change on disk to a search that finds the change (median and max of 10). */
async function measureChangeToSearchable(index: WorkspaceIndex): Promise<{ median: number; max: number }> {
  const file = index.indexedPaths().find((p) => p.endsWith('.js')) ?? index.indexedPaths()[0]!;
  const abs = index.absolutePath(file)!;
  const original = await fsp.readFile(abs, 'utf8');
  const times: number[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const marker = `groundworkBenchMarker${i}x${Date.now().toString(36)}`;
      await fsp.writeFile(abs, `${original}\nfunction ${marker}() { return ${i}; }\n`);
      const t = process.hrtime.bigint();
      await index.updateFiles([abs]);
      const hits = await search(index, marker, { k: 5 });
      const d = ms(t);
      if (!hits.some((h) => h.path === file)) throw new Error(`benchmark: the edited file ${file} was not found after its change`);
      times.push(d);
    }
  } finally {
    await fsp.writeFile(abs, original);
    await index.updateFiles([abs]);
  }
  return { median: percentile(times, 50), max: Math.max(...times) };
}

export async function runBench(opts: BenchOptions): Promise<void> {
  const log = opts.logger;
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-bench-'));
  const results: Record<string, string | number> = {};
  try {
    let corpus = opts.corpus ? path.resolve(opts.corpus) : '';
    let corpusLabel = corpus;
    if (!corpus) {
      const from = path.resolve(__dirname, '..', 'node_modules');
      corpus = path.join(tmp, 'corpus');
      log.info(`Copying the .js/.ts files of ${from} into a temporary corpus…`);
      const n = await buildCorpus(from, corpus);
      corpusLabel = `${n} .js/.ts files from this project's node_modules (the first ${CORPUS_MAX_FILES} indexable ones in path order)`;
    }
    results.corpus = corpusLabel;
    const roots = rootsFromDirs([corpus]);

    // 1. Cold lexical index.
    const lexDir = path.join(tmp, 'index-lexical');
    let t = process.hrtime.bigint();
    let index = await WorkspaceIndex.open({ roots, indexDir: lexDir, logger: log });
    const summary = await index.update();
    await index.close();
    const coldMs = ms(t);
    results['files indexed'] = summary.filesIndexed;
    results['files skipped'] = Object.entries(summary.skipped)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    results['chunks'] = summary.chunks;
    results['cold index (lexical)'] = `${(coldMs / 1000).toFixed(1)} s`;
    results['files/s'] = Math.round(summary.filesIndexed / (coldMs / 1000));
    // maxRSS: the peak so far (the process's high-water mark), not the RSS at this moment.
    results['peak RSS after cold index (lexical)'] = `${rssMb()} MB`;
    log.info(`cold index: ${summary.filesIndexed} files, ${summary.chunks} chunks, ${(coldMs / 1000).toFixed(1)} s`);

    // 2. Re-open.
    t = process.hrtime.bigint();
    index = await WorkspaceIndex.open({ roots, indexDir: lexDir, logger: log });
    results['re-open (lexical)'] = `${ms(t).toFixed(0)} ms`;
    log.info(`re-open: ${results['re-open (lexical)']}`);
    results['index size on disk (lexical)'] = formatBytes((await index.status()).sizeOnDiskBytes);

    // 3. Query latency.
    log.info('making queries…');
    const queries = makeQueries(index);
    const lex = await measureQueries(index, queries, 'lexical');
    results['queries'] = `${queries.length} (200 short, 20 long ~10 KB)`;
    results['lexical query p50 / p95'] = `${lex.p50.toFixed(1)} / ${lex.p95.toFixed(1)} ms`;
    results['lexical p95 short / long'] = `${lex.shortP95.toFixed(1)} / ${lex.longP95.toFixed(1)} ms`;
    log.info(`lexical queries: p50 ${lex.p50.toFixed(1)} ms, p95 ${lex.p95.toFixed(1)} ms`);

    // 4. One file's change → searchable.
    const change = await measureChangeToSearchable(index);
    results['change → searchable (median / max of 10)'] = `${change.median.toFixed(0)} / ${change.max.toFixed(0)} ms`;
    await index.close();

    // 5. Hybrid: the same corpus with 384-d vectors from the deterministic test embedder (its
    // vectors are not semantic, but the store, the scoring and the fusion do the real work).
    const hybDir = path.join(tmp, 'index-hybrid');
    const embedder = new HashingTestEmbedder(384);
    t = process.hrtime.bigint();
    index = await WorkspaceIndex.open({ roots, indexDir: hybDir, embedder, logger: log, options: { embedBatchSize: 256 } });
    await index.update();
    await index.close();
    results['cold index (hybrid, 384-d test vectors)'] = `${(ms(t) / 1000).toFixed(1)} s`;
    t = process.hrtime.bigint();
    index = await WorkspaceIndex.open({ roots, indexDir: hybDir, embedder, logger: log });
    results['re-open (hybrid)'] = `${ms(t).toFixed(0)} ms`;
    results['vectors'] = `${index.vectors?.count ?? 0} × 384`;
    results['index size on disk (hybrid)'] = formatBytes((await index.status()).sizeOnDiskBytes);
    const hyb = await measureQueries(index, queries, 'hybrid');
    // The test embedder hashes a query in microseconds; a real model adds its query-embedding time.
    results['hybrid query p50 / p95 (test vectors, no model query-embedding time)'] = `${hyb.p50.toFixed(1)} / ${hyb.p95.toFixed(1)} ms`;
    results['hybrid p95 short / long'] = `${hyb.shortP95.toFixed(1)} / ${hyb.longP95.toFixed(1)} ms`;
    await index.close();
    results['peak RSS (whole run)'] = `${rssMb()} MB`;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }

  const rows = Object.entries(results).map(([k, v]) => `| ${k} | ${v} |`);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const table = [`Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`, '', '| measure | value |', '| --- | --- |', ...rows].join('\n');
  process.stdout.write(`${table}\n`);
  if (opts.record) {
    const file = path.resolve(opts.record);
    const current = await fsp.readFile(file, 'utf8').catch(() => '');
    await fsp.writeFile(file, spliceSection(current, 'bench', table, { append: 'newline' })!);
    log.info(`Recorded in ${file}`);
  }
}
