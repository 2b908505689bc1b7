/**
 * Retrieval evaluation: the query-file format, file-level metrics (recall@k, MRR@k) and a
 * whole-file BM25 baseline to compare against.
 */
import { promises as fsp } from 'node:fs';
import MiniSearch from 'minisearch';
import { errMessage } from './errMessage';
import { fileMetrics, reciprocalRankAt10 } from './metrics.mjs';

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
      expected = o.expected.map((p) => p.replace(/\\/g, '/').replace(/^\.\//, ''));
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

/**
 * File-level metrics over queries that carry `expected` (metrics.mjs: ranks count distinct files, so
 * a chunk retriever and a whole-file baseline are comparable).
 */
export function computeMetrics(queries: readonly EvalQuery[], results: readonly EvalResult[]): Metrics {
  return fileMetrics(queries, results);
}

/** Per-query reciprocal rank, for listing misses. */
export function reciprocalRank(q: EvalQuery, r: EvalResult | undefined): number {
  if (!q.expected?.length || !r) return 0;
  return reciprocalRankAt10(
    r.hits.map((h) => h.path),
    q.expected,
  );
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
