/**
 * BM25 over code-aware terms: our own inverted index with typed-array posting lists.
 *
 * MiniSearch was evaluated first (it has custom tokenization, field boosts, incremental add/discard
 * and serialization) and measured on this machine at 86,782 chunks (7,473 real .js/.ts files):
 * re-open 4.3 s (JSON snapshot) and query p50 51 ms / p95 268 ms with long queries; targets are
 * ≤ 1 s and ≤ 30 ms. The cost is structural: a JSON snapshot of a radix tree, and object-per-match
 * scoring with a full sort. This index keeps, per term, one Int32Array of document numbers and one
 * Float32Array of field-weighted term frequencies, scores into one Float32Array accumulator with a
 * bounded heap for the top k (topK.ts), and saves as a binary file whose arrays are loaded as views without
 * parsing. See docs/benchmarks.md for the numbers it reaches.
 *
 * Scoring is BM25 (k1 = 1.2, b = 0.75) with a field-weighted term frequency (BM25F-style with one
 * length normalisation over the text field): tf = tf_text + 2·tf_path + 3·tf_symbols.
 */
import { forEachCodeTerm, pathTerms, TOKENIZER_VERSION } from './tokenize';
import { TopK, type KeyAfter } from './topK';
import { crc32 } from './vectorCodec';
import { fnv1a32 } from './fsUtil';
import { errMessage } from './errMessage';
import { parseSectionFile, sectionFileParts } from './sectionFile';

/** Bump when the stored lexical format or the field setup changes. */
export const LEXICAL_VERSION = 5 + TOKENIZER_VERSION * 100;

export interface LexicalDoc {
  id: string;
  path: string;
  symbols: readonly string[];
  header: string;
  text: string;
}

/**
 * A lexical index as plain arrays: document ids and lengths by document number, and per term a
 * range `offsets[t]..offsets[t+1]` of (document number, field-weighted tf) pairs in `docs`/`tfs`.
 */
export interface LexicalPostings {
  ids: string[];
  lengths: ArrayLike<number>;
  terms: string[];
  offsets: ArrayLike<number>;
  docs: ArrayLike<number>;
  tfs: ArrayLike<number>;
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
 * evidence that a chunk is *about* a term rather than merely using it.
 */
export const FIELD_BOOSTS = { symbols: 3, path: 2, text: 1 } as const;

/** BM25 parameters: the common defaults, overridable per search. */
export interface Bm25Params {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation, 0 = none, 1 = full (default 0.75). */
  b?: number;
  /** Distinct query terms scored (default {@link MAX_QUERY_TERMS}). */
  maxTerms?: number;
  /** Posting entries scored per search, summed over the selected terms (default {@link MAX_QUERY_POSTINGS}). */
  maxPostings?: number;
}
const K1 = 1.2;
const B = 0.75;

/**
 * Terms that occur in more than this share of all chunks are dropped from long queries: their IDF
 * is near zero, so they barely move the ranking but cost the most (longest posting lists).
 */
const COMMON_TERM_SHARE = 0.25;

/** A query never sends more than this many distinct terms to the scorer. */
export const MAX_QUERY_TERMS = 48;

/**
 * The work bound of one search: selected terms are taken best first (weight × IDF) while their posting
 * lists add up to at most this many entries; a term whose list would pass it is skipped (the first
 * term is always kept). Scoring time is proportional to the entries scored, so this bounds a long
 * report's latency on a large index: the terms dropped are the query's most common ones, which carry
 * the least score. Measured (docs/benchmarks.md, "Work bound"): on the dev bench and the 95k-chunk
 * `npm run bench` corpus (largest query ~227k entries) rankings are unchanged; on the ×10 tree (954k
 * chunks) p95 query time 166-186 → 67-90 ms, 203 of 220 top-10 file sets as without the bound.
 * 250k would give 46-62 ms there but already lowers the dev bench's issues range_recall@10 by 0.005.
 */
export const MAX_QUERY_POSTINGS = 500_000;

/** Compact the posting lists when more than this share of documents are deleted. */
const COMPACT_DEAD_SHARE = 0.2;

interface Posting {
  docs: Int32Array;
  tfs: Float32Array;
  n: number;
}

/** A snapshot posting list held by a partial index, with its live count as of `version`. */
interface RemoteList {
  docs: Int32Array;
  tfs: Float32Array;
  live: number;
  version: number;
}

interface RemotePostings {
  /** The snapshot's documents are numbers 0 … base-1. */
  base: number;
  /** Held lists (null: the snapshot has no such term), least recently used first. */
  lists: Map<string, RemoteList | null>;
  entries: number;
  /** Bumps whenever a snapshot document leaves or comes back (live counts are recounted). */
  version: number;
  locate: (id: string) => number | undefined;
  pins: Map<string, number>;
  /** Where lists not held are read from synchronously (a local file), when there is such a place. */
  source?: PostingSource;
  /** Most entries held while lists are read through `source` (least recently used unpinned ones go first). */
  maxEntries: number;
}

/**
 * Synchronous access to a snapshot's posting lists (lexicalReader.ts: positioned reads of a local
 * file): a partial index with one reads what it does not hold when a search needs it, and knows every
 * term's document frequency without reading its list.
 */
export interface PostingSource {
  /** Documents of the snapshot containing `term` (0 when absent). */
  df(term: string): number;
  /** The term's list (document numbers ascending), or null when the snapshot has no such term. */
  read(term: string): { docs: Int32Array; tfs: Float32Array } | null;
}

/** First four bytes of a lexical snapshot: "GWLX" little-endian. */
export const LEXICAL_MAGIC = 0x58_4c_57_47;
const MAGIC = LEXICAL_MAGIC;

export class LexicalCorruptError extends Error {
  constructor(reason: string) {
    super(`lexical index file is unreadable (${reason})`);
    this.name = 'LexicalCorruptError';
  }
}

/**
 * The whole-file document of a file for the file-level index: its chunks' texts (which cover every
 * non-blank line once), its path once, and every symbol it defines. Chunk headers are left out:
 * they repeat enclosing signatures that the file's text already holds.
 */
export function fileLexicalDoc(path: string, chunks: readonly { text: string; symbols: readonly string[] }[]): LexicalDoc {
  return { id: path, path, symbols: chunks.flatMap((c) => c.symbols), header: '', text: chunks.map((c) => c.text).join('\n') };
}

/** What indexing needs of a document: its weighted term frequencies and its length in terms. */
export interface AnalyzedDoc {
  tf: Map<string, number>;
  len: number;
}

/**
 * The analysis of each chunk of a file and of the file as one document ({@link fileLexicalDoc}),
 * tokenising each text once instead of twice: the file's text is its chunks' texts joined by
 * newlines and a word never spans a newline, so its text terms are the chunks' text terms in order
 * (then the path's and every chunk's symbols', as for any document). Equal, terms, weights, order
 * and lengths, to `docTerms` of each chunk and of `fileLexicalDoc(path, chunks)` (unit-tested);
 * tokenising was ~a quarter of a cold index's CPU, half of it the file-level copy.
 */
export function analyzeFile(path: string, chunks: readonly LexicalDoc[]): { chunks: AnalyzedDoc[]; file: AnalyzedDoc } {
  const fileTf = new Map<string, number>();
  let fileLen = 0;
  const out: AnalyzedDoc[] = [];
  const addFile = (t: string) => fileTf.set(t, (fileTf.get(t) ?? 0) + FIELD_BOOSTS.text);
  // A file's chunks carry its path; pathTerms is computed once for it.
  const ownPathTerms = pathTerms(path);
  const termsOfPath = (p: string) => (p === path ? ownPathTerms : pathTerms(p));
  for (const doc of chunks) {
    const tf = new Map<string, number>();
    const addText = (t: string) => tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.text);
    let len = doc.header ? forEachCodeTerm(doc.header, addText) : 0;
    const textLen = forEachCodeTerm(doc.text, (t) => {
      addText(t);
      addFile(t);
    });
    len += textLen;
    fileLen += textLen;
    for (const t of termsOfPath(doc.path)) tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.path);
    const addSymbol = (t: string) => tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.symbols);
    for (const sym of doc.symbols) forEachCodeTerm(sym, addSymbol);
    out.push({ tf, len: Math.max(1, len) });
  }
  for (const t of termsOfPath(path)) fileTf.set(t, (fileTf.get(t) ?? 0) + FIELD_BOOSTS.path);
  const addFileSymbol = (t: string) => fileTf.set(t, (fileTf.get(t) ?? 0) + FIELD_BOOSTS.symbols);
  for (const doc of chunks) for (const sym of doc.symbols) forEachCodeTerm(sym, addFileSymbol);
  return { chunks: out, file: { tf: fileTf, len: Math.max(1, fileLen) } };
}

