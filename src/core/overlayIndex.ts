/**
 * A shared snapshot with the user's working tree laid over it: one {@link SearchableIndex} that
 * answers as if the working tree itself had been indexed, while only the files that differ from the
 * snapshot's commit were indexed on this machine.
 *
 * - Files of the overlay replace the snapshot's version of the same path: the snapshot's chunks of
 *   that path leave the index, the local ones come in. A path whose overlay entry is `null` (deleted
 *   in the working tree, or no longer indexable there) is simply gone.
 * - BM25 statistics are those of the merged collection. The overlay edits the snapshot's own lexical
 *   indexes in place (documents of overridden paths removed, local ones added), so the document
 *   count, average length and every document frequency are exactly those of an index built from the
 *   working tree. Two separate indexes fused afterwards would score the overlay with the statistics
 *   of a handful of files (IDF from 3 documents), which no fusion constant repairs; docs/scale.md
 *   records the measured difference (scripts/benchOverlay.ts).
 * - Vectors: the snapshot's neighbours (from the server) minus overridden paths, merged with exact
 *   cosine over the overlay's own vectors. Both come from the same embedder, so scores compare.
 *
 * The overlay owns the base it is given: it edits the base's lexical indexes and symbol table, so
 * search the base only through the overlay afterwards.
 */
import type { FileEntry } from './catalog';
import type { PreparedSearch, SearchableIndex, VectorNeighbour, VectorSearch } from './indexStore';
import { analyzeFile, fileLexicalDoc } from './lexicalIndex';
import type { EditableSymbols } from './symbolTable';
import type { Chunk, Embedder } from './types';

/** One path of the working tree that differs from the snapshot. */
export interface OverlayFile {
  path: string;
  /** The file as indexed locally, or null when it is deleted (or not indexable) in the working tree. */
  entry: FileEntry | null;
  /** Vectors of the entry's chunks by chunk id (absent: the overlay's chunks are found by keywords only). */
  vectors?: ReadonlyMap<string, Float32Array>;
}

/** The most snapshot neighbours asked for beyond k to make up for those of overridden paths. */
const MAX_SHADOW_OVERFETCH = 10_000;

export class OverlayIndex implements SearchableIndex {
  readonly lexical: SearchableIndex['lexical'];
  readonly fileLexical: SearchableIndex['fileLexical'];
  readonly symbols: EditableSymbols;
  readonly embedder?: Embedder;
  readonly vectors?: VectorSearch;
  /** The base's per-search fetches (a shared snapshot's postings and texts), when it has them. */
  readonly prepare?: (terms: readonly string[], signal?: AbortSignal) => Promise<PreparedSearch>;
  readonly loadTexts?: (chunks: readonly Chunk[], signal?: AbortSignal) => Promise<void>;
  private gen = 1;
  /** Overlay entries in force, by path. */
  private readonly applied = new Map<string, OverlayFile>();
  private readonly overlayChunks = new Map<string, Chunk>();
  private pathsCache: { gen: number; paths: string[] } | undefined;
  /** Snapshot chunks hidden by the overlay (for the vector over-fetch). */
  private shadowed = 0;

  constructor(readonly base: SearchableIndex & { readonly symbols: EditableSymbols }) {
    this.lexical = base.lexical;
    this.fileLexical = base.fileLexical;
    this.symbols = base.symbols;
    this.embedder = base.embedder;
    if (base.vectors && base.embedder) this.vectors = new OverlayVectors(this, base.vectors);
    if (base.prepare) this.prepare = (terms, signal) => base.prepare!(terms, signal);
    // The overlay's own chunks carry their texts; the base fetches those of its chunks.
    if (base.loadTexts) this.loadTexts = (chunks, signal) => base.loadTexts!(chunks, signal);
  }

  get generation(): number {
    return this.gen;
  }

  /** Paths the overlay holds (changed, added or deleted in the working tree). */
  overlayPaths(): string[] {
    return [...this.applied.keys()];
  }

  /** Files indexed locally (overlay entries that are not deletions). */
  get localFileCount(): number {
    let n = 0;
    for (const f of this.applied.values()) if (f.entry) n++;
    return n;
  }

  get deletedCount(): number {
    return this.applied.size - this.localFileCount;
  }

  /**
   * Replaces the overlay: `files` is the complete set of paths that differ from the snapshot. Paths
   * of the previous overlay that are not in it revert to the snapshot's version. Unchanged entries
   * (same content hash) cost nothing.
   */
  setOverlay(files: readonly OverlayFile[]): void {
    const next = new Map<string, OverlayFile>();
    for (const f of files) next.set(f.path, f);
    let changed = false;
    for (const p of new Set([...this.applied.keys(), ...next.keys()])) {
      const before = this.applied.get(p);
      const after = next.get(p);
      if (before && after && sameEntry(before.entry, after.entry)) {
        // Same content: keep the applied entry, but take newer vectors (they may have arrived since).
        if (after.vectors && after.vectors !== before.vectors) this.applied.set(p, { ...before, vectors: after.vectors });
        continue;
      }
      changed = true;
      if (before) this.take(before.entry);
      else this.takeBase(this.base.getFile(p));
      if (before) {
        for (const c of before.entry?.chunks ?? []) this.overlayChunks.delete(c.id);
        this.applied.delete(p);
      } else this.shadowed += this.base.getFile(p)?.chunks.length ?? 0;
      if (after) {
        this.put(after.entry);
        for (const c of after.entry?.chunks ?? []) this.overlayChunks.set(c.id, c);
        this.applied.set(p, after);
      } else {
        this.shadowed -= this.base.getFile(p)?.chunks.length ?? 0;
        this.putBase(this.base.getFile(p));
      }
    }
    if (changed) this.gen++;
  }

