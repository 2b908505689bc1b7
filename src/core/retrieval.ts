/**
 * Retrieval in two stages: rank *files* by their combined evidence, then pick the best *chunks*
 * within the top files.
 *
 * 1. Chunk candidates: BM25 over chunks, fused with vector neighbours by weighted reciprocal rank
 *    fusion when an embedding model is present.
 * 2. File score: whole-file BM25 (evidence spread across a long file adds up; 800-character chunks
 *    scatter it) mixed with the file's best chunk, times priors that the query's words and
 *    identifiers earn: the file's role (source, test, docs, template, …; see fileRoles.ts), a file
 *    named in the query, a file that defines an identifier the query names.
 * 3. Hits: each file's chunks in order of their own evidence, each further chunk of the same file
 *    discounted, so ten hits usually cover about ten files while the best file can still show more
 *    than one place.
 *
 * Every constant is a {@link SearchOptions} field with its measured effect in docs/evaluation.md.
 */
import { DEFAULT_ROLE_PRIORS, fileRole, queryIntent, rolePrior, type QueryIntent, type RolePriors } from './fileRoles';
import { analyzeQuery, type AnalyzedQuery, type QueryAnalysisOptions } from './queryAnalysis';
import { symbolKeys } from './symbolTable';
import type { Chunk } from './types';
import type { WorkspaceIndex } from './workspaceIndex';

export { isTestPath } from './fileRoles';

export type Retriever = 'lexical' | 'vector';

export interface SearchHit {
  chunkId: string;
  path: string;
  startLine: number;
  endLine: number;
  /** Final score (higher is better); comparable only within one result list. */
  score: number;
  /** Which retrievers returned this chunk among their candidates. */
  retrievers: Retriever[];
  /** Raw BM25 score and cosine similarity, when the chunk was a candidate of that retriever. */
  lexicalScore?: number;
  vectorScore?: number;
  language: string;
  symbols: string[];
  header: string;
  text: string;
  /** Content hash of the chunk at index time (for citation staleness checks). */
  hash: string;
}

export interface SearchOptions {
  /** Number of hits to return (default 10, range 1-100). */
  k?: number;
  /** At most this many hits from one file (default 3). */
  perFileCap?: number;
  /** Chunk candidates taken from each retriever (default 300). */
  candidates?: number;
  /** Files taken from the whole-file index (default 100). */
  fileCandidates?: number;
  /**
   * Share of a file's score that comes from whole-file BM25; the rest is its best chunk
   * (default 0.6; 0 = chunks only, the previous behaviour).
   */
  fileWeight?: number;
  /** Each further chunk of the same file is multiplied by this (default 0.5). */
  chunkDecay?: number;
  /** Reciprocal-rank-fusion constant for lexical + vector chunk lists (default 60, Cormack et al. 2009). */
  rrfK?: number;
  /** Weights of the lexical and vector lists in the fusion (defaults 1 and 1). */
  lexicalWeight?: number;
  vectorWeight?: number;
  /** Score multipliers by file role (defaults in fileRoles.ts); the query's intent lifts them. */
  rolePriors?: Partial<RolePriors>;
  /** Multiplier for a file whose name the query mentions, e.g. in a stack frame (default 1.5). */
  pathMatchFactor?: number;
  /**
   * Weight of "this file defines an identifier the query names": a file's score is multiplied by
   * 1 + symbolWeight × (its share of the definitions, summed over identifiers, at most 2) (default 0.5).
   */
  symbolWeight?: number;
  /** Identifiers defined in more files than this are too common to point anywhere (default 5). */
  maxDefiners?: number;
  /** Extra weight for stack-frame names and code-style identifiers (see queryAnalysis.ts). */
  analysis?: QueryAnalysisOptions;
  /** Restrict to one retriever (evaluation and debugging). */
  mode?: 'hybrid' | 'lexical' | 'vector';
  signal?: AbortSignal;
}

export const SEARCH_DEFAULTS = {
  k: 10,
  perFileCap: 3,
  candidates: 300,
  fileCandidates: 100,
  fileWeight: 0.6,
  chunkDecay: 0.5,
  rrfK: 60,
  lexicalWeight: 1,
  vectorWeight: 1,
  pathMatchFactor: 1.5,
  symbolWeight: 0.5,
  maxDefiners: 5,
} as const;

interface ChunkEvidence {
  chunk: Chunk;
  /** Fused chunk evidence, normalised so the best chunk of the query has 1. */
  score: number;
  retrievers: Retriever[];
  lexicalScore?: number;
  vectorScore?: number;
}