/** Weighted term frequencies of one document, and its length. */
export function docTerms(doc: LexicalDoc): AnalyzedDoc {
  const tf = new Map<string, number>();
  const addText = (t: string) => tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.text);
  // The header's terms and the text's, as if tokenised together (a word never spans the newline).
  const len = (doc.header ? forEachCodeTerm(doc.header, addText) : 0) + forEachCodeTerm(doc.text, addText);
  for (const t of pathTerms(doc.path)) tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.path);
  const addSymbol = (t: string) => tf.set(t, (tf.get(t) ?? 0) + FIELD_BOOSTS.symbols);
  for (const sym of doc.symbols) forEachCodeTerm(sym, addSymbol);
  return { tf, len: Math.max(1, len) };
}

/** Entries per arena page (4 MiB of document numbers and 4 MiB of frequencies). */
const PAGE_BITS = 20;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Largest block of one list's chain (entries); a new block holds half the list so far, at least {@link MIN_BLOCK}. */
const MAX_BLOCK = 1 << 16;
const MIN_BLOCK = 2;
/** Contiguous copies of chained lists kept for searches until the list changes. */
const MATERIALISED_KEPT = 256;

/**
 * Posting lists by term. After a load, every list is a range of two shared typed arrays (`base*`),
 * so opening a 100k-chunk index creates one Map entry per term and no per-term objects. Entries
 * added since (a cold index adds every entry) go to a chain of blocks per term in one arena of
 * fixed-size pages shared by all terms: a block is a slot for the next block's address (in the
 * document page; its capacity in the frequency page) and its entries. A list is its base range
 * followed by its chain; nothing is copied when a list grows, and there is no typed array per term
 * (two per term were ~600k small ArrayBuffers at 10k files, each with doubling slack and a few
 * hundred bytes of overhead). A chained list is made contiguous only when a search reads it
 * ({@link get}); {@link rebuild} makes everything base again and drops the arena. Document
 * frequencies are kept per term id in a typed array.
 */
class PostingStore {
  private terms: string[] = [];
  /**
   * Term ids of terms added since the last load/rebuild. Loaded terms are sorted and found by
   * binary search instead: building a Map of ~400k terms took ~170 ms of every re-open.
   */
  private readonly ids = new Map<string, number>();
  private baseDocs: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private baseTfs: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** Start of each loaded term's range in the base arrays; `baseOff[t + 1]` is its end. */
  private baseOff: Uint32Array<ArrayBufferLike> = new Uint32Array(1);
  private baseTerms = 0;
  private df = new Int32Array(1024);
  /** The arena: document numbers (a block's first slot: the next block's address) and frequencies (first slot: the block's capacity). */
  private docPages: Int32Array[] = [];
  private tfPages: Float32Array[] = [];
  /** Next free slot of the last page (PAGE_SIZE: no page yet). */
  private pageFill = PAGE_SIZE;
  /** Per term id: address of the first and of the last block of its chain (-1: no chain), entries in the last block, entries in the chain. */
  private head = new Int32Array(1024).fill(-1);
  private tail = new Int32Array(1024).fill(-1);
  private tailFill = new Int32Array(1024);
  private chained = new Int32Array(1024);
  /** Contiguous copies of chained lists read by searches (dropped when the list changes), oldest first. */
  private readonly materialised = new Map<number, Posting>();

  get termCount(): number {
    return this.terms.length;
  }

