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
import { DEFAULT_ROLE_PRIORS, fileRole, queryIntent, rolePrior, vendoredFolders, type FileRole, type QueryIntent, type RolePriors } from './fileRoles';
import { analyzeQuery, type AnalyzedQuery, type QueryAnalysisOptions } from './queryAnalysis';
import { hash16 } from './hash';
import { MAX_QUERY_POSTINGS, type Bm25Params } from './lexicalIndex';
import { symbolKeys } from './symbolTable';
import { codeTerms, isStopword } from './tokenize';
import type { Chunk } from './types';
import type { SearchableIndex } from './indexStore';

export type Retriever = 'lexical' | 'vector';

/** One ranked place: a chunk (or consecutive chunks widened into one span) of a file. */
export interface SearchHit extends Pick<Chunk, 'path' | 'startLine' | 'endLine' | 'language' | 'symbols' | 'header' | 'text'> {
  /** The chunk the hit was chosen for (the span may include its neighbours). */
  chunkId: string;
  /** Final score (higher is better); comparable only within one result list. */
  score: number;
  /** Which retrievers returned this hit's chunks among their candidates. */
  retrievers: Retriever[];
  /** Raw BM25 score and cosine similarity, when the chunk was a candidate of that retriever. */
  lexicalScore?: number;
  vectorScore?: number;
  /** Content hash of the span at index time (the chunk's own hash for a single chunk), for staleness checks. */
  hash: string;
}

export interface SearchOptions {
  /** Number of hits to return (default 10, range 1-100). */
  k?: number;
  /** At most this many hits from one file (default 5). */
  perFileCap?: number;
  /**
   * The best place of each of this many top files is always among the k hits; the other slots go
   * to the best remaining places, up to `perFileCap` per file (default 6; k = one place for each
   * of k files).
   */
  minFiles?: number;
  /** Chunk candidates taken from each retriever (default 300). */
  candidates?: number;
  /** Files taken from the whole-file index (default 100). */
  fileCandidates?: number;
  /**
   * Share of a file's score that comes from whole-file BM25; the rest is its best chunk
   * (default 0.2; 0 = chunks only).
   */
  fileWeight?: number;
  /**
   * Each further hit from the same file is multiplied by this (default 1 = none: the per-file cap
   * alone spreads hits; more places in the best file served line-level recall better than more files).
   */
  chunkDecay?: number;
  /**
   * A hit is widened with the neighbouring chunks of its file up to this many lines (default 65;
   * 0 = single chunks). More context per hit, and the lines a change touches are usually next to
   * the best match.
   */
  hitLines?: number;
  /**
   * A file's chunk evidence: best + a·second + a²·third candidate chunk (default 0.5; 0 = the best
   * chunk only). Several places that match add up, as in the whole-file score, but stay local.
   */
  chunkAggregation?: number;
  /**
   * Long reports: a file's score is multiplied by 1 + titlePhraseWeight × (share of the title's
   * consecutive word pairs that appear next to each other in the file: `vector<bool>` for "…element
   * of std::vector<bool> fails"), for the best {@link TITLE_PHRASE_FILES} files (default 0.5; 0 = off).
   * Words next to each other in the reporter's summary are a phrase; BM25 scores them apart.
   */
  titlePhraseWeight?: number;
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
   * Multiplier for a file whose path (with at least one folder) the query names, e.g. in a
   * repository URL or a `path:line` frame; replaces the file-name match (default 3).
   */
  pathMentionFactor?: number;
  /**
   * How whole-file and best-chunk evidence combine: `linear` (fileWeight·file + (1-fileWeight)·chunk,
   * both normalised to the best) or `rrf` (weighted reciprocal ranks of the two lists) (default linear).
   */
  fileFusion?: 'linear' | 'rrf';
  /**
   * Weight of "this file defines an identifier the query names": a file's score is multiplied by
   * 1 + symbolWeight × (its share of the definitions, summed over identifiers, at most 2) (default 0.5).
   */
  symbolWeight?: number;
  /**
   * Weight of "the file's name is made of the question's words" (`error-handler.js` for "…the
   * error handler…"): a file's score is multiplied by 1 + nameWeight × (share of its name's words in
   * the query, halved for one-word names). Questions only: an issue report contains most file
   * names' words somewhere (default 0.5).
   */
  nameWeight?: number;
  /** Identifiers defined in more files than this are too common to point anywhere (default 5). */
  maxDefiners?: number;
  /** Distinct query terms scored against chunks and against files (defaults 200 and 200). */
  maxQueryTerms?: number;
  fileMaxQueryTerms?: number;
  /** Posting entries one BM25 search may score (the work bound of a long query on a large index; default 500,000, see lexicalIndex.ts). */
  maxQueryPostings?: number;
  /** BM25 length normalisation for chunks and for whole files (defaults 0.75 and 0.75). */
  chunkB?: number;
  fileB?: number;
  /** Extra weight for stack-frame names and code-style identifiers (see queryAnalysis.ts). */
  analysis?: QueryAnalysisOptions;
  /** Restrict to one retriever (evaluation and debugging). */
  mode?: 'hybrid' | 'lexical' | 'vector';
  signal?: AbortSignal;
}