interface FileCandidate {
  path: string;
  /** Whole-file BM25, normalised to the best file (0 when not a candidate). */
  fileScore: number;
  chunks: ChunkEvidence[];
  score: number;
}

/** What a search decided about a query, for explanations and the evaluation's mode report. */
export interface SearchPlan {
  analyzed: AnalyzedQuery;
  intent: QueryIntent;
  retrievers: Retriever[];
}

/** Analyses a query the way {@link search} does. */
export function planQuery(index: WorkspaceIndex, query: string, options: SearchOptions = {}): SearchPlan {
  const analyzed = analyzeQuery(query.trim(), options.analysis);
  const mode = options.mode ?? 'hybrid';
  const retrievers: Retriever[] = [];
  if (mode !== 'vector') retrievers.push('lexical');
  if (mode !== 'lexical' && index.vectors && index.embedder && index.vectors.count > 0) retrievers.push('vector');
  return { analyzed, intent: queryIntent(query, analyzed.long), retrievers };
}

/** Runs the real retrieval path over an open index. */
export async function search(index: WorkspaceIndex, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  const o = { ...SEARCH_DEFAULTS, ...options };
  const k = Math.max(1, Math.min(100, Math.floor(o.k)));
  if (!query.trim()) return [];
  const { analyzed, intent, retrievers } = planQuery(index, query, options);
  const priors: RolePriors = { ...DEFAULT_ROLE_PRIORS, ...options.rolePriors };

  // Stage 1: chunk candidates.
  const evidence = new Map<string, ChunkEvidence>();
  const fuse = (list: Array<{ id: string; score: number }>, retriever: Retriever, weight: number) => {
    list.forEach(({ id, score }, rank) => {
      const chunk = index.getChunk(id);
      if (!chunk) return;
      let e = evidence.get(id);
      if (!e) evidence.set(id, (e = { chunk, score: 0, retrievers: [] }));
      e.retrievers.push(retriever);
      if (retriever === 'lexical') e.lexicalScore = score;
      else e.vectorScore = score;
      // One retriever alone: its own scores (BM25 magnitudes carry more than ranks). Several: RRF.
      e.score += retrievers.length === 1 ? score : weight / (o.rrfK + rank + 1);
    });
  };
  if (retrievers.includes('lexical')) fuse(index.lexical.search(analyzed.terms, o.candidates), 'lexical', o.lexicalWeight);
  if (retrievers.includes('vector')) {
    const [qv] = await index.embedder!.embed([analyzed.embedText], o.signal);
    if (qv) fuse(index.vectors!.query(qv, o.candidates), 'vector', o.vectorWeight);
  }
  normalise([...evidence.values()]);

  // Stage 2: files.
  const files = new Map<string, FileCandidate>();
  const fileOf = (p: string) => {
    let f = files.get(p);
    if (!f) files.set(p, (f = { path: p, fileScore: 0, chunks: [], score: 0 }));
    return f;
  };
  if (retrievers.includes('lexical') && o.fileWeight > 0) {
    const fileHits = index.fileLexical.search(analyzed.terms, o.fileCandidates);
    const top = fileHits[0]?.score ?? 0;
    for (const h of fileHits) if (index.getFile(h.id)) fileOf(h.id).fileScore = top > 0 ? h.score / top : 0;
  }
  for (const e of evidence.values()) fileOf(e.chunk.path).chunks.push(e);

  const definers = definitionShares(index, analyzed.identifiers, o.maxDefiners);
  const queriedKeys = new Set(analyzed.identifiers.flatMap(symbolKeys));
  const lexicalOn = retrievers.includes('lexical');
  const fileWeight = lexicalOn ? o.fileWeight : 0;
  for (const f of files.values()) {
    const best = f.chunks.reduce((m, c) => Math.max(m, c.score), 0);
    let score = fileWeight * f.fileScore + (1 - fileWeight) * best;
    score *= rolePrior(fileRole(f.path), intent, priors);
    if (o.pathMatchFactor !== 1 && analyzed.fileStems.size && analyzed.fileStems.has(stemOf(f.path))) score *= o.pathMatchFactor;
    const share = definers.get(f.path);
    if (share) score *= 1 + o.symbolWeight * Math.min(2, share);
    f.score = score;
  }
  const ranked = [...files.values()].filter((f) => f.score > 0).sort((a, b) => b.score - a.score || cmp(a.path, b.path));

  // Stage 3: chunks within the top files.
  const hits: Array<ChunkEvidence & { final: number }> = [];
  for (const f of ranked.slice(0, k)) {
    const chunks = chunksOfFile(index, f, analyzed, lexicalOn);
    // Within a file, a chunk that defines a queried identifier is the likelier place.
    const within = chunks.map((c) => ({
      c,
      s: c.score * (queriedKeys.size && c.chunk.symbols.some((s) => symbolKeys(s).some((key) => queriedKeys.has(key))) ? 1 + o.symbolWeight : 1),
    }));
    within.sort((a, b) => b.s - a.s || a.c.chunk.startLine - b.c.chunk.startLine);
    const bestWithin = within[0]?.s || 1;
    const taken: Chunk[] = [];
    for (const { c, s } of within) {
      if (taken.length >= o.perFileCap) break;
      // Overlapping ranges (split long lines, a header piece) add nothing once one is shown.
      if (taken.some((t) => t.startLine <= c.chunk.endLine && c.chunk.startLine <= t.endLine)) continue;
      if (taken.length > 0 && s <= 0) break;
      hits.push({ ...c, final: f.score * Math.max(s / bestWithin, 0.05) * o.chunkDecay ** taken.length });
      taken.push(c.chunk);
    }
  }
  hits.sort((a, b) => b.final - a.final || cmp(a.chunk.path, b.chunk.path) || a.chunk.startLine - b.chunk.startLine);
  return hits.slice(0, k).map((h) => ({
    chunkId: h.chunk.id,
    path: h.chunk.path,
    startLine: h.chunk.startLine,
    endLine: h.chunk.endLine,
    score: h.final,
    retrievers: h.retrievers,
    lexicalScore: h.lexicalScore,
    vectorScore: h.vectorScore,
    language: h.chunk.language,
    symbols: h.chunk.symbols,
    header: h.chunk.header,
    text: h.chunk.text,
    hash: h.chunk.hash,
  }));
}