  termId(term: string): number | undefined {
    const added = this.ids.get(term);
    if (added !== undefined) return added;
    // Binary search over the loaded (sorted) terms.
    let lo = 0;
    let hi = this.baseTerms - 1;
    const terms = this.terms;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = terms[mid]!;
      if (t === term) return mid;
      if (t < term) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private baseCount(tid: number): number {
    return tid < this.baseTerms ? this.baseOff[tid + 1]! - this.baseOff[tid]! : 0;
  }

  /** The list of a term id (views of the base arrays or of a single block, else a copy; valid until the next change). */
  get(tid: number): Posting | undefined {
    const chained = tid < this.terms.length ? this.chained[tid]! : 0;
    const baseN = this.baseCount(tid);
    if (chained === 0) {
      if (tid >= this.baseTerms) return undefined;
      const a = this.baseOff[tid]!;
      return { docs: this.baseDocs.subarray(a, a + baseN), tfs: this.baseTfs.subarray(a, a + baseN), n: baseN };
    }
    const h = this.head[tid]!;
    if (baseN === 0 && h === this.tail[tid]) {
      const page = h >>> PAGE_BITS;
      const o = (h & PAGE_MASK) + 1;
      return { docs: this.docPages[page]!.subarray(o, o + chained), tfs: this.tfPages[page]!.subarray(o, o + chained), n: chained };
    }
    const kept = this.materialised.get(tid);
    if (kept) return kept;
    const n = baseN + chained;
    const p: Posting = { docs: new Int32Array(n), tfs: new Float32Array(n), n };
    this.copyList(tid, null, p.docs, p.tfs, 0);
    if (this.materialised.size >= MATERIALISED_KEPT) this.materialised.delete(this.materialised.keys().next().value!);
    this.materialised.set(tid, p);
    return p;
  }

  /** Copies a term's list (base range, then chain) into `docs`/`tfs` from `w`, through `remap` (-1: dropped) when given; returns the new end. */
  private copyList(tid: number, remap: Int32Array | null, docs: Int32Array, tfs: Float32Array, w: number): number {
    if (tid < this.baseTerms) {
      const a = this.baseOff[tid]!;
      const b = this.baseOff[tid + 1]!;
      if (!remap) {
        docs.set(this.baseDocs.subarray(a, b), w);
        tfs.set(this.baseTfs.subarray(a, b), w);
        w += b - a;
      } else {
        for (let r = a; r < b; r++) {
          const to = remap[this.baseDocs[r]!]!;
          if (to < 0) continue;
          docs[w] = to;
          tfs[w] = this.baseTfs[r]!;
          w++;
        }
      }
    }
    if (this.chained[tid] === 0) return w;
    const last = this.tail[tid]!;
    for (let blk = this.head[tid]!; ;) {
      const dp = this.docPages[blk >>> PAGE_BITS]!;
      const tp = this.tfPages[blk >>> PAGE_BITS]!;
      const o = blk & PAGE_MASK;
      const count = blk === last ? this.tailFill[tid]! : tp[o]!;
      if (!remap) {
        docs.set(dp.subarray(o + 1, o + 1 + count), w);
        tfs.set(tp.subarray(o + 1, o + 1 + count), w);
        w += count;
      } else {
        for (let r = o + 1; r <= o + count; r++) {
          const to = remap[dp[r]!]!;
          if (to < 0) continue;
          docs[w] = to;
          tfs[w] = tp[r]!;
          w++;
        }
      }
      if (blk === last) return w;
      blk = dp[o]!;
    }
  }

  documentFrequency(term: string): number {
    const tid = this.termId(term);
    return tid === undefined ? 0 : this.df[tid]!;
  }

  private intern(term: string): number {
    let tid = this.termId(term);
    if (tid !== undefined) return tid;
    tid = this.terms.length;
    this.terms.push(term);
    this.ids.set(term, tid);
    if (tid >= this.df.length) this.growTerms(this.df.length * 2);
    return tid;
  }

  private growTerms(size: number): void {
    const grown = (a: Int32Array, fill: number): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(size);
      if (fill !== 0) next.fill(fill, a.length);
      next.set(a);
      return next;
    };
    this.df = grown(this.df, 0);
    this.head = grown(this.head, -1);
    this.tail = grown(this.tail, -1);
    this.tailFill = grown(this.tailFill, 0);
    this.chained = grown(this.chained, 0);
  }

  /** A new block of about `want` entries (fewer at a page's end), its address. */
  private allocBlock(want: number): number {
    if (PAGE_SIZE - this.pageFill < MIN_BLOCK + 1) {
      this.docPages.push(new Int32Array(PAGE_SIZE));
      this.tfPages.push(new Float32Array(PAGE_SIZE));
      this.pageFill = 0;
    }
    const page = this.docPages.length - 1;
    const o = this.pageFill;
    const cap = Math.min(want, PAGE_SIZE - o - 1);
    this.pageFill = o + 1 + cap;
    this.docPages[page]![o] = -1;
    this.tfPages[page]![o] = cap;
    return (page << PAGE_BITS) | o;
  }

  append(term: string, doc: number, tf: number): void {
    const tid = this.intern(term);
    const n = this.baseCount(tid) + this.chained[tid]!;
    let blk = this.tail[tid]!;
    if (blk < 0 || this.tailFill[tid] === this.tfPages[blk >>> PAGE_BITS]![blk & PAGE_MASK]) {
      const next = this.allocBlock(Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, n >>> 1)));
      if (blk < 0) this.head[tid] = next;
      else this.docPages[blk >>> PAGE_BITS]![blk & PAGE_MASK] = next;
      this.tail[tid] = blk = next;
      this.tailFill[tid] = 0;
    }
    const slot = (blk & PAGE_MASK) + 1 + this.tailFill[tid]!;
    this.docPages[blk >>> PAGE_BITS]![slot] = doc;
    this.tfPages[blk >>> PAGE_BITS]![slot] = tf;
    this.tailFill[tid]!++;
    this.chained[tid]!++;
    this.df[tid]!++;
    if (this.materialised.size) this.materialised.delete(tid);
  }

  decrementDf(term: string): void {
    const tid = this.termId(term);
    if (tid !== undefined && this.df[tid]! > 0) this.df[tid]!--;
  }

  /**
   * Rewrites every list through `remap` (old document number → new, or -1 to drop) into fresh base
   * arrays, dropping terms left with no documents, and drops the arena.
   */
  rebuild(remap: Int32Array): void {
    let total = 0;
    for (let t = 0; t < this.terms.length; t++) total += this.baseCount(t) + this.chained[t]!;
    const docs = new Int32Array(total);
    const tfs = new Float32Array(total);
    const terms: string[] = [];
    const offsets = new Uint32Array(this.terms.length + 1);
    let w = 0;
    // Sorted, so a load can find terms by binary search without building a Map.
    const order = this.terms.map((_, i) => i).sort((a, b) => (this.terms[a]! < this.terms[b]! ? -1 : this.terms[a]! > this.terms[b]! ? 1 : 0));
    for (const t of order) {
      const start = w;
      w = this.copyList(t, remap, docs, tfs, w);
      if (w === start) continue;
      terms.push(this.terms[t]!);
      offsets[terms.length] = w;
    }
    this.load(terms, offsets.subarray(0, terms.length + 1), docs.subarray(0, w), tfs.subarray(0, w));
  }

  /** Replaces everything with loaded lists (terms sorted; every stored entry is live: df = list size). */
  load(terms: string[], offsets: Uint32Array<ArrayBufferLike>, docs: Int32Array<ArrayBufferLike>, tfs: Float32Array<ArrayBufferLike>): void {
    this.terms = terms;
    this.ids.clear();
    this.baseDocs = docs;
    this.baseTfs = tfs;
    this.baseOff = offsets;
    this.baseTerms = terms.length;
    this.docPages = [];
    this.tfPages = [];
    this.pageFill = PAGE_SIZE;
    this.materialised.clear();
    const size = Math.max(1024, terms.length * 2);
    this.df = new Int32Array(size);
    this.head = new Int32Array(size).fill(-1);
    this.tail = new Int32Array(size).fill(-1);
    this.tailFill = new Int32Array(size);
    this.chained = new Int32Array(size);
    for (let i = 0; i < terms.length; i++) this.df[i] = offsets[i + 1]! - offsets[i]!;
  }

  /** Terms, list offsets and the concatenated lists, for serialization (call after a rebuild). */
  snapshot(): { terms: string[]; offsets: Uint32Array<ArrayBufferLike>; docs: Int32Array<ArrayBufferLike>; tfs: Float32Array<ArrayBufferLike> } {
    return { terms: this.terms, offsets: this.baseOff, docs: this.baseDocs, tfs: this.baseTfs };
  }
}