  /** Removes a file's documents from the lexical indexes and the symbol table. */
  private take(entry: FileEntry | null | undefined): void {
    if (!entry) return;
    this.lexical.remove(entry.chunks);
    this.fileLexical.remove([fileLexicalDoc(entry.path, entry.chunks)]);
    this.symbols.remove(entry.path, entry.chunks);
  }

  private put(entry: FileEntry | null): void {
    if (!entry) return;
    const analyzed = analyzeFile(entry.path, entry.chunks);
    this.lexical.add(entry.chunks, analyzed.chunks);
    this.fileLexical.add([fileLexicalDoc(entry.path, entry.chunks)], [analyzed.file]);
    this.symbols.add(entry.path, entry.chunks);
  }

  /**
   * The snapshot's own version of a file leaves. A partial lexical index (postings fetched per
   * term) drops the documents by id: their texts stay on the server, and its document frequencies
   * count live documents, so they come out exact without re-tokenizing them.
   */
  private takeBase(entry: FileEntry | undefined): void {
    if (!entry) return;
    if (!this.lexical.isPartial) return this.take(entry);
    this.lexical.removeBase(entry.chunks.map((c) => c.id));
    this.fileLexical.removeBase([entry.path]);
    this.symbols.remove(entry.path, entry.chunks);
  }

  /** The snapshot's own version of a file comes back (the working tree matches it again). */
  private putBase(entry: FileEntry | undefined): void {
    if (!entry) return;
    if (!this.lexical.isPartial) return this.put(entry);
    this.lexical.restoreBase(entry.chunks.map((c) => c.id));
    this.fileLexical.restoreBase([entry.path]);
    this.symbols.add(entry.path, entry.chunks);
  }

  /** True when the snapshot's version of `p` is hidden by the overlay. */
  isOverridden(p: string): boolean {
    return this.applied.has(p);
  }

  getChunk(id: string): Chunk | undefined {
    const own = this.overlayChunks.get(id);
    if (own) return own;
    const c = this.base.getChunk(id);
    return c && !this.applied.has(c.path) ? c : undefined;
  }

  getFile(indexPath: string): FileEntry | undefined {
    const f = this.applied.get(indexPath);
    if (f) return f.entry ?? undefined;
    return this.base.getFile(indexPath);
  }

  indexedPaths(): string[] {
    if (this.pathsCache?.gen === this.gen) return this.pathsCache.paths;
    const paths = this.base.indexedPaths().filter((p) => !this.applied.has(p));
    for (const f of this.applied.values()) if (f.entry) paths.push(f.path);
    this.pathsCache = { gen: this.gen, paths };
    return paths;
  }

  absolutePath(indexPath: string): string | undefined {
    return this.base.absolutePath(indexPath);
  }

  /** Number of snapshot chunks hidden by the overlay. */
  get shadowedChunks(): number {
    return this.shadowed;
  }

  /** Vectors of the overlay's chunks, for {@link OverlayVectors}. */
  overlayVectors(): Iterable<[string, Float32Array]> {
    const out: Array<[string, Float32Array]> = [];
    for (const f of this.applied.values()) {
      if (!f.entry || !f.vectors) continue;
      for (const c of f.entry.chunks) {
        const v = f.vectors.get(c.id);
        if (v) out.push([c.id, v]);
      }
    }
    return out;
  }
}

function sameEntry(a: FileEntry | null, b: FileEntry | null): boolean {
  if (!a || !b) return a === b;
  return a.contentHash === b.contentHash && a.chunks.length === b.chunks.length && a.chunks.every((c, i) => c.id === b.chunks[i]!.id);
}

/** The snapshot's neighbours without overridden paths, merged with exact cosine over the overlay's vectors. */
class OverlayVectors implements VectorSearch {
  constructor(
    private readonly overlay: OverlayIndex,
    private readonly base: VectorSearch,
  ) {}

  get count(): number {
    return Math.max(0, this.base.count - this.overlay.shadowedChunks) + [...this.overlay.overlayVectors()].length;
  }

  async query(vector: Float32Array, k: number): Promise<VectorNeighbour[]> {
    // Over-fetch by the number of hidden snapshot chunks, so that k remain after dropping them
    // (exact up to MAX_SHADOW_OVERFETCH hidden chunks; beyond, slightly fewer than k may remain).
    const extra = Math.min(this.overlay.shadowedChunks, MAX_SHADOW_OVERFETCH);
    const fromBase = (await this.base.query(vector, k + extra)).filter((n) => {
      const c = this.overlay.base.getChunk(n.id);
      return c !== undefined && !this.overlay.isOverridden(c.path);
    });
    const qn = norm(vector);
    const local: VectorNeighbour[] = [];
    for (const [id, v] of this.overlay.overlayVectors()) {
      const d = norm(v) * qn;
      if (d > 0) local.push({ id, score: dot(vector, v) / d });
    }
    const all = [...fromBase, ...local];
    all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return all.slice(0, k);
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}