export const SEARCH_DEFAULTS = {
  k: 10,
  perFileCap: 5,
  minFiles: 6,
  candidates: 300,
  fileCandidates: 100,
  fileWeight: 0.2,
  chunkAggregation: 0.5,
  titlePhraseWeight: 0.5,
  chunkDecay: 1,
  hitLines: 65,
  rrfK: 60,
  lexicalWeight: 1,
  vectorWeight: 1,
  pathMatchFactor: 1.5,
  pathMentionFactor: 3,
  fileFusion: 'linear',
  symbolWeight: 0.5,
  maxDefiners: 5,
  nameWeight: 0.5,
  maxQueryTerms: 200,
  fileMaxQueryTerms: 200,
  maxQueryPostings: MAX_QUERY_POSTINGS,
  chunkB: 0.75,
  fileB: 0.75,
} as const;

/** The weights of the lexical and vector lists in the hybrid fusion: a user setting, validated here. */
export interface FusionWeights {
  lexicalWeight: number;
  vectorWeight: number;
}

/** Largest fusion weight accepted (only the ratio of the two matters; 10:1 is already one-sided). */
export const MAX_FUSION_WEIGHT = 10;

/**
 * Checks fusion weights from a setting or a flag; `names` are what the user typed them as, so the
 * error says which one to fix. Missing weights take the defaults.
 */
export function fusionWeights(lexical: unknown, vector: unknown, names: { lexical: string; vector: string }): FusionWeights {
  const check = (v: unknown, name: string, fallback: number): number => {
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_FUSION_WEIGHT) {
      throw new RangeError(`${name} must be a number from 0 to ${MAX_FUSION_WEIGHT} (got ${JSON.stringify(v)}); the default is 1.`);
    }
    return n;
  };
  const w = { lexicalWeight: check(lexical, names.lexical, SEARCH_DEFAULTS.lexicalWeight), vectorWeight: check(vector, names.vector, SEARCH_DEFAULTS.vectorWeight) };
  if (w.lexicalWeight === 0 && w.vectorWeight === 0) throw new RangeError(`${names.lexical} and ${names.vector} cannot both be 0: set one above 0 (the defaults are 1 and 1).`);
  return w;
}

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
export function planQuery(index: SearchableIndex, query: string, options: SearchOptions = {}, analyzed = analyzeQuery(query.trim(), options.analysis)): SearchPlan {
  const mode = options.mode ?? 'hybrid';
  const retrievers: Retriever[] = [];
  if (mode !== 'vector') retrievers.push('lexical');
  if (mode !== 'lexical' && index.vectors && index.embedder && index.vectors.count > 0) retrievers.push('vector');
  return { analyzed, intent: queryIntent(query, analyzed.long), retrievers };
}

/** Runs the real retrieval path over an open index. */
export async function search(index: SearchableIndex, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  if (!index.prepare || !query.trim()) return rankedSearch(index, query, options);
  // A store that fetches per search (a shared snapshot): the postings of every query term, and of
  // every term of the raw query (what answer.ts's coverage reads after the search), before scoring.
  const analyzed = analyzeQuery(query.trim(), options.analysis);
  const prepared = await index.prepare([...new Set([...analyzed.terms.map((t) => t.term), ...codeTerms(query)])], options.signal);
  try {
    return await rankedSearch(index, query, options, analyzed);
  } finally {
    prepared.release();
  }
}