export class LexicalIndex {
  /** Document number → external id ('' once deleted), from {@link idBase} on. */
  private ids: string[] = [];
  /**
   * Documents below this number have their ids in {@link baseIdOf} (a partial index over a file
   * whose ids stay packed, see lexicalReader.ts); `ids[d - idBase]` holds the rest. 0 otherwise.
   */
  private idBase = 0;
  private baseIdOf: ((d: number) => string) | undefined;
  /** The tie-break order of two of those documents' ids, without building them (when given). */
  private baseIdAfter: KeyAfter | undefined;
  private idAt(d: number): string {
    return d < this.idBase ? this.baseIdOf!(d) : this.ids[d - this.idBase]!;
  }
  private get docTotal(): number {
    return this.idBase + this.ids.length;
  }
  /** External id → document number; built on first use (not needed to search a loaded index). */
  private numbersMap: Map<string, number> | undefined;
  private get numbers(): Map<string, number> {
    if (!this.numbersMap) {
      const m = new Map<string, number>();
      this.ids.forEach((id, i) => {
        if (id) m.set(id, i + this.idBase);
      });
      this.numbersMap = m;
    }
    return this.numbersMap;
  }
  private lengths = new Float32Array(1024);
  private alive = new Uint8Array(1024);
  /** Scratch scores of {@link search}, all zero between searches. */
  private scratch = new Float32Array(0);
  private liveCount = 0;
  private totalLength = 0;
  private readonly postings = new PostingStore();
  /**
   * Set on a partial index ({@link LexicalIndex.partial}): the snapshot's posting lists arrive term by
   * term from a shared store and are kept here, bounded; `postings` then holds only documents added
   * after the load (an overlay's), numbered from `base` up.
   */
  private remote: RemotePostings | undefined;

  get documentCount(): number {
    return this.liveCount;
  }

  private grow(min: number): void {
    if (min <= this.lengths.length) return;
    const size = Math.max(min, this.lengths.length * 2);
    const lengths = new Float32Array(size);
    lengths.set(this.lengths);
    const alive = new Uint8Array(size);
    alive.set(this.alive);
    this.lengths = lengths;
    this.alive = alive;
  }

