/**
 * Retrieval evaluation: the query-file format, file-level metrics (recall@k, MRR@k) and a
 * whole-file BM25 baseline to compare against.
 */
import { promises as fsp } from 'node:fs';
import MiniSearch from 'minisearch';
import { errMessage } from './errMessage';

export interface EvalQuery {
  id: string;
  query: string;
  /** Workspace-relative paths a good answer must cite. */
  expected?: string[];
}

export interface EvalHit {
  path: string;
  startLine: number;
  endLine: number;
  score: number;
}

export interface EvalResult {
  id: string;
  hits: EvalHit[];
}

export class QueryFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryFileError';
  }
}

/** Reads a JSONL query file; throws {@link QueryFileError} with the line number on bad input. */
export async function readQueryFile(file: string): Promise<EvalQuery[]> {
  let raw: string;
  try {
    raw = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new QueryFileError(`cannot read the queries file ${file}: ${errMessage(err)}`);
  }
  const queries: EvalQuery[] = [];
  const ids = new Set<string>();
  raw.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new QueryFileError(`${file}:${i + 1}: not valid JSON; each line must be {"id": "...", "query": "..."}`);
    }
    const o = obj as Record<string, unknown>;
    if (!o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.query !== 'string') {
      throw new QueryFileError(`${file}:${i + 1}: each line needs a string "id" and a string "query"`);
    }
    if (ids.has(o.id)) throw new QueryFileError(`${file}:${i + 1}: duplicate id "${o.id}"`);
    ids.add(o.id);
    let expected: string[] | undefined;
    if (o.expected !== undefined) {
      if (!Array.isArray(o.expected) || !o.expected.every((e) => typeof e === 'string')) {
        throw new QueryFileError(`${file}:${i + 1}: "expected" must be an array of paths`);
      }
      expected = (o.expected).map((p) => p.replace(/\\/g, '/').replace(/^\.\//, ''));
    }
    queries.push({ id: o.id, query: o.query, expected });
  });
  if (!queries.length) throw new QueryFileError(`${file} holds no queries`);
  return queries;
}

export interface Metrics {
  queries: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrrAt10: number;
}

/** Share of the expected files found among the first k distinct files of a result list. */
function recallAt(paths: string[], expected: string[], k: number): number {
  const top = new Set(distinct(paths).slice(0, k));
  return expected.filter((e) => top.has(e)).length / expected.length;
}

function distinct(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) if (!out.includes(p)) out.push(p);
  return out;
}

/**
 * File-level metrics over queries that carry `expected`. Ranks count distinct files (two chunks of
 * the same file are one rank), so a chunk retriever and a whole-file baseline are comparable.
 */
export function computeMetrics(queries: readonly EvalQuery[], results: readonly EvalResult[]): Metrics {
  const byId = new Map(results.map((r) => [r.id, r]));
  let n = 0;
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let mrr = 0;
  for (const q of queries) {
    if (!q.expected?.length) continue;
    n++;
    const paths = distinct((byId.get(q.id)?.hits ?? []).map((h) => h.path));
    r1 += recallAt(paths, q.expected, 1);
    r5 += recallAt(paths, q.expected, 5);
    r10 += recallAt(paths, q.expected, 10);
    const first = paths.slice(0, 10).findIndex((p) => q.expected!.includes(p));
    if (first >= 0) mrr += 1 / (first + 1);
  }
  const d = n || 1;
  return { queries: n, recallAt1: r1 / d, recallAt5: r5 / d, recallAt10: r10 / d, mrrAt10: mrr / d };
}

/** Per-query reciprocal rank, for listing misses. */
export function reciprocalRank(q: EvalQuery, r: EvalResult | undefined): number {
  if (!q.expected?.length || !r) return 0;
  const paths = distinct(r.hits.map((h) => h.path));
  const first = paths.slice(0, 10).findIndex((p) => q.expected!.includes(p));
  return first >= 0 ? 1 / (first + 1) : 0;
}

/**
 * The baseline: BM25 over whole files with MiniSearch's default tokenizer (words split on
 * whitespace and punctuation, lower-cased; identifiers are *not* split). It is what a plain
 * full-text engine gives out of the box.
 */
export class WholeFileBm25 {
  private readonly engine = new MiniSearch<{ id: string; text: string }>({ fields: ['text'], storeFields: [] });
  private readonly lines = new Map<string, number>();

  add(files: Array<{ path: string; text: string }>): void {
    for (const f of files) this.lines.set(f.path, f.text.split('\n').length);
    this.engine.addAll(files.map((f) => ({ id: f.path, text: f.text })));
  }

  search(query: string, k: number): EvalHit[] {
    return this.engine
      .search(query, { combineWith: 'OR' })
      .slice(0, k)
      .map((r) => ({ path: String(r.id), startLine: 1, endLine: this.lines.get(String(r.id)) ?? 1, score: r.score }));
  }
}

export function formatMetrics(name: string, m: Metrics): string {
  const f = (x: number) => x.toFixed(3);
  return `${name.padEnd(28)} R@1 ${f(m.recallAt1)}  R@5 ${f(m.recallAt5)}  R@10 ${f(m.recallAt10)}  MRR@10 ${f(m.mrrAt10)}  (n=${m.queries})`;
}