/** `analyzed`: the query's analysis when the caller already made it (the same for the same query and options). */
async function rankedSearch(index: SearchableIndex, query: string, options: SearchOptions, analyzedQuery?: AnalyzedQuery): Promise<SearchHit[]> {
  const o = { ...SEARCH_DEFAULTS, ...options };
  const k = Math.max(1, Math.min(100, Math.floor(o.k)));
  if (!query.trim()) return [];
  const { analyzed, intent, retrievers } = planQuery(index, query, options, analyzedQuery);
  const priors: RolePriors = { ...DEFAULT_ROLE_PRIORS, ...options.rolePriors };

  // Stage 1: chunk candidates.
  const evidence = new Map<string, ChunkEvidence>();
  // Partial vector coverage (embedding still running): a chunk of a file without vectors takes its
  // lexical rank in place of the vector rank it cannot have yet, so lacking a vector neither demotes
  // it below embedded chunks nor lets the embedded part of the corpus crowd out keyword matches.
  // With no vectors this is the lexical order, with all of them plain hybrid (docs/benchmarks.md).
  const vectorStore = index.vectors;
  const covered = retrievers.length === 2 && vectorStore?.hasPath ? (p: string) => vectorStore.hasPath!(p) : undefined;
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
      if (retriever === 'lexical' && covered && !covered(chunk.path)) e.score += o.vectorWeight / (o.rrfK + rank + 1);
    });
  };
  if (retrievers.includes('lexical'))
    fuse(index.lexical.search(analyzed.terms, o.candidates, { maxTerms: o.maxQueryTerms, maxPostings: o.maxQueryPostings, b: o.chunkB }), 'lexical', o.lexicalWeight);
  if (retrievers.includes('vector')) {
    const qv = await index.embedder!.embedQuery(analyzed.embedText, o.signal);
    // A local store answers synchronously, a shared one over the network: the same ranks either way.
    if (qv) fuse(await index.vectors!.query(qv, o.candidates), 'vector', o.vectorWeight);
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
    const fileHits = index.fileLexical.search(analyzed.terms, o.fileCandidates, { maxTerms: o.fileMaxQueryTerms, maxPostings: o.maxQueryPostings, b: o.fileB });
    const top = fileHits[0]?.score ?? 0;
    for (const h of fileHits) if (index.getFile(h.id)) fileOf(h.id).fileScore = top > 0 ? h.score / top : 0;
  }
  for (const e of evidence.values()) fileOf(e.chunk.path).chunks.push(e);

  const vendored = vendoredFoldersOf(index);
  const roleOf = (p: string): FileRole => (vendored.some((d) => p.startsWith(d)) ? 'vendor' : fileRole(p));
  const definers = definitionShares(index, analyzed.identifiers, o.maxDefiners);
  const queriedKeys = new Set(analyzed.identifiers.flatMap(symbolKeys));
  const lexicalOn = retrievers.includes('lexical');
  const queryTermSet = new Set(analyzed.terms.map((t) => t.term));
  const fileWeight = lexicalOn ? o.fileWeight : 0;
  const bestChunk = new Map<FileCandidate, number>();
  const agg = o.chunkAggregation;
  for (const f of files.values()) {
    if (!agg)
      bestChunk.set(
        f,
        f.chunks.reduce((m, c) => Math.max(m, c.score), 0),
      );
    else {
      const top = f.chunks.map((c) => c.score).sort((a, b) => b - a);
      bestChunk.set(f, (top[0] ?? 0) + agg * (top[1] ?? 0) + agg * agg * (top[2] ?? 0));
    }
  }
  const rrfRank = o.fileFusion === 'rrf' ? fusionRanks([...files.values()], bestChunk) : undefined;
  for (const f of files.values()) {
    let score = rrfRank ? fileWeight * rrfRank.file(f) + (1 - fileWeight) * rrfRank.chunk(f) : fileWeight * f.fileScore + (1 - fileWeight) * bestChunk.get(f)!;
    score *= rolePrior(roleOf(f.path), intent, priors);
    if (analyzed.paths.some((p) => f.path === p || f.path.endsWith(`/${p}`))) score *= o.pathMentionFactor;
    else if (o.pathMatchFactor !== 1 && analyzed.fileStems.size && analyzed.fileStems.has(stemOf(f.path))) score *= o.pathMatchFactor;
    if (o.nameWeight && !analyzed.long) score *= 1 + o.nameWeight * nameMatch(f.path, queryTermSet);
    const share = definers.get(f.path);
    if (share) score *= 1 + o.symbolWeight * Math.min(2, share);
    f.score = score;
  }
  if (o.titlePhraseWeight && analyzed.title) {
    // A store that keeps texts on the server fetches those the phrase check reads.
    if (index.loadTexts)
      await index.loadTexts(
        titlePhraseFiles(files).flatMap((f) => index.getFile(f.path)?.chunks ?? []),
        o.signal,
      );
    titlePhrases(index, files, analyzed.title, o.titlePhraseWeight);
  }
  const ranked = [...files.values()].filter((f) => f.score > 0).sort((a, b) => b.score - a.score || cmp(a.path, b.path));

  // Stage 3: places within the top files. Each hit is the file's best remaining chunk, widened
  // with its neighbours up to `hitLines` lines (the code around a match is usually part of the
  // answer, and a fix usually edits the lines next to where the evidence is).
  const hits: Hit[] = [];
  ranked.slice(0, k).forEach((f, fileRank) => {
    const chunks = chunksOfFile(index, f, analyzed, lexicalOn, { maxTerms: o.maxQueryTerms, maxPostings: o.maxQueryPostings, b: o.chunkB });
    // Within a file, a chunk that defines a queried identifier is the likelier place.
    const scored = chunks.map((c) => ({
      c,
      s: c.score * (queriedKeys.size && c.chunk.symbols.some((s) => symbolKeys(s).some((key) => queriedKeys.has(key))) ? 1 + o.symbolWeight : 1),
    }));
    const byLine = [...scored].sort((a, b) => a.c.chunk.startLine - b.c.chunk.startLine || a.c.chunk.endLine - b.c.chunk.endLine);
    const byScore = [...scored].sort((a, b) => b.s - a.s || a.c.chunk.startLine - b.c.chunk.startLine);
    const bestWithin = byScore[0]?.s || 1;
    const used = new Set<number>();
    const spans: Array<[number, number]> = [];
    for (const first of byScore) {
      if (spans.length >= o.perFileCap) break;
      if (spans.length > 0 && first.s <= 0) break;
      const at = byLine.indexOf(first);
      if (used.has(at) || spans.some(([a, b]) => a <= first.c.chunk.endLine && first.c.chunk.startLine <= b)) continue;
      let lo = at;
      let hi = at;
      used.add(at);
      // Widen while the span fits: take the better-scored neighbour first (the next one on ties).
      for (;;) {
        const span = (a: number, b: number) => byLine[b]!.c.chunk.endLine - byLine[a]!.c.chunk.startLine + 1;
        const mergeable = (j: number) => !used.has(j) && !isPiece(byLine[j]!.c.chunk);
        const canPrev = lo > 0 && mergeable(lo - 1) && byLine[lo - 1]!.c.chunk.endLine < byLine[lo]!.c.chunk.startLine && span(lo - 1, hi) <= o.hitLines;
        const canNext = hi < byLine.length - 1 && mergeable(hi + 1) && byLine[hi + 1]!.c.chunk.startLine > byLine[hi]!.c.chunk.endLine && span(lo, hi + 1) <= o.hitLines;
        if (!canPrev && !canNext) break;
        if (canNext && (!canPrev || byLine[hi + 1]!.s >= byLine[lo - 1]!.s)) used.add(++hi);
        else used.add(--lo);
      }
      const parts = byLine.slice(lo, hi + 1).map((x) => x.c);
      spans.push([parts[0]!.chunk.startLine, parts[parts.length - 1]!.chunk.endLine]);
      hits.push({ main: first.c, parts, final: f.score * Math.max(first.s / bestWithin, 0.05) * o.chunkDecay ** (spans.length - 1), fileRank, first: spans.length === 1 });
    }
  });
  const byFinal = (a: Hit, b: Hit) => b.final - a.final || cmp(a.main.chunk.path, b.main.chunk.path) || a.main.chunk.startLine - b.main.chunk.startLine;
  // The first place of each of the top `minFiles` files is kept; the rest of the k slots go to the
  // best remaining places. Order stays by score, so files appear in their ranking's order.
  const minFiles = Math.max(0, Math.min(k, Math.floor(o.minFiles)));
  const kept = hits.filter((h) => h.first && h.fileRank < minFiles);
  const rest = hits.filter((h) => !(h.first && h.fileRank < minFiles)).sort(byFinal);
  const chosen = [...kept, ...rest.slice(0, Math.max(0, k - kept.length))].sort(byFinal);
  if (index.loadTexts)
    await index.loadTexts(
      chosen.flatMap((h) => h.parts.map((p) => p.chunk)),
      o.signal,
    );
  return chosen.map(toSearchHit);
}

