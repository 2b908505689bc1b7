/**
 * The store port: where an index lives, seen from retrieval and from the front ends.
 *
 * Two implementations:
 * - the local index folder ({@link WorkspaceIndex} in workspaceIndex.ts, the default, unchanged): it
 *   is a {@link SearchableIndex} and builds itself from the workspace;
 * - a shared store ({@link SharedIndexStore}; PostgreSQL + pgvector in src/providers/postgresStore.ts):
 *   a writer publishes a local index as a snapshot of one repository at one commit, readers open a
 *   snapshot as a {@link SearchableIndex}.
 *
 * Retrieval (retrieval.ts) ranks over a {@link SearchableIndex} only, so both stores run the same
 * ranking code over the same documents and statistics. Nothing here imports a network SDK.
 */
import type { FileEntry } from './catalog';
import { IndexError } from './indexError';
import type { WorkspaceRoot } from './discovery';
import type { LexicalIndex, LexicalPostings } from './lexicalIndex';
import type { EditableSymbols, SymbolLookup } from './symbolTable';
import type { Chunk, Embedder } from './types';

/** The server cannot be reached, refused us, or failed mid-way: the message says which and what to do. */
export class StoreUnavailableError extends IndexError {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The snapshot a reader opened is no longer on the server (deleted, or replaced by a republish of
 * its commit): nothing more is read from it, so a search never mixes two snapshots. Reopening gives
 * the repository's current snapshot ({@link TeamIndexRouter} does so once, then retries the search).
 */
export class SnapshotGoneError extends StoreUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotGoneError';
  }
}

/** What a store fetched for one search, held until the search ends. */
export interface PreparedSearch {
  release(): void;
}

/** One vector neighbour of a query. */
export interface VectorNeighbour {
  id: string;
  score: number;
}

/** Vector search as retrieval needs it: local (synchronous, in memory) or remote (a query to a server). */
export interface VectorSearch {
  /** Vectors stored (0 = none: search is lexical). */
  readonly count: number;
  /** Top-k chunk ids by cosine similarity, best first. */
  query(vector: Float32Array, k: number): VectorNeighbour[] | Promise<VectorNeighbour[]>;
  /**
   * True when the file has vectors. Present on a store that can be partly embedded (the local one
   * while its embedding phase runs): retrieval then fuses the files without vectors by keywords alone.
   */
  hasPath?(path: string): boolean;
}

/** What retrieval reads from an index, wherever it lives. */
export interface SearchableIndex {
  /** BM25 over chunks (document id = chunk id). */
  readonly lexical: LexicalIndex;
  /** BM25 over whole files (document id = index path). */
  readonly fileLexical: LexicalIndex;
  /** Which files define which symbols. */
  readonly symbols: SymbolLookup;
  /** Changes whenever the file list changes (caches derived from it compare it). */
  readonly generation: number;
  readonly vectors?: VectorSearch;
  readonly embedder?: Embedder;
  getChunk(id: string): Chunk | undefined;
  getFile(indexPath: string): FileEntry | undefined;
  indexedPaths(): string[];
  /** Absolute path on disk of an index path, when the workspace is on this machine. */
  absolutePath(indexPath: string): string | undefined;
  /**
   * Present on a store that fetches per search (a shared snapshot): fetches the posting lists of
   * `terms` at both levels (one round trip) and keeps them until `release()`. Retrieval awaits it
   * before its synchronous scoring; `lexical`/`fileLexical` throw for a term that was not prepared.
   * Absent: everything is in memory (the local index).
   */
  prepare?(terms: readonly string[], signal?: AbortSignal): Promise<PreparedSearch>;
  /**
   * Present on a store whose chunk texts stay on the server: fetches the text, header and hash of
   * those of `chunks` that are its own and not yet held (one round trip). Retrieval calls it for
   * the chunks it reads (title phrases of the top files, the hits and their widening neighbours);
   * reading a chunk's text, header or hash before throws.
   */
  loadTexts?(chunks: readonly Chunk[], signal?: AbortSignal): Promise<void>;
}

/** Which snapshot of a shared store: a repository, and a commit (the newest ready one when absent). */
export interface SnapshotRef {
  repository: string;
  commit?: string;
}

/** Everything a shared store needs to hold an index: what the local index built, in its own numbering. */
export interface SnapshotSource {
  files: readonly FileEntry[];
  /** Chunk-level and file-level BM25 statistics and postings (document numbers index `ids`). */
  chunkPostings: LexicalPostings;
  filePostings: LexicalPostings;
  /** Embedder id and dimensions when vectors are published. */
  embedder: { id: string; dimensions: number } | null;
  /** Vector of a chunk (undefined when it has none yet). */
  vectorOf(chunk: Chunk): Float32Array | undefined;
  /** Versions the snapshot was built with; a reader with other versions refuses it. */
  versions: { schema: number; chunker: number; lexical: number; chunkChars: number };
}

export interface PublishMeta {
  repository: string;
  /** The commit the checkout was at. */
  commit: string;
  /** True when the working tree differed from the commit (the snapshot holds the working tree). */
  dirty: boolean;
}

export interface PublishProgress {
  phase: 'files' | 'postings' | 'vectors' | 'finish';
  done: number;
  total: number;
}

export interface SnapshotInfo {
  id: number;
  repository: string;
  commit: string;
  dirty: boolean;
  state: 'building' | 'ready';
  files: number;
  chunks: number;
  vectors: number;
  embedder: string | null;
  dimensions: number | null;
  createdAt: string;
  readyAt: string | null;
}

export interface StoreStatus {
  /** Where the store is, without secrets (e.g. `postgres://ci@db.internal:5432/groundwork`). */
  location: string;
  schemaVersion: number;
  serverVersion: string;
  sizeBytes: number;
  snapshots: SnapshotInfo[];
}

/** A snapshot opened for reading; close it when done. */
export interface StoredIndex extends SearchableIndex {
  /** An overlay edits a snapshot's table (overlayIndex.ts). */
  readonly symbols: EditableSymbols;
  readonly snapshot: SnapshotInfo;
  readonly fileCount: number;
  readonly chunkCount: number;
  close(): Promise<void>;
}

/** A shared index store (one database holding several repositories and commits). */
export interface SharedIndexStore {
  readonly location: string;
  /**
   * Writes a snapshot. It becomes visible to readers only when complete: until then they read the
   * previous ready snapshot. A second publish of the same repository and commit replaces the first.
   */
  publish(
    source: SnapshotSource,
    meta: PublishMeta,
    /** `onProgress` runs after each committed batch; the writer waits for a promise it returns. */
    opts?: { signal?: AbortSignal; onProgress?: (p: PublishProgress) => void | Promise<void> },
  ): Promise<SnapshotInfo>;
  /**
   * Opens a ready snapshot. `embedder` (matching the snapshot's) enables vector search; `roots`
   * maps index paths to a local checkout; `expected` refuses a snapshot built with other versions.
   */
  open(ref: SnapshotRef, opts?: { embedder?: Embedder; roots?: readonly WorkspaceRoot[]; expected?: SnapshotSource['versions'] }): Promise<StoredIndex>;
  status(repository?: string): Promise<StoreStatus>;
  close(): Promise<void>;
}
