/**
 * BM25 over code-aware terms, on MiniSearch.
 *
 * MiniSearch gives us BM25+ scoring, per-field boosts, incremental add/discard and versioned
 * serialization; we feed it pre-tokenized fields (see tokenize.ts) and keep a document-frequency
 * table of our own so long queries (whole issue reports, ~10 KB) can be cut down to their
 * informative terms before they reach the engine. Measurements are in docs/benchmarks.md.
 */
import MiniSearch from 'minisearch';
import { codeTerms, pathTerms, TOKENIZER_VERSION } from './tokenize';

/** Bump when the stored lexical format or field setup changes. */
export const LEXICAL_VERSION = 1 + TOKENIZER_VERSION * 100;

export interface LexicalDoc {
  id: string;
  path: string;
  symbols: readonly string[];
  header: string;
  text: string;
}

/** A query term and its weight (1 = normal). */
export interface WeightedTerm {
  term: string;
  weight: number;
}

export interface LexicalHit {
  id: string;
  score: number;
}

/**
 * Field boosts. `symbols` (names the chunk defines) and `path` (folder and file names) are strong
 * evidence that a chunk is *about* a term rather than merely using it. Values chosen on the dev set
 * (eval/dev-mocha.jsonl), see docs/evaluation.md.
 */
export const FIELD_BOOSTS = { symbols: 3, path: 2, text: 1 } as const;

/**
 * Terms that occur in more than this share of all chunks are dropped from long queries: their IDF
 * is near zero, so they barely move the ranking but cost the most (longest posting lists).
 */
const COMMON_TERM_SHARE = 0.25;

/** A query never sends more than this many distinct terms to the engine. */
export const MAX_QUERY_TERMS = 48;

interface Indexed {
  id: string;
  t: string;
  p: string;
  s: string;
}

type EngineOptions = ConstructorParameters<typeof MiniSearch<Indexed>>[0];

const ENGINE_OPTIONS: EngineOptions = {
  idField: 'id',
  fields: ['t', 'p', 's'],
  storeFields: [],
  // Fields arrive as space-joined, already lower-cased terms.
  tokenize: (text) => (text ? text.split(' ') : []),
  processTerm: (term) => term || null,
  searchOptions: {
    boost: { t: FIELD_BOOSTS.text, p: FIELD_BOOSTS.path, s: FIELD_BOOSTS.symbols },
    combineWith: 'OR',
    prefix: false,
    fuzzy: false,
  },
  // Vacuuming runs in the background after discards; a full rebuild is never needed.
  autoVacuum: { minDirtCount: 200, minDirtFactor: 0.1, batchSize: 2000, batchWait: 5 },
};

function toIndexed(doc: LexicalDoc): Indexed {
  const text = codeTerms(doc.header ? `${doc.header}\n${doc.text}` : doc.text);
  const s: string[] = [];
  for (const sym of doc.symbols) s.push(...codeTerms(sym));
  return { id: doc.id, t: text.join(' '), p: pathTerms(doc.path).join(' '), s: s.join(' ') };
}

function uniqueTerms(doc: Indexed): Set<string> {
  const unique = new Set<string>();
  for (const field of [doc.t, doc.p, doc.s]) {
    if (!field) continue;
    for (const term of field.split(' ')) unique.add(term);
  }
  return unique;
}

export class LexicalIndex {
  private engine: MiniSearch<Indexed>;
  /** Document frequency of each term (number of chunks containing it in any field). */
  private readonly df = new Map<string, number>();
  private readonly ids = new Set<string>();

  constructor() {
    this.engine = new MiniSearch<Indexed>(ENGINE_OPTIONS);
  }