interface Hit {
  /** The chunk the hit was chosen for. */
  main: ChunkEvidence;
  /** Consecutive chunks of the file that make up the hit, in line order (main among them). */
  parts: ChunkEvidence[];
  final: number;
  /** Rank of the hit's file in the file ranking (0 = best), and whether it is the file's first place. */
  fileRank: number;
  first: boolean;
}

/**
 * A piece of a split over-long line shares its line with its siblings: never merged. Its id ends in
 * `#<hash8>@<part>`; a path may itself contain `@` (`packages/@scope/x.ts`), so only the suffix counts.
 */
function isPiece(c: Chunk): boolean {
  return /#[0-9a-f]{8}@\d+$/.test(c.id);
}

function toSearchHit(h: Hit): SearchHit {
  const { chunk } = h.main;
  const base = {
    chunkId: chunk.id,
    path: chunk.path,
    score: h.final,
    retrievers: [...new Set(h.parts.flatMap((p) => p.retrievers))],
    lexicalScore: h.main.lexicalScore,
    vectorScore: h.main.vectorScore,
    language: chunk.language,
    header: h.parts[0]!.chunk.header,
  };
  if (h.parts.length === 1) {
    return { ...base, startLine: chunk.startLine, endLine: chunk.endLine, symbols: chunk.symbols, text: chunk.text, hash: chunk.hash };
  }
  // The exact lines of the span: chunks cover every non-blank line, so the lines between two
  // consecutive chunks are blank.
  const lines: string[] = [];
  let next = h.parts[0]!.chunk.startLine;
  for (const { chunk: c } of h.parts) {
    for (; next < c.startLine; next++) lines.push('');
    lines.push(c.text);
    next = c.endLine + 1;
  }
  const text = lines.join('\n');
  const last = h.parts[h.parts.length - 1]!.chunk;
  return {
    ...base,
    startLine: h.parts[0]!.chunk.startLine,
    endLine: last.endLine,
    symbols: [...new Set(h.parts.flatMap((p) => p.chunk.symbols))],
    text,
    hash: hash16(base.header, '\n', text),
  };
}