  /**
   * Adds chunks. A chunk id already present is skipped (ids are content-addressed). `analyzed[i]`,
   * when given, is `docs[i]`'s analysis already made ({@link analyzeFile}); else it is made here.
   */
  add(docs: readonly LexicalDoc[], analyzed?: readonly AnalyzedDoc[]): void {
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i]!;
      if (this.numberOf(doc.id) !== undefined) continue;
      const { tf, len } = analyzed?.[i] ?? docTerms(doc);
      const num = this.docTotal;
      this.grow(num + 1);
      this.ids.push(doc.id);
      this.numbers.set(doc.id, num);
      this.lengths[num] = len;
      this.alive[num] = 1;
      this.liveCount++;
      this.totalLength += len;
      for (const [term, weight] of tf) this.postings.append(term, num, weight);
    }
  }

  /**
   * Removes chunks. Takes the documents rather than ids because the terms are recomputed to keep
   * the document-frequency table exact (cheaper in memory than keeping every document's terms).
   * Posting entries are dropped lazily (tombstones) and compacted in bulk.
   */
  remove(docs: readonly LexicalDoc[]): void {
    for (const doc of docs) {
      const num = this.numbers.get(doc.id);
      if (num === undefined) {
        // A partial index's own numbers map holds only documents added after the load; a snapshot
        // document leaves by id (its terms are not needed, see removeBase).
        if (this.remote) this.setBaseAlive([doc.id], false);
        continue;
      }
      this.numbers.delete(doc.id);
      this.ids[num - this.idBase] = '';
      this.alive[num] = 0;
      this.liveCount--;
      this.totalLength -= this.lengths[num]!;
      for (const term of docTerms(doc).tf.keys()) this.postings.decrementDf(term);
    }
    if (!this.remote && this.ids.length - this.liveCount > Math.max(1000, this.ids.length * COMPACT_DEAD_SHARE)) this.compact();
  }

  /** Renumbers live documents densely and drops dead posting entries. */
  compact(): void {
    if (this.remote) throw new Error('a partial lexical index (postings fetched per term) cannot be compacted or exported');
    const remap = new Int32Array(this.ids.length).fill(-1);
    const ids: string[] = [];
    const lengths = new Float32Array(Math.max(1024, this.liveCount * 2));
    const alive = new Uint8Array(lengths.length);
    for (let i = 0; i < this.ids.length; i++) {
      if (!this.alive[i]) continue;
      remap[i] = ids.length;
      lengths[ids.length] = this.lengths[i]!;
      alive[ids.length] = 1;
      ids.push(this.ids[i]!);
    }
    this.postings.rebuild(remap);
    this.ids = ids;
    this.numbersMap = undefined;
    this.lengths = lengths;
    this.alive = alive;
  }

  /** The number of a live document (a partial index: its own additions, then the snapshot's through `locate`). */
  private numberOf(id: string): number | undefined {
    const own = this.numbers.get(id);
    if (own !== undefined || !this.remote) return own;
    const d = this.remote.locate(id);
    return d !== undefined && d >= 0 && d < this.remote.base && this.alive[d] ? d : undefined;
  }

  /** How many chunks contain `term`. */
  documentFrequency(term: string): number {
    if (this.remote) return this.remoteFrequency(term) + this.postings.documentFrequency(term);
    return this.postings.documentFrequency(term);
  }

  /**
   * Keeps the informative part of a query: distinct terms present in the index, minus the very
   * common ones (unless the query is short), at most {@link MAX_QUERY_TERMS}, preferring heavier
   * and rarer terms.
   */
  selectTerms(terms: readonly WeightedTerm[], maxTerms = MAX_QUERY_TERMS, maxPostings = MAX_QUERY_POSTINGS): WeightedTerm[] {
    const n = Math.max(1, this.liveCount);
    const merged = new Map<string, number>();
    for (const { term, weight } of terms) merged.set(term, Math.max(merged.get(term) ?? 0, weight));
    const scored: Array<WeightedTerm & { idf: number; df: number }> = [];
    for (const [term, weight] of merged) {
      const df = this.documentFrequency(term);
      if (!df) continue;
      if (merged.size > 8 && df / n > COMMON_TERM_SHARE) continue;
      scored.push({ term, weight, df, idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)) });
    }
    scored.sort((a, b) => b.weight * b.idf - a.weight * a.idf || (a.term < b.term ? -1 : 1));
    const out: WeightedTerm[] = [];
    let entries = 0;
    for (const t of scored) {
      if (out.length >= maxTerms) break;
      if (out.length > 0 && entries + t.df > maxPostings) continue;
      entries += t.df;
      out.push({ term: t.term, weight: t.weight });
    }
    return out;
  }

  /** The posting list and weighted IDF of each selected term present in the index. */
  private *scoredPostings(selected: readonly WeightedTerm[], n: number): Generator<{ p: Posting; idf: number }> {
    for (const { term, weight } of selected) {
      const tid = this.postings.termId(term);
      const p = tid === undefined ? undefined : this.postings.get(tid);
      if (this.remote) {
        // A partial index: the snapshot's list, then the documents added since (each document is in one of them).
        const r = this.remoteList(term);
        if (!r && !p) continue;
        const df = this.documentFrequency(term);
        const idf = weight * Math.log(1 + (n - df + 0.5) / (df + 0.5));
        if (r) yield { p: { docs: r.docs, tfs: r.tfs, n: r.docs.length }, idf };
        if (p) yield { p, idf };
        continue;
      }
      if (!p) continue;
      const df = this.postings.documentFrequency(term);
      yield { p, idf: weight * Math.log(1 + (n - df + 0.5) / (df + 0.5)) };
    }
  }

  /**
   * BM25 scores of specific documents (0 for unknown ids or no match), with the same term
   * selection and statistics as {@link search}. Posting lists are in document order, so each
   * lookup is a binary search; used to rank the chunks of a file that {@link search}'s top list
   * did not reach.
   */
  scoreIds(terms: readonly WeightedTerm[], ids: readonly string[], params: Bm25Params = {}): number[] {
    const { k1 = K1, b = B } = params;
    const selected = this.selectTerms(terms, params.maxTerms, params.maxPostings);
    const out = new Array<number>(ids.length).fill(0);
    if (!selected.length || !ids.length) return out;
    const n = Math.max(1, this.liveCount);
    const avgLen = this.totalLength / n || 1;
    const nums = ids.map((id) => this.numberOf(id) ?? -1);
    for (const { p, idf } of this.scoredPostings(selected, n)) {
      nums.forEach((d, i) => {
        if (d < 0 || !this.alive[d]) return;
        let lo = 0;
        let hi = p.n - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >>> 1;
          const v = p.docs[mid]!;
          if (v === d) {
            const tf = p.tfs[mid]!;
            const norm = k1 * (1 - b + (b * this.lengths[d]!) / avgLen);
            out[i]! += (idf * tf * (k1 + 1)) / (tf + norm);
            return;
          }
          if (v < d) lo = mid + 1;
          else hi = mid - 1;
        }
      });
    }
    return out;
  }

  search(terms: readonly WeightedTerm[], limit: number, params: Bm25Params = {}): LexicalHit[] {
    const { k1 = K1, b = B } = params;
    const selected = this.selectTerms(terms, params.maxTerms, params.maxPostings);
    if (!selected.length || limit < 1) return [];
    const n = Math.max(1, this.liveCount);
    const avgLen = this.totalLength / n || 1;
    // One score per document, reused across searches (a fresh 100k-entry array per query was ~13%
    // of query time in garbage collection); only the touched entries are reset afterwards.
    if (this.scratch.length < this.docTotal) this.scratch = new Float32Array(Math.max(this.docTotal, this.scratch.length * 2));
    const scores = this.scratch;
    const touched: number[] = [];
    try {
      return this.topScores(selected, n, avgLen, k1, b, scores, touched, limit);
    } finally {
      for (const d of touched) scores[d] = 0;
    }
  }

  private topScores(selected: readonly WeightedTerm[], n: number, avgLen: number, k1: number, b: number, scores: Float32Array, touched: number[], limit: number): LexicalHit[] {
    for (const { p, idf } of this.scoredPostings(selected, n)) {
      const { docs, tfs } = p;
      for (let i = 0; i < p.n; i++) {
        const d = docs[i]!;
        if (!this.alive[d]) continue;
        const tf = tfs[i]!;
        const norm = k1 * (1 - b + (b * this.lengths[d]!) / avgLen);
        if (scores[d] === 0) touched.push(d);
        scores[d]! += (idf * tf * (k1 + 1)) / (tf + norm);
      }
    }
    // Ties are broken by chunk id, not document number: numbers depend on the order files were
    // indexed in, ids do not, so two indexes of the same files rank ties the same way.
    const baseAfter = this.baseIdAfter;
    const keys: ArrayLike<string> | KeyAfter = !this.baseIdOf
      ? this.ids
      : (a, b) => (baseAfter && a < this.idBase && b < this.idBase ? baseAfter(a, b) : this.idAt(a) > this.idAt(b));
    const top = new TopK(Math.min(Math.ceil(limit), touched.length), keys);
    for (const d of touched) top.push(scores[d]!, d);
    return top.sorted().map(([d, score]) => ({ id: this.idAt(d), score }));
  }

  /**
   * The statistics and postings of every live document, compacted (document numbers are dense and
   * match {@link search}'s tie-breaking order). A shared store keeps these so a reader scores with
   * exactly the numbers this index would, without re-tokenizing anything.
   */
  exportPostings(): LexicalPostings {
    this.compact();
    const { terms, offsets, docs, tfs } = this.postings.snapshot();
    return { ids: [...this.ids], lengths: this.lengths.slice(0, this.ids.length), terms: [...terms], offsets: offsets.slice(), docs: docs.slice(), tfs: tfs.slice() };
  }

  /** An index from {@link exportPostings}' output (terms in any order); throws {@link LexicalCorruptError} when inconsistent. */
  static fromPostings(p: LexicalPostings): LexicalIndex {
    const n = p.ids.length;
    if (p.lengths.length !== n || p.offsets.length !== p.terms.length + 1 || p.docs.length !== p.tfs.length || p.offsets[p.terms.length] !== p.docs.length) {
      throw new LexicalCorruptError('postings do not add up');
    }
    // Loaded lists are found by binary search over sorted terms (JavaScript string order).
    const order = p.terms.map((_, i) => i).sort((a, b) => (p.terms[a]! < p.terms[b]! ? -1 : p.terms[a]! > p.terms[b]! ? 1 : 0));
    const terms: string[] = [];
    const offsets = new Uint32Array(p.terms.length + 1);
    const docs = new Int32Array(p.docs.length);
    const tfs = new Float32Array(p.tfs.length);
    let w = 0;
    order.forEach((t, i) => {
      const a = p.offsets[t]!;
      const b = p.offsets[t + 1]!;
      for (let r = a; r < b; r++) {
        const d = p.docs[r]!;
        if (d < 0 || d >= n) throw new LexicalCorruptError(`document ${d} out of range`);
        docs[w] = d;
        tfs[w] = p.tfs[r]!;
        w++;
      }
      terms.push(p.terms[t]!);
      offsets[i + 1] = w;
    });
    const index = new LexicalIndex();
    index.ids = [...p.ids];
    index.grow(n + 1);
    index.lengths.set(p.lengths);
    index.alive.fill(1, 0, n);
    index.liveCount = n;
    let total = 0;
    for (let i = 0; i < n; i++) total += p.lengths[i]!;
    index.totalLength = total;
    index.postings.load(terms, offsets, docs, tfs);
    return index;
  }

  /**
   * A partial index over a shared store's snapshot: every document's id and length are known, the
   * posting lists are not. They arrive term by term ({@link addPostings}, for the terms
   * {@link missingTerms} names) and are kept until {@link evictPostings}; searching for a term whose
   * list was not fetched throws (fetch first: retrieval prepares every query term). Documents added
   * later (an overlay's) are indexed here as usual and numbered after the snapshot's; the snapshot's
   * own documents leave and come back by id ({@link removeBase}, {@link restoreBase}), without their
   * text. Scores are those of {@link fromPostings} over the same postings: same statistics, same sums.
   * `locate` finds a snapshot document's number by id.
   */
  static partial(
    ids: string[] | { count: number; idOf: (d: number) => string; after?: KeyAfter },
    lengths: ArrayLike<number>,
    locate: (id: string) => number | undefined,
    source?: { postings: PostingSource; maxEntries: number },
  ): LexicalIndex {
    const n = Array.isArray(ids) ? ids.length : ids.count;
    if (lengths.length !== n) throw new LexicalCorruptError('document lengths do not match the ids');
    const index = new LexicalIndex();
    if (Array.isArray(ids)) index.ids = ids;
    else {
      // Ids stay where they are (packed): built one at a time, for hits and ties.
      index.idBase = n;
      index.baseIdOf = ids.idOf;
      index.baseIdAfter = ids.after;
    }
    index.numbersMap = new Map();
    index.grow(n + 1);
    index.lengths.set(lengths);
    index.alive.fill(1, 0, n);
    index.liveCount = n;
    let total = 0;
    for (let i = 0; i < n; i++) total += lengths[i]!;
    index.totalLength = total;
    index.remote = { base: n, lists: new Map(), entries: 0, version: 0, locate, pins: new Map(), source: source?.postings, maxEntries: source?.maxEntries ?? Infinity };
    return index;
  }

  /** True for a {@link partial} index. */
  get isPartial(): boolean {
    return this.remote !== undefined;
  }

  /** Posting entries a partial index holds (one more per term, fetched or known absent). */
  get heldPostings(): number {
    return this.remote?.entries ?? 0;
  }

  /** The distinct terms whose snapshot lists a partial index does not hold (held ones become the most recently used). */
  missingTerms(terms: Iterable<string>): string[] {
    const r = this.remote;
    if (!r) return [];
    const out = new Set<string>();
    for (const t of terms) {
      const held = r.lists.get(t);
      if (held === undefined) out.add(t);
      else {
        r.lists.delete(t);
        r.lists.set(t, held);
      }
    }
    return [...out];
  }

  /**
   * Adds snapshot posting lists to a partial index: `lists` (document numbers ascending, each below
   * the snapshot's document count), and `absent` terms the snapshot does not have.
   */
  addPostings(lists: Iterable<{ term: string; docs: Int32Array; tfs: Float32Array }>, absent: Iterable<string> = []): void {
    const r = this.remote;
    if (!r) throw new Error('addPostings is for a partial lexical index');
    for (const { term, docs, tfs } of lists) this.putRemote(term, checkedList(term, docs, tfs, r.base));
    for (const term of absent) this.putRemote(term, null);
  }

  private putRemote(term: string, list: RemoteList | null): void {
    const r = this.remote!;
    const before = r.lists.get(term);
    if (before !== undefined) r.entries -= 1 + (before?.docs.length ?? 0);
    r.lists.delete(term);
    r.lists.set(term, list);
    r.entries += 1 + (list?.docs.length ?? 0);
  }

  /** A snapshot list, read through the source when not held (undefined: not held and no source). */
  private remoteList(term: string): RemoteList | null | undefined {
    const r = this.remote!;
    const held = r.lists.get(term);
    if (held !== undefined || !r.source) return held;
    const read = r.source.read(term);
    const list = read ? checkedList(term, read.docs, read.tfs, r.base) : null;
    this.putRemote(term, list);
    if (r.entries > r.maxEntries) this.evictPostings(r.maxEntries, term);
    return list;
  }

  /** Keeps `terms`' lists held until the returned function is called (a search in progress). */
  pinPostings(terms: Iterable<string>): () => void {
    const r = this.remote;
    if (!r) return () => undefined;
    const list = [...new Set(terms)];
    for (const t of list) r.pins.set(t, (r.pins.get(t) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const t of list) {
        const n = (r.pins.get(t) ?? 1) - 1;
        if (n > 0) r.pins.set(t, n);
        else r.pins.delete(t);
      }
    };
  }

  /** Drops the least recently used unpinned lists of a partial index (but `keep`) until it holds at most `maxEntries`. */
  evictPostings(maxEntries: number, keep?: string): void {
    const r = this.remote;
    if (!r) return;
    for (const [term, list] of r.lists) {
      if (r.entries <= maxEntries) break;
      if (r.pins.has(term) || term === keep) continue;
      r.lists.delete(term);
      r.entries -= 1 + (list?.docs.length ?? 0);
    }
  }

  /** Removes snapshot documents of a partial index by id (their terms are not needed: frequencies count live entries). */
  removeBase(ids: Iterable<string>): void {
    this.setBaseAlive(ids, false);
  }

  /** Brings back snapshot documents of a partial index removed by {@link removeBase}. */
  restoreBase(ids: Iterable<string>): void {
    this.setBaseAlive(ids, true);
  }

  private setBaseAlive(ids: Iterable<string>, alive: boolean): void {
    const r = this.remote;
    if (!r) throw new Error('removeBase/restoreBase are for a partial lexical index');
    for (const id of ids) {
      const d = r.locate(id);
      if (d === undefined || d < 0 || d >= r.base || Boolean(this.alive[d]) === alive) continue;
      this.alive[d] = alive ? 1 : 0;
      this.liveCount += alive ? 1 : -1;
      this.totalLength += (alive ? 1 : -1) * this.lengths[d]!;
      r.version++;
    }
  }

  /** Live snapshot documents containing `term` (a partial index; throws when its list was not fetched). */
  private remoteFrequency(term: string): number {
    const r = this.remote!;
    // Nothing of the snapshot has left: its frequencies are the stored ones, no list need be read.
    if (r.source && r.version === 0 && !r.lists.has(term)) return r.source.df(term);
    const list = this.remoteList(term);
    if (list === undefined) throw new Error(`the postings of "${term}" were not fetched from the shared index before searching (a missing prepare step)`);
    if (!list) return 0;
    if (list.version !== r.version) {
      let live = 0;
      for (let i = 0; i < list.docs.length; i++) live += this.alive[list.docs[i]!]!;
      list.live = live;
      list.version = r.version;
    }
    return list.live;
  }

  /**
   * Binary snapshot: a section file (sectionFile.ts) whose sections are the ids and terms as packed
   * UTF-8 with byte offsets, an id → document hash table, lengths, per-term list offsets and CRC-32s,
   * and the posting arrays, all little-endian typed arrays (see {@link LEXICAL_SECTIONS}). Always
   * compacted first, so every stored posting entry is live and document frequency equals list size.
   * A reader ({@link LexicalSnapshotReader}) reads the dictionary at open and each list when a query
   * needs it, checking it against its own CRC.
   */
  serialize(meta: Record<string, unknown> = {}, extra: ExtraSections = []): Buffer {
    return Buffer.concat(this.serializeParts(meta, extra));
  }

  /**
   * {@link serialize} as its parts, in order, without joining them: the posting arrays are views, so
   * writing the parts one after another never holds a second copy of the index (at 100k files the
   * joined snapshot, and its checksummed copy, were ~0.9 GB of the peak memory of a cold index).
   * The parts share the index's arrays: write them before the index changes. `extra` sections
   * (names not among {@link LEXICAL_SECTIONS}) are stored as given; given as a function, they are
   * made after compaction from the ids by document number.
   */
  serializeParts(meta: Record<string, unknown> = {}, extra: ExtraSections = []): Buffer[] {
    this.compact();
    const more = typeof extra === 'function' ? extra(this.ids) : extra;
    const { terms, offsets, docs, tfs } = this.postings.snapshot();
    const ids = packStrings(this.ids);
    const packedTerms = packStrings(terms);
    const total = docs.length;
    const crcs = new Uint32Array(terms.length);
    const docBytes = Buffer.from(docs.buffer, docs.byteOffset, total * 4);
    const tfBytes = Buffer.from(tfs.buffer, tfs.byteOffset, total * 4);
    for (let t = 0; t < terms.length; t++) {
      const a = offsets[t]! * 4;
      const b = offsets[t + 1]! * 4;
      crcs[t] = crc32(tfBytes.subarray(a, b), crc32(docBytes.subarray(a, b)));
    }
    const lengths = this.lengths.subarray(0, this.ids.length);
    return sectionFileParts(MAGIC, LEXICAL_VERSION, { docs: this.ids.length, terms: terms.length, postings: total, meta }, [
      ['ids', ids.bytes],
      ['idOffsets', bytesOf(ids.offsets)],
      ['idHash', bytesOf(idHashTable(this.ids))],
      ['terms', packedTerms.bytes],
      ['termOffsets', bytesOf(packedTerms.offsets)],
      ['lengths', bytesOf(lengths)],
      ['listOffsets', bytesOf(offsets.subarray(0, terms.length + 1))],
      ['listCrcs', bytesOf(crcs)],
      ['docs', docBytes],
      ['tfs', tfBytes],
      ...more,
    ]);
  }

  /**
   * Reads a {@link serialize}d snapshot whole, every section checked; throws {@link LexicalCorruptError}
   * on any inconsistency. `extra` receives the file's sections reader (for sections added by the caller).
   */
  static deserialize(buf: Buffer, extra?: (section: (name: string) => Buffer) => void): { index: LexicalIndex; meta: Record<string, unknown> } {
    const steps = LexicalIndex.deserializeSteps(buf, extra);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * {@link deserialize}, awaiting `pace` between its steps (checksums, unpacking the ids and terms a
   * slice at a time), so a writer loading behind a read-only view keeps the event loop responsive.
   * The same checks, the same index.
   */
  static async deserializePaced(
    buf: Buffer,
    pace: () => Promise<void>,
    extra?: (section: (name: string) => Buffer) => void,
  ): Promise<{ index: LexicalIndex; meta: Record<string, unknown> }> {
    const steps = LexicalIndex.deserializeSteps(buf, extra);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      await pace();
    }
  }

  /**
   * {@link LexicalIndex.deserialize} as steps: each `yield` is a point where a paced caller may let
   * other work run (between section checksums, and every {@link UNPACK_SLICE} strings unpacked).
   */
  private static *deserializeSteps(
    buf: Buffer,
    extra?: (section: (name: string) => Buffer) => void,
  ): Generator<void, { index: LexicalIndex; meta: Record<string, unknown> }, void> {
    let file: ReturnType<typeof parseSectionFile>;
    try {
      file = parseSectionFile(buf, MAGIC, LEXICAL_VERSION, 'lexical index');
    } catch (err) {
      throw new LexicalCorruptError(errMessage(err));
    }
    try {
      const h = checkLexicalHeader(file.header);
      const ids = yield* unpackStringSteps(file.section('ids'), u32(file.section('idOffsets')), h.docs);
      yield;
      const terms = yield* unpackStringSteps(file.section('terms'), u32(file.section('termOffsets')), h.terms);
      yield;
      const lengths = f32(file.section('lengths'));
      const offsets = u32(file.section('listOffsets'));
      yield;
      const docs = i32(file.section('docs'));
      yield;
      const tfs = f32(file.section('tfs'));
      file.section('listCrcs');
      file.section('idHash');
      yield;
      if (lengths.length !== h.docs || offsets.length !== h.terms + 1 || docs.length !== h.postings || tfs.length !== h.postings || offsets[h.terms] !== h.postings) {
        throw new LexicalCorruptError('counts do not match');
      }
      for (let i = 0; i < h.terms; i++) if (offsets[i]! > offsets[i + 1]!) throw new LexicalCorruptError('posting sizes do not add up');
      const index = new LexicalIndex();
      index.ids = ids;
      index.grow(h.docs + 1);
      index.lengths.set(lengths);
      index.alive.fill(1, 0, h.docs);
      index.liveCount = h.docs;
      let total = 0;
      for (let i = 0; i < h.docs; i++) total += lengths[i]!;
      index.totalLength = total;
      // Posting lists stay views into the loaded buffer; a later change copies a list before growing it.
      index.postings.load(terms, offsets, docs, tfs);
      extra?.((name) => file.section(name));
      return { index, meta: h.meta };
    } catch (err) {
      if (err instanceof LexicalCorruptError) throw err;
      throw new LexicalCorruptError(errMessage(err));
    }
  }
}