/** Scales scores so the best is 1. */
function normalise(list: ChunkEvidence[]): void {
  const top = list.reduce((m, e) => Math.max(m, e.score), 0);
  if (top > 0) for (const e of list) e.score /= top;
}

/**
 * The chunks of a top file with their evidence. Chunks outside the candidate lists (a file that
 * ranks on whole-file evidence alone) are scored against the query directly, relative to the best
 * candidate chunk of the query.
 */
function chunksOfFile(index: WorkspaceIndex, f: FileCandidate, analyzed: AnalyzedQuery, lexicalOn: boolean): ChunkEvidence[] {
  const entry = index.getFile(f.path);
  if (!entry || !lexicalOn) return f.chunks;
  const have = new Set(f.chunks.map((c) => c.chunk.id));
  const missing = entry.chunks.filter((c) => !have.has(c.id));
  if (!missing.length) return f.chunks;
  const scores = index.lexical.scoreIds(analyzed.terms, missing.map((c) => c.id));
  // Put the direct scores on the candidates' scale: the file's candidates (if any) tell the ratio.
  const ref = f.chunks.find((c) => c.lexicalScore !== undefined && c.lexicalScore > 0);
  const scale = ref ? ref.score / ref.lexicalScore! : 0;
  const maxMissing = Math.max(...scores, 0);
  const extra: ChunkEvidence[] = missing.map((chunk, i) => ({
    chunk,
    score: scale > 0 ? scores[i]! * scale : maxMissing > 0 ? (0.5 * scores[i]!) / maxMissing : 0,
    retrievers: [],
    lexicalScore: scores[i]! > 0 ? scores[i]! : undefined,
  }));
  return [...f.chunks, ...extra];
}

/**
 * For each file, its share of the definitions of the identifiers the query names: an identifier
 * defined in two files gives each 0.5. Identifiers defined in more than `maxDefiners` files are
 * skipped (overloaded names such as `new` or `get`).
 */
function definitionShares(index: WorkspaceIndex, identifiers: readonly string[], maxDefiners: number): Map<string, number> {
  const shares = new Map<string, number>();
  const seen = new Set<string>();
  for (const id of identifiers) {
    for (const key of symbolKeys(id)) {
      if (key.length < 3 || seen.has(key)) continue;
      seen.add(key);
      const files = index.symbols.definers(key);
      if (!files || !files.size || files.size > maxDefiners) continue;
      for (const p of files.keys()) shares.set(p, (shares.get(p) ?? 0) + 1 / files.size);
    }
  }
  return shares;
}

function stemOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