/** Reciprocal-rank scores (×60, so the best is ~1) of each file in the whole-file and best-chunk lists. */
function fusionRanks(files: FileCandidate[], best: Map<FileCandidate, number>): { file(f: FileCandidate): number; chunk(f: FileCandidate): number } {
  const K = 60;
  const rankBy = (score: (f: FileCandidate) => number) => {
    const ranks = new Map<FileCandidate, number>();
    files
      .filter((f) => score(f) > 0)
      .sort((a, b) => score(b) - score(a) || cmp(a.path, b.path))
      .forEach((f, i) => ranks.set(f, (K + 1) / (K + i + 1)));
    return (f: FileCandidate) => ranks.get(f) ?? 0;
  };
  return { file: rankBy((f) => f.fileScore), chunk: rankBy((f) => best.get(f) ?? 0) };
}

const vendoredCache = new WeakMap<SearchableIndex, { generation: number; folders: string[] }>();

/** Third-party folders of an index (see {@link vendoredFolders}), recomputed after changes. */
function vendoredFoldersOf(index: SearchableIndex): string[] {
  const cached = vendoredCache.get(index);
  if (cached && cached.generation === index.generation) return cached.folders;
  const folders = vendoredFolders(index.indexedPaths());
  vendoredCache.set(index, { generation: index.generation, folders });
  return folders;
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
function chunksOfFile(index: SearchableIndex, f: FileCandidate, analyzed: AnalyzedQuery, lexicalOn: boolean, bm25: Bm25Params): ChunkEvidence[] {
  const entry = index.getFile(f.path);
  if (!entry) return f.chunks;
  const have = new Set(f.chunks.map((c) => c.chunk.id));
  const missing = entry.chunks.filter((c) => !have.has(c.id));
  if (!missing.length) return f.chunks;
  if (!lexicalOn) return [...f.chunks, ...missing.map((chunk) => ({ chunk, score: 0, retrievers: [] }))];
  const scores = index.lexical.scoreIds(
    analyzed.terms,
    missing.map((c) => c.id),
    bm25,
  );
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
function definitionShares(index: SearchableIndex, identifiers: readonly string[], maxDefiners: number): Map<string, number> {
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

/** How many of the best files are checked for the title's phrases. */
export const TITLE_PHRASE_FILES = 30;

/**
 * Multiplies the scores of the best files by 1 + weight × the share of the title's consecutive
 * word pairs (stopwords and words under 3 letters dropped) found next to each other, joined by at
 * most four non-word characters (`std::vector`, `vector<bool>`, `null color`), in one of its chunks.
 */
function titlePhrases(index: SearchableIndex, files: Map<string, FileCandidate>, title: string, weight: number): void {
  const words = title
    .toLowerCase()
    .split(/[^a-z0-9_]+/)
    .filter((w) => w.length > 2 && !isStopword(w));
  const pairs = titlePairs(words);
  if (!pairs.length) return;
  for (const f of titlePhraseFiles(files)) {
    const chunks = index.getFile(f.path)?.chunks;
    if (!chunks) continue;
    f.score *=
      1 +
      weight *
        (titlePairsFound(
          pairs,
          chunks.map((c) => c.text),
        ) /
          pairs.length);
  }
}

/** One pair of consecutive title words (lower case, [a-z0-9_] only) and its pattern. */
export interface TitlePair {
  first: string;
  second: string;
  re: RegExp;
}

/** The consecutive word pairs of `words` (see {@link titlePhrases}). */
export function titlePairs(words: readonly string[]): TitlePair[] {
  const pairs: TitlePair[] = [];
  for (let i = 0; i + 1 < words.length; i++) pairs.push({ first: words[i]!, second: words[i + 1]!, re: new RegExp(`\\b${words[i]}[^a-z0-9_\\n]{1,4}${words[i + 1]}`, 'i') });
  return pairs;
}

/**
 * How many of `pairs` match in one of `texts` (a file's chunks). The same count as testing every
 * pattern on every chunk, with less work (10 KB issue reports spent ~20% of their time here):
 * - the chunks are tested as one text joined by newlines: a match cannot cross a newline (words and
 *   the gap exclude it) and a newline is a word boundary, so a match in the joined text is a match
 *   in one chunk and the reverse;
 * - a pattern runs only when the lower-cased text contains both its words, which every match
 *   needs (the pattern's case-insensitive letters are ASCII, which lower-casing maps in place).
 */
export function titlePairsFound(pairs: readonly TitlePair[], texts: readonly string[]): number {
  const text = texts.join('\n');
  const lower = text.toLowerCase();
  let found = 0;
  for (const p of pairs) if (lower.includes(p.first) && lower.includes(p.second) && p.re.test(text)) found++;
  return found;
}

/** The files {@link titlePhrases} checks: the best {@link TITLE_PHRASE_FILES}. */
function titlePhraseFiles(files: Map<string, FileCandidate>): FileCandidate[] {
  return [...files.values()].sort((a, b) => b.score - a.score || cmp(a.path, b.path)).slice(0, TITLE_PHRASE_FILES);
}

/** Share of a file name's words that the query contains; one-word names count half. */
function nameMatch(p: string, queryTerms: ReadonlySet<string>): number {
  const words = [...new Set(codeTerms(stemOf(p)).filter((t) => t.length > 2))];
  // A compound name yields itself and its parts; its parts are the words.
  const parts = words.length > 1 ? words.filter((w) => !/[-_]/.test(w) && words.some((o) => o !== w && o.includes(w))) : words;
  if (!parts.length || GENERIC_NAMES.has(parts.join('-'))) return 0;
  const matched = parts.filter((w) => queryTerms.has(w)).length;
  return (matched / parts.length) * (parts.length > 1 ? 1 : 0.5);
}

/** File names that say nothing about their content. */
const GENERIC_NAMES = new Set(['index', 'main', 'mod', 'lib', 'util', 'utils', 'helper', 'helpers', 'common', 'types', 'type', 'internal', 'core', 'base', 'init']);

function stemOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