/** Strings unpacked per step of {@link deserializeSteps}. */
const UNPACK_SLICE = 100_000;

/** Sections a caller adds to a snapshot (see {@link LexicalIndex.serializeParts}). */
export type ExtraSections = ReadonlyArray<[string, Uint8Array | Uint8Array[]]> | ((ids: readonly string[]) => ReadonlyArray<[string, Uint8Array | Uint8Array[]]>);

/** A snapshot list checked for order and range (document numbers ascending, below `base`). */
function checkedList(term: string, docs: Int32Array, tfs: Float32Array, base: number): RemoteList {
  if (docs.length !== tfs.length) throw new LexicalCorruptError(`postings of "${term}" do not add up`);
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    if (d < 0 || d >= base || (i > 0 && d <= docs[i - 1]!)) throw new LexicalCorruptError(`postings of "${term}": document ${d} out of order or range`);
  }
  return { docs, tfs, live: docs.length, version: -1 };
}

/** The sections every lexical snapshot has (see {@link LexicalIndex.serialize}). */
export const LEXICAL_SECTIONS = ['ids', 'idOffsets', 'idHash', 'terms', 'termOffsets', 'lengths', 'listOffsets', 'listCrcs', 'docs', 'tfs'] as const;

/** The header of a lexical snapshot, checked. */
export function checkLexicalHeader(h: Record<string, unknown>): { docs: number; terms: number; postings: number; meta: Record<string, unknown> } {
  const n = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!n(h.docs) || !n(h.terms) || !n(h.postings) || typeof h.meta !== 'object' || h.meta === null) throw new LexicalCorruptError('bad header');
  return h as { docs: number; terms: number; postings: number; meta: Record<string, unknown> };
}