  get documentCount(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds chunks. A chunk id already present must be removed first (ids are content-addressed). */
  add(docs: readonly LexicalDoc[]): void {
    const batch: Indexed[] = [];
    for (const doc of docs) {
      if (this.ids.has(doc.id)) continue;
      const indexed = toIndexed(doc);
      this.ids.add(doc.id);
      this.countTerms(indexed, 1);
      batch.push(indexed);
    }
    this.engine.addAll(batch);
  }

  /**
   * Removes chunks. Takes the documents rather than ids because the terms are recomputed to keep
   * the document-frequency table exact (cheaper in memory than keeping every document's terms).
   */
  remove(docs: readonly LexicalDoc[]): void {
    const present: string[] = [];
    for (const doc of docs) {
      if (!this.ids.has(doc.id)) continue;
      this.countTerms(toIndexed(doc), -1);
      this.ids.delete(doc.id);
      present.push(doc.id);
    }
    if (present.length) this.engine.discardAll(present);
  }

  private countTerms(doc: Indexed, delta: 1 | -1): void {
    for (const term of uniqueTerms(doc)) {
      const n = (this.df.get(term) ?? 0) + delta;
      if (n <= 0) this.df.delete(term);
      else this.df.set(term, n);
    }
  }
  /** How many chunks contain `term`. */
  documentFrequency(term: string): number {
    return this.df.get(term) ?? 0;
  }

  /**
   * Keeps the informative part of a query: distinct terms present in the index, minus the very
   * common ones, at most {@link MAX_QUERY_TERMS}, preferring heavier and rarer terms.
   */
  selectTerms(terms: readonly WeightedTerm[]): WeightedTerm[] {
    const n = Math.max(1, this.documentCount);
    const merged = new Map<string, number>();
    for (const { term, weight } of terms) merged.set(term, Math.max(merged.get(term) ?? 0, weight));
    const scored: Array<WeightedTerm & { idf: number }> = [];
    for (const [term, weight] of merged) {
      const df = this.df.get(term);
      if (!df) continue;
      // Keep common terms only for short queries, where dropping them could leave nothing.
      if (merged.size > 8 && df / n > COMMON_TERM_SHARE) continue;
      scored.push({ term, weight, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)) });
    }
    scored.sort((a, b) => b.weight * b.idf - a.weight * a.idf || (a.term < b.term ? -1 : 1));
    return scored.slice(0, MAX_QUERY_TERMS).map(({ term, weight }) => ({ term, weight }));
  }

  search(terms: readonly WeightedTerm[], limit: number): LexicalHit[] {
    const selected = this.selectTerms(terms);
    if (!selected.length) return [];
    const weights = new Map(selected.map((t) => [t.term, t.weight]));
    const results = this.engine.search(selected.map((t) => t.term).join(' '), {
      boostTerm: (term) => weights.get(term) ?? 1,
    });
    const out: LexicalHit[] = [];
    for (const r of results) {
      out.push({ id: String(r.id), score: r.score });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Serializes the whole index (MiniSearch's own versioned JSON plus our term tables). */
  toJSON(): unknown {
    return {
      version: LEXICAL_VERSION,
      engine: this.engine.toJSON(),
      ids: [...this.ids],
      df: [...this.df],
    };
  }

  /** Restores an index written by {@link toJSON}; throws on any mismatch (the caller rebuilds). */
  static fromJSON(json: unknown): LexicalIndex {
    const data = json as { version?: unknown; engine?: unknown; ids?: unknown; df?: unknown };
    if (!data || data.version !== LEXICAL_VERSION || !Array.isArray(data.ids) || !Array.isArray(data.df) || !data.engine) {
      throw new Error('lexical index snapshot has an unknown version or shape');
    }
    const index = new LexicalIndex();
    index.engine = MiniSearch.loadJS(data.engine as Parameters<typeof MiniSearch.loadJS>[0], ENGINE_OPTIONS);
    for (const id of data.ids as unknown[]) index.ids.add(String(id));
    for (const row of data.df as unknown[]) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'number') {
        throw new Error('lexical index snapshot is corrupt');
      }
      index.df.set(row[0], row[1]);
    }
    if (index.engine.documentCount !== index.ids.size) throw new Error('lexical index snapshot is inconsistent');
    return index;
  }
}