/** Strings as one UTF-8 block and the byte offset of each (`offsets[i]..offsets[i+1]`). */
export function packStrings(list: readonly string[]): { bytes: Buffer; offsets: Uint32Array } {
  // Written string by string: joining them first held a second copy (61 MB of ids at 954k chunks).
  const offsets = new Uint32Array(list.length + 1);
  for (let i = 0; i < list.length; i++) offsets[i + 1] = offsets[i]! + Buffer.byteLength(list[i]!, 'utf8');
  const bytes = Buffer.allocUnsafe(offsets[list.length]!);
  for (let i = 0; i < list.length; i++) bytes.write(list[i]!, offsets[i]!, 'utf8');
  return { bytes, offsets };
}

/** The strings of {@link packStrings}' output; throws {@link LexicalCorruptError} when the offsets do not fit. */
export function unpackStrings(bytes: Buffer, offsets: Uint32Array, count: number): string[] {
  const steps = unpackStringSteps(bytes, offsets, count);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** {@link unpackStrings}, yielding every {@link UNPACK_SLICE} strings. */
function* unpackStringSteps(bytes: Buffer, offsets: Uint32Array, count: number): Generator<void, string[], void> {
  if (offsets.length !== count + 1 || offsets[0] !== 0 || offsets[count] !== bytes.length) throw new LexicalCorruptError('string offsets do not match');
  const out = new Array<string>(count);
  const all = bytes.toString('utf8');
  const ascii = all.length === bytes.length;
  for (let i = 0; i < count; i++) {
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    if (b < a) throw new LexicalCorruptError('string offsets do not match');
    out[i] = ascii ? all.slice(a, b) : bytes.toString('utf8', a, b);
    if ((i + 1) % UNPACK_SLICE === 0) yield;
  }
  return out;
}

/**
 * Open-addressing table from id to document: a power-of-two number of slots (at least twice the
 * ids), each 0 (empty) or document + 1, probed linearly from the id's FNV-1a hash.
 */
export function idHashTable(ids: readonly string[]): Uint32Array {
  let size = 2;
  while (size < ids.length * 2) size *= 2;
  const table = new Uint32Array(size);
  const mask = size - 1;
  ids.forEach((id, d) => {
    let h = fnv1a32(id) & mask;
    while (table[h] !== 0) h = (h + 1) & mask;
    table[h] = d + 1;
  });
  return table;
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** The bytes as a fresh ArrayBuffer when not 4-byte aligned (section reads are; Buffer pools are not). */
function aligned(b: Buffer): ArrayBufferLike {
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return copy.buffer;
}

function view<T>(b: Buffer, make: (ab: ArrayBufferLike, o: number, n: number) => T): T {
  if (b.length % 4 !== 0) throw new LexicalCorruptError('a section has a partial entry');
  if (b.byteOffset % 4 === 0) return make(b.buffer, b.byteOffset, b.length / 4);
  return make(aligned(b), 0, b.length / 4);
}

export const u32 = (b: Buffer): Uint32Array => view(b, (ab, o, n) => new Uint32Array(ab, o, n));
export const f32 = (b: Buffer): Float32Array => view(b, (ab, o, n) => new Float32Array(ab, o, n));
export const i32 = (b: Buffer): Int32Array => view(b, (ab, o, n) => new Int32Array(ab, o, n));
