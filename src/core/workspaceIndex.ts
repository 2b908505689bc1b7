/**
 * The workspace index: discovery → chunking → lexical index (+ vectors when an embedder is set),
 * persisted under an index folder outside the workspace, updated incrementally.
 *
 * On-disk layout of `<indexDir>`:
 *   manifest.json        schema/chunker/lexical versions, chunk budget, embedder id + dimensions
 *   catalog/shard-NN.json file metadata and content-based skips; shard-NN.g<gen>.txt chunk texts
 *   lexical.bin          BM25 index snapshot (one document per chunk) + the catalog generations it reflects
 *   files.bin            BM25 index snapshot with one document per file (whole-file evidence), same check,
 *                        + the symbol table (which files define which names)
 *   vectors/             sharded vectra store (binary codec), present only with an embedder
 *   embeddings/          embedding cache keyed by chunk content hash
 *   stats.json           last scan's skip counts and samples
 *   index.lock           held by the one process that writes (indexLock.ts)
 * A writer loads all of it. A read-only open (`groundwork search --no-update`) reads only the catalog's
 * header lines and the snapshots' dictionaries: files, texts and posting lists are read on demand
 * (catalog.ts, lexicalReader.ts), from files opened once, so a writer replacing them mid-way never
 * mixes two versions into one reader's view.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hash16 } from './hash';
import { Catalog, CatalogCorruptError, contentHash, type FileEntry } from './catalog';
import { Chunker, CHUNKER_VERSION, ChunkerUnavailableError } from './chunker/chunker';
import {
  absolutePathOf,
  classifyPath,
  newClassifyBatch,
  uniqueRoots,
  discoverFiles,
  readSourceFile,
  realRootsOf,
  type DiscoveredFile,
  type DiscoveryOptions,
  type WorkspaceRoot,
} from './discovery';
import { DEFAULT_MAX_FILE_BYTES } from './defaults';
import { errMessage } from './errMessage';
import type { SkipReason } from './skipReasons';
import { VectorStore } from './vectorStore';
import { IndexCorruptError } from './vectorCodec';
import { EmbeddingCache } from './embeddingCache';
import { EmbedQueue, RateMeter, type EmbedThrottle } from './embedQueue';
import { acquireLock } from './indexLock';
import { isInside, readWholeFile, shardOf, writeFileAtomic } from './fsUtil';
import { analyzeFile, fileLexicalDoc, LEXICAL_VERSION, LexicalIndex, type LexicalDoc } from './lexicalIndex';
import { LexicalSnapshotReader, READER_HELD_POSTINGS } from './lexicalReader';
import { StoredSymbolTable, SYMBOL_SECTIONS, symbolSections, SymbolTable, type SymbolLookup } from './symbolTable';
import { assertIndexFolder, INDEX_MARKER_FILE } from './indexFolder';
import { languageForPath } from './languages';
import type { Chunk, Embedder, Logger } from './types';
import type { PreparedSearch, SearchableIndex, SnapshotSource } from './indexStore';
import { silentLogger } from './types';

/** Bump when the on-disk layout changes; any mismatch rebuilds the index from scratch. */
export const SCHEMA_VERSION = 7;

import { DEFAULT_CHUNK_CHARS } from './defaults';

export interface IndexOptions extends DiscoveryOptions {
  /**
   * Chunk budget in characters (default {@link DEFAULT_CHUNK_CHARS}; useful range 400-6000). Smaller
   * chunks make citations tighter and keyword matches more specific; larger ones keep more context
   * per hit and produce fewer chunks (faster indexing, smaller index).
   */
  chunkChars?: number;
  /** Texts per `embed` call (default 32). */
  embedBatchSize?: number;
  /** Pace of the embedding phase (CPU share, pause while the user types); see embedQueue.ts. */
  embedThrottle?: EmbedThrottle;
}

/**
 * Vectors of embedded files reach the store (and become searchable) at least this often, in ms
 * (default 2000), besides after every batch that holds a prioritised file and every
 * `embedBatchSize × 8` chunks. At the real model's ~68 ms per chunk a batch of 32 takes ~2 s, so
 * this bounds what a crash loses to about one batch.
 */
export const EMBED_WRITE_INTERVAL_MS = 2000;

/** Progress of the embedding phase. */
export interface EmbedProgress {
  /** Chunks of files that lacked vectors at the start, and those done (computed or from the cache). */
  total: number;
  done: number;
  /** Chunks the embedder still has to compute (the cache does not have them). */
  toCompute: number;
  /** Measured chunks per second (throttle pauses included), once a batch was embedded. */
  rate?: number;
  /** Seconds left at that rate. */
  etaSeconds?: number;
  currentPath?: string;
}

export interface Manifest {
  schemaVersion: number;
  chunkerVersion: number;
  lexicalVersion: number;
  chunkChars: number;
  embedder: { id: string; dimensions: number } | null;
  roots: string[];
  createdAt: string;
}

/** `load`: a writer opened with `serveWhileLoading` is still loading the index in memory (searches are answered meanwhile). */
export type IndexPhase = 'load' | 'scan' | 'chunk' | 'embed' | 'write' | 'done';

export interface IndexProgress {
  phase: IndexPhase;
  /** Files found so far (scan) or to process (later phases). */
  filesTotal: number;
  /** Files processed in the chunk phase. */
  filesDone: number;
  chunks: number;
  /** Chunks that still need vectors, and those embedded in this run. */
  embedTotal: number;
  embedDone: number;
  /** Chunks the embedder still has to compute, measured chunks per second and the seconds left at that rate (embed phase). */
  embedToCompute?: number;
  embedRate?: number;
  etaSeconds?: number;
  currentPath?: string;
  /**
   * Chunk phase: how many of `filesTotal` are in a priority tier (open editors, their folders,
   * recently edited or retrieved files; embedQueue.ts) and so come first. Once `filesDone` reaches
   * it, keyword search covers them (a first index can answer about them before it ends).
   */
  priorityFiles?: number;
  /** Files in the index now (searchable), in the chunk phase. */
  filesIndexed?: number;
}

export interface IndexRunSummary {
  filesIndexed: number;
  filesChanged: number;
  filesUnchanged: number;
  filesRemoved: number;
  chunks: number;
  chunksEmbedded: number;
  chunksFromCache: number;
  skipped: Partial<Record<SkipReason, number>>;
  languages: Record<string, number>;
  fallbacks: number;
  vectors: 'ready' | 'partial' | 'off';
  /** Why vectors could not be completed in this run (the embedding endpoint failed); search uses keywords for the rest. */
  vectorsError?: string;
  millis: number;
}

export interface IndexStatus {
  indexDir: string;
  roots: string[];
  files: number;
  chunks: number;
  languages: Record<string, number>;
  methods: Record<string, number>;
  fallbackFiles: Array<{ path: string; reason: string }>;
  skipped: Partial<Record<SkipReason, number>>;
  skippedSamples: Partial<Record<SkipReason, string[]>>;
  vectors: { mode: 'off' | 'ready' | 'partial'; embedder?: string; dimensions?: number; count: number };
  sizeOnDiskBytes: number;
  lastIndexedAt?: string;
}

interface ScanStats {
  skipped: Partial<Record<SkipReason, number>>;
  samples: Partial<Record<SkipReason, string[]>>;
  at: string;
}

const SAMPLES_PER_REASON = 50;

/** Default index folder for a set of roots: `<cache>/groundwork/<name>-<hash of the paths>`. */
export function defaultIndexDir(roots: readonly string[]): string {
  const base =
    process.env.GROUNDWORK_CACHE_DIR ??
    (process.platform === 'win32'
      ? path.join(process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'groundwork')
      : process.platform === 'darwin'
        ? path.join(os.homedir(), 'Library', 'Caches', 'groundwork')
        : path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'groundwork'));
  const resolved = roots.map((r) => path.resolve(r)).sort();
  const key = hash16(resolved.join('\0')).slice(0, 12);
  const name = (path.basename(resolved[0] ?? 'workspace') || 'workspace').replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(base, `${name}-${key}`);
}

/** Roots from folder paths; names are folder basenames, made unique. */
export function rootsFromDirs(dirs: readonly string[]): WorkspaceRoot[] {
  return uniqueRoots(dirs.map((dir) => ({ dir })));
}

import { IndexError } from './indexError';

export interface OpenOptions {
  roots: WorkspaceRoot[];
  indexDir: string;
  embedder?: Embedder;
  options?: IndexOptions;
  logger?: Logger;
  /**
   * Take the writer lock (default true). Read-only openers (e.g. a search while another process
   * indexes) pass false and never write.
   */
  write?: boolean;
  /**
   * An embedder is configured but unavailable right now (no `embedder` given for that reason): keep
   * the stored vectors and the manifest's embedder instead of dropping them as for a model change.
   */
  embedderUnavailable?: boolean;
  /**
   * A writer (the extension's index worker) that opens an existing index answers searches as soon as
   * a read-only view of it is up — the lazy catalog and snapshot readers of a read-only open, and the
   * vector store — and loads its in-memory structures in the background, then switches over in one
   * step ({@link WorkspaceIndex.whenLoaded}). Updates wait for the load. Default false: `groundwork
   * index` updates at once, so it loads as before.
   */
  serveWhileLoading?: boolean;
}

export class WorkspaceIndex implements SearchableIndex {
  readonly roots: WorkspaceRoot[];
  readonly indexDir: string;
  readonly options: Required<Pick<IndexOptions, 'chunkChars' | 'embedBatchSize' | 'maxFileBytes'>> & IndexOptions;
  readonly embedder?: Embedder;
  private readonly logger: Logger;
  private catalog!: Catalog;
  /** BM25 over chunks. */
  lexical!: LexicalIndex;
  /** BM25 over whole files (document id = index path): evidence that 800-character chunks scatter. */
  fileLexical!: LexicalIndex;
  private symbolTable?: SymbolTable;
  /** A read-only open's symbol table, read from files.bin. */
  private storedSymbols?: StoredSymbolTable;
  /** A read-only open's snapshot readers (lexical.bin, files.bin): postings are read per query term. */
  private readers?: [LexicalSnapshotReader, LexicalSnapshotReader];
  /**
   * Set on a read-only open that reads posting lists on demand (when a search scores a term): keeps
   * the lists of `terms` (both levels) held until the search releases them, so the cache bound
   * ({@link READER_HELD_POSTINGS}) never drops a list mid-search. Retrieval awaits it.
   */
  prepare?: (terms: readonly string[], signal?: AbortSignal) => Promise<PreparedSearch>;
  /**
   * Which files define which symbols. A writer builds it from the catalog on first use (a search),
   * not at open, then keeps it up to date with every change; a read-only open reads it from files.bin.
   */
  get symbols(): SymbolLookup {
    return this.storedSymbols ?? this.fullSymbols();
  }

  private fullSymbols(): SymbolTable {
    return (this.symbolTable ??= SymbolTable.of(this.catalog.files.values()));
  }
  /** Increases whenever a file is indexed or forgotten (for caches derived from the file list). */
  generation = 0;
  vectors?: VectorStore;
  /**
   * The embedding order and pace: front ends name open, edited and retrieved files here (also while
   * an update runs), and report typing (see embedQueue.ts).
   */
  readonly embedQueue: EmbedQueue;
  /** The embedding cache (writers with an embedder), opened on first use: see {@link embeddingCache}. */
  private cacheOpening?: Promise<EmbeddingCache>;
  private chunker: Chunker;
  private release?: () => Promise<void>;
  /**
   * Chunks in the catalog. There is no id → chunk map: an id starts with its file's path (see
   * {@link chunkPathOf}), so {@link getChunk} finds the chunk through its file; building that map
   * cost ~0.2-0.4 s of every open at 92k chunks.
   */
  private chunkTotal = 0;
  private lexicalDirty = false;
  /** Files forgotten whose vectors are still on disk (see forget). */
  private readonly vectorDeletes = new Set<string>();
  private scanStats: ScanStats = { skipped: {}, samples: {}, at: '' };
  /** Real (symlink-resolved) root folders: every file read must resolve inside one of them. */
  private realRoots: string[] = [];
  /** Why the last embedding attempt failed (kept vectors stay; search falls back to keywords). */
  vectorsError?: string;
  private closed = false;
  /** Set as soon as close() starts: a running embedding phase stops at its next batch. */
  private closing = false;
  /** Serializes writers within this process (watcher events, a full scan, a rebuild). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly serveWhileLoading: boolean;
  /**
   * False while a writer opened with `serveWhileLoading` answers from its read-only view and loads in
   * the background ({@link loading}); nothing is written (or persisted) before the switch.
   */
  private loaded = true;
  /** The background load: resolves once switched over (or stopped by close), rejects with its error. */
  private loading?: Promise<void>;
  /** Why the background load failed: every writing call throws it, as the open would have. */
  private loadError?: Error;
  /** Searches between their prepare and release (on a read-only view). */
  private viewSearches = 0;
  /** Views switched away from, closed once no search holds them ({@link viewSearches}). */
  private retired: Array<() => void> = [];

  private constructor(opts: OpenOptions) {
    this.roots = opts.roots;
    this.indexDir = opts.indexDir;
    this.embedder = opts.embedder;
    this.logger = opts.logger ?? silentLogger;
    this.options = {
      ...opts.options,
      chunkChars: opts.options?.chunkChars ?? DEFAULT_CHUNK_CHARS,
      embedBatchSize: opts.options?.embedBatchSize ?? 32,
      maxFileBytes: opts.options?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    };
    this.chunker = new Chunker({ maxChars: this.options.chunkChars });
    this.embedQueue = new EmbedQueue(this.options.embedThrottle);
    this.embedderUnavailable = Boolean(opts.embedderUnavailable) && !opts.embedder;
    this.serveWhileLoading = Boolean(opts.serveWhileLoading) && opts.write !== false;
  }

  private readonly embedderUnavailable: boolean;

  /**
   * Opens (or creates) the index for `roots` in `indexDir`. A version or settings mismatch, or a
   * corrupt file, rebuilds the affected part with a log line saying why; it never throws for those.
   * Throws {@link IndexError} when a root is missing, or when another process holds the lock.
   */
  static async open(opts: OpenOptions): Promise<WorkspaceIndex> {
    if (!opts.roots.length) throw new IndexError('no workspace folder given');
    for (const r of opts.roots) {
      const st = await fsp.stat(r.dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new IndexError(`workspace folder not found: ${r.dir}`);
    }
    const logger = opts.logger ?? silentLogger;
    const realRoots = await realRootsOf(opts.roots);
    const realIndexDir = await realPathOfMaybeMissing(opts.indexDir);
    // Real paths: a workspace reached through a symbolic link still contains the real index folder.
    if (realRoots.some((r) => isInside(r, realIndexDir)) || opts.roots.some((r) => isInside(path.resolve(r.dir), path.resolve(opts.indexDir)))) {
      // Inside the workspace it would index itself; refuse rather than surprise.
      throw new IndexError(`the index folder must be outside the workspace: ${opts.indexDir}`);
    }
    const roots = distinctRoots(opts.roots, realRoots, logger);
    const write = opts.write !== false;
    await assertIndexFolder(opts.indexDir, { create: write, logger });
    const index = new WorkspaceIndex({ ...opts, roots });
    index.realRoots = roots.map((r) => realRoots[opts.roots.indexOf(r)]!);
    if (write) index.release = await acquireLock(index.indexDir, { logger });
    try {
      await index.load();
    } catch (err) {
      await index.close();
      throw err;
    }
    return index;
  }

  private file(name: string): string {
    return path.join(this.indexDir, name);
  }

  private expectedManifest(): Manifest {
    return {
      schemaVersion: SCHEMA_VERSION,
      chunkerVersion: CHUNKER_VERSION,
      lexicalVersion: LEXICAL_VERSION,
      chunkChars: this.options.chunkChars,
      embedder: this.embedder ? { id: this.embedder.id, dimensions: this.embedder.dimensions } : null,
      roots: this.roots.map((r) => r.dir),
      createdAt: new Date().toISOString(),
    };
  }

  private async load(): Promise<void> {
    const expected = this.expectedManifest();
    const writable = Boolean(this.release);
    await this.removeWrongKinds();
    const rawManifest = await readJson<unknown>(this.file('manifest.json'));
    const manifest = isManifest(rawManifest) ? rawManifest : undefined;
    let wipeAll = false;
    let wipeVectors = false;
    let keptEmbedder: Manifest['embedder'] = null;
    if (!manifest) {
      if (rawManifest !== undefined) this.logger.warn('Rebuilding the index (manifest.json is not a Groundwork manifest).');
      wipeAll = true;
    } else {
      const reason =
        manifest.schemaVersion !== expected.schemaVersion
          ? `index format ${manifest.schemaVersion} → ${expected.schemaVersion}`
          : manifest.chunkerVersion !== expected.chunkerVersion
            ? `chunker version ${manifest.chunkerVersion} → ${expected.chunkerVersion}`
            : manifest.chunkChars !== expected.chunkChars
              ? `chunk budget ${manifest.chunkChars} → ${expected.chunkChars} characters`
              : manifest.lexicalVersion !== expected.lexicalVersion
                ? `lexical index version ${manifest.lexicalVersion} → ${expected.lexicalVersion}`
                : JSON.stringify([...manifest.roots].sort()) !== JSON.stringify([...expected.roots].sort())
                  ? 'different workspace folders'
                  : undefined;
      if (reason) {
        this.logger.warn(`Rebuilding the index (${reason}).`);
        wipeAll = true;
      } else if (manifest.embedder && this.embedderUnavailable) {
        // Keep them for when the endpoint is back; this run searches by keywords.
        keptEmbedder = manifest.embedder;
      } else if (JSON.stringify(manifest.embedder) !== JSON.stringify(expected.embedder)) {
        const from = manifest.embedder ? `${manifest.embedder.id} (${manifest.embedder.dimensions}-d)` : 'none';
        const to = expected.embedder ? `${expected.embedder.id} (${expected.embedder.dimensions}-d)` : 'none';
        this.logger.warn(`Embedding model changed from ${from} to ${to}: dropping the stored vectors (never mixing models).`);
        wipeVectors = true;
      }
    }
    if (!writable && (wipeAll || wipeVectors)) {
      // A reader never changes the folder: it serves what it can and leaves the rebuild to a writer.
      this.catalog = Catalog.empty(this.file('catalog'));
      this.lexical = new LexicalIndex();
      this.fileLexical = new LexicalIndex();
      if (manifest) this.logger.warn('The index was built with other settings; run `groundwork index` to rebuild it.');
      return;
    }
    if (wipeAll) await this.wipe(['catalog', 'lexical.bin', 'files.bin', 'vectors', 'stats.json', 'manifest.json']);
    if (wipeVectors) await this.wipe(['vectors']);

    // A reader opens both BM25 snapshots for on-demand reads (so does a writer that serves searches
    // while it loads, for its view), a writer reads them whole, while the catalog is read; they are
    // checked against it after.
    const background = writable && this.serveWhileLoading && !wipeAll;
    const readers =
      writable && !background
        ? undefined
        : Promise.all([
            LexicalSnapshotReader.open(this.file('lexical.bin')).catch((err: unknown) => err),
            LexicalSnapshotReader.open(this.file('files.bin')).catch((err: unknown) => err),
          ]);
    const snapshots =
      writable && !background
        ? { lexical: readWholeFile(this.file('lexical.bin')).catch(() => undefined), files: readWholeFile(this.file('files.bin')).catch(() => undefined) }
        : undefined;
    // The vector store opens alongside: its shard reads run in the thread pool while the catalog parses.
    const openVectors = (): Promise<Settled<VectorStore | undefined>> | undefined => (this.embedder ? settle(this.openVectors(this.embedder.dimensions, writable)) : undefined);
    let vectorsOpening = openVectors();
    const catalogWiped = { value: false };
    let view = false;
    try {
      if (background) view = await this.openView(await readers!);
      if (!view) {
        // A corrupt catalog makes a writer wipe the vectors too: the opening under way settles first.
        this.catalog = await this.openCatalog(writable, catalogWiped, async () => void (await (await vectorsOpening)?.value?.close()));
        if (catalogWiped.value) vectorsOpening = openVectors();
        this.chunkTotal = this.catalog.chunkCount;
        if (!(readers && !writable && (await this.useReaders(await readers))))
          ({ lexical: this.lexical, fileLexical: this.fileLexical } = await this.loadLexical(this.catalog, catalogWiped.value ? undefined : snapshots));
      }
    } catch (err) {
      await (await vectorsOpening)?.value?.close();
      for (const r of (await readers?.catch(() => [])) ?? []) if (r instanceof LexicalSnapshotReader) r.close();
      throw err;
    }

    if (vectorsOpening) {
      const opened = await vectorsOpening;
      if ('error' in opened) throw opened.error;
      this.vectors = opened.value;
    }
    const stats = await readJson<unknown>(this.file('stats.json'));
    if (isScanStats(stats)) this.scanStats = stats;
    if (this.release)
      await writeFileAtomic(
        this.file('manifest.json'),
        JSON.stringify({ ...expected, embedder: keptEmbedder ?? expected.embedder, createdAt: manifest && !wipeAll ? manifest.createdAt : expected.createdAt }, null, 2),
      );
    if (view) this.startLoading();
  }

  /**
   * A writer's read-only view (`serveWhileLoading`): the lazily opened catalog and the snapshot
   * readers, as a read-only open uses them, when they match. False (all closed) when they do not —
   * an interrupted run, a corrupt or missing file: the caller loads as a writer always did, which
   * rebuilds what needs it.
   */
  private async openView(opened: unknown[]): Promise<boolean> {
    const catalog = await Catalog.open(this.file('catalog'), { readOnly: true, lazy: true }).catch((err: unknown) => {
      this.logger.debug?.(`Loading the index before answering (the catalog cannot be read on demand: ${errMessage(err)}).`);
      return undefined;
    });
    if (!catalog) {
      for (const r of opened) if (r instanceof LexicalSnapshotReader) r.close();
      return false;
    }
    this.catalog = catalog;
    this.chunkTotal = catalog.chunkCount;
    if (await this.useReaders(opened)) return true;
    catalog.close();
    return false;
  }

  /** Starts the background load of a writer that answers from its view meanwhile; writers queue behind it. */
  private startLoading(): void {
    this.loaded = false;
    const loading = this.loadInMemory().catch((err: unknown) => {
      // close() began: nothing was switched or written; the next open loads again.
      if (err instanceof LoadStopped) return;
      this.loadError = err instanceof Error ? err : new Error(String(err));
      this.logger.error(`Could not load the index: ${errMessage(err)}`);
      throw this.loadError;
    });
    this.loading = loading;
    this.queue = loading.catch(() => undefined);
  }

  /**
   * Resolves once a writer's in-memory structures are loaded and searches use them (at once unless
   * opened with `serveWhileLoading`); rejects with the error that made the background load fail,
   * which every writing call throws too. A close() during the load resolves it.
   */
  whenLoaded(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  /** True while a writer answers from its read-only view and loads in the background. */
  get isLoading(): boolean {
    return !this.loaded && this.loadError === undefined && !this.closed;
  }

  /**
   * The background load: what a writer's open reads (every catalog shard checked whole, both
   * snapshots whole, the symbol table), yielding between steps so searches on the view keep being
   * answered, then one synchronous switch-over. A corrupt catalog takes the open's rebuild path: the
   * view is replaced by the empty index the rebuild starts from (nothing of a corrupt catalog is
   * searched after it was found), the folder wiped; a corrupt snapshot is rebuilt from the stored chunks.
   */
  private async loadInMemory(): Promise<void> {
    const stop = () => {
      if (this.closing) throw new LoadStopped();
    };
    const pace = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      stop();
    };
    const dir = this.file('catalog');
    let catalog: Catalog;
    try {
      catalog = await Catalog.open(dir, { pace });
    } catch (err) {
      if (!(err instanceof CatalogCorruptError)) throw err;
      stop();
      this.logger.warn(`Rebuilding the index: ${err.message}.`);
      this.switchTo({ catalog: Catalog.empty(dir), lexical: new LexicalIndex(), fileLexical: new LexicalIndex(), symbols: new SymbolTable() });
      const vectors = this.vectors;
      this.vectors = undefined;
      await vectors?.close();
      await this.wipe(['catalog', 'lexical.bin', 'files.bin', 'vectors', 'stats.json']);
      this.scanStats = { skipped: {}, samples: {}, at: '' };
      catalog = await Catalog.open(dir);
      if (this.embedder) this.vectors = await this.openVectors(this.embedder.dimensions, true);
    }
    await pace();
    const { lexical, fileLexical } = await this.loadLexical(catalog, undefined, pace);
    await pace();
    // Built now rather than by the first search after the switch (as a writer's open leaves it).
    const symbols = new SymbolTable();
    let n = 0;
    for (const f of catalog.files.values()) {
      symbols.add(f.path, f.chunks);
      if (++n % SYMBOL_SLICE === 0) await pace();
    }
    stop();
    this.switchTo({ catalog, lexical, fileLexical, symbols });
    this.loaded = true;
  }

  /**
   * Replaces what searches read, in one synchronous step: a search that began on the view before
   * finishes on it (its files stay open until the last such search releases them), every later one
   * sees only the new state.
   */
  private switchTo(next: { catalog: Catalog; lexical: LexicalIndex; fileLexical: LexicalIndex; symbols: SymbolTable }): void {
    const old = { catalog: this.catalog, readers: this.readers };
    this.catalog = next.catalog;
    this.lexical = next.lexical;
    this.fileLexical = next.fileLexical;
    this.symbolTable = next.symbols;
    this.storedSymbols = undefined;
    this.readers = undefined;
    this.prepare = undefined;
    this.chunkTotal = next.catalog.chunkCount;
    this.generation++;
    if (old.catalog === next.catalog) return;
    this.retired.push(() => {
      for (const r of old.readers ?? []) r.close();
      old.catalog.close();
    });
    if (!this.viewSearches) this.closeRetired();
  }

  private closeRetired(): void {
    for (const close of this.retired.splice(0)) close();
  }

  /**
   * Opens the vector store: read-only, a missing or unreadable store means keyword search only; a
   * writer rebuilds a corrupt one (with a log line) and reuses the cached embeddings.
   */
  private async openVectors(dimensions: number, writable: boolean): Promise<VectorStore | undefined> {
    if (!writable) {
      try {
        return await VectorStore.open(this.file('vectors'), { dimensions, logger: this.logger, readOnly: true });
      } catch (err) {
        // Missing or being rewritten: keyword search still works.
        this.logger.debug?.(`Vectors not loaded (read-only): ${errMessage(err)}`);
        return undefined;
      }
    }
    const opts = { dimensions, logger: this.logger };
    try {
      return await VectorStore.open(this.file('vectors'), opts);
    } catch (err) {
      if (!(err instanceof IndexCorruptError)) throw err;
      this.logger.warn(`Rebuilding the vector index: ${err.message}. Cached embeddings are reused.`);
      await this.wipe(['vectors']);
      return VectorStore.open(this.file('vectors'), opts);
    }
  }

  /**
   * A reader's open: uses the snapshots opened for on-demand reads when they match the lazily opened
   * catalog (generations, counts, a symbol table). False (readers closed) otherwise: the caller loads
   * or rebuilds them as a writer would, in memory.
   */
  private async useReaders(opened: unknown[]): Promise<boolean> {
    const [lex, files] = opened;
    const close = () => opened.forEach((r) => r instanceof LexicalSnapshotReader && r.close());
    if (!(lex instanceof LexicalSnapshotReader) || !(files instanceof LexicalSnapshotReader) || !this.catalog.isLazy) {
      close();
      return false;
    }
    const gens = JSON.stringify(this.catalog.generations());
    const fresh =
      JSON.stringify(lex.meta.gens) === gens &&
      JSON.stringify(files.meta.gens) === gens &&
      lex.documentCount === this.chunkTotal &&
      files.documentCount === this.catalog.fileCount &&
      SYMBOL_SECTIONS.every((s) => files.file.has(s));
    if (!fresh) {
      close();
      return false;
    }
    try {
      const sections = await Promise.all(SYMBOL_SECTIONS.map((s) => files.file.section(s)));
      this.storedSymbols = StoredSymbolTable.from(
        Object.fromEntries(SYMBOL_SECTIONS.map((s, i) => [s, sections[i]!])) as Record<(typeof SYMBOL_SECTIONS)[number], Buffer>,
        files.documentCount,
        (d) => files.idOf(d),
      );
    } catch (err) {
      this.logger.warn(`The file-level lexical index is unreadable (${errMessage(err)}); loading it whole.`);
      close();
      return false;
    }
    this.readers = [lex, files];
    this.lexical = lex.index;
    this.fileLexical = files.index;
    // Lists are read when scored; a search keeps its terms' lists held until it ends.
    this.prepare = (terms, signal) => {
      signal?.throwIfAborted();
      if (this.closed) return Promise.reject(new IndexError('the index is closed'));
      lex.index.evictPostings(READER_HELD_POSTINGS);
      files.index.evictPostings(READER_HELD_POSTINGS);
      const releases = [lex.index.pinPostings(terms), files.index.pinPostings(terms)];
      this.viewSearches++;
      let released = false;
      return Promise.resolve({
        release: () => {
          if (released) return;
          released = true;
          releases.forEach((r) => r());
          // A view switched away from (a writer's load ended meanwhile) closes after its last search.
          if (--this.viewSearches === 0) this.closeRetired();
        },
      });
    };
    return true;
  }

  /** Both BM25 snapshots of `catalog` (see {@link loadSnapshot}); `pace` between the steps of a background load. */
  private async loadLexical(
    catalog: Catalog,
    read?: { lexical: Promise<Buffer | undefined>; files: Promise<Buffer | undefined> },
    pace?: () => Promise<void>,
  ): Promise<{ lexical: LexicalIndex; fileLexical: LexicalIndex }> {
    const lexical = await this.loadSnapshot(
      catalog,
      'lexical.bin',
      'lexical index',
      catalog.chunkCount,
      () => [...catalog.files.values()].flatMap((f) => f.chunks),
      read?.lexical,
      pace,
    );
    await pace?.();
    const fileLexical = await this.loadSnapshot(
      catalog,
      'files.bin',
      'file-level lexical index',
      catalog.files.size,
      () => [...catalog.files.values()].map((f) => fileLexicalDoc(f.path, f.chunks)),
      read?.files,
      pace,
    );
    return { lexical, fileLexical };
  }

  /** Loads one BM25 snapshot (already being read, or read now) if it matches `catalog`, else rebuilds it from the stored chunks. */
  private async loadSnapshot(
    catalog: Catalog,
    name: string,
    what: string,
    expectedDocs: number,
    docs: () => LexicalDoc[],
    read?: Promise<Buffer | undefined>,
    pace?: () => Promise<void>,
  ): Promise<LexicalIndex> {
    const gens = catalog.generations();
    const raw = await (read ?? readWholeFile(this.file(name)).catch(() => undefined));
    if (raw) {
      try {
        const { index, meta } = pace ? await LexicalIndex.deserializePaced(raw, pace) : LexicalIndex.deserialize(raw);
        if (JSON.stringify(meta.gens) !== JSON.stringify(gens)) {
          this.logger.info(`The ${what} is older than the catalog (interrupted run); rebuilding it from stored chunks.`);
        } else if (index.documentCount !== expectedDocs) {
          this.logger.warn(`The ${what} does not match the catalog; rebuilding it from stored chunks.`);
        } else {
          return index;
        }
      } catch (err) {
        this.logger.warn(`The ${what} is unreadable (${errMessage(err)}); rebuilding it from stored chunks.`);
      }
    }
    const index = new LexicalIndex();
    index.add(docs());
    if (expectedDocs > 0) this.lexicalDirty = true;
    return index;
  }

  private async wipe(names: string[]): Promise<void> {
    if (!this.release) return;
    for (const n of names) await fsp.rm(this.file(n), { recursive: true, force: true });
  }

  /**
   * Opens the catalog. A writer rebuilds a corrupt one; a reader retries (a writer may have replaced
   * a shard between its two reads) and then serves an empty index rather than change anything.
   */
  private async openCatalog(writable: boolean, wiped: { value: boolean }, beforeWipe: () => Promise<void>): Promise<Catalog> {
    const dir = this.file('catalog');
    for (let attempt = 0; ; attempt++) {
      try {
        return await Catalog.open(dir, { readOnly: !writable, lazy: !writable });
      } catch (err) {
        if (!(err instanceof CatalogCorruptError)) throw err;
        if (writable) {
          this.logger.warn(`Rebuilding the index: ${err.message}.`);
          wiped.value = true;
          await beforeWipe();
          await this.wipe(['catalog', 'lexical.bin', 'files.bin', 'vectors', 'stats.json']);
          return Catalog.open(dir);
        }
        if (attempt >= READER_RETRIES) {
          this.logger.warn(`The index is unreadable (${err.message}); run \`groundwork index\` to rebuild it.`);
          return Catalog.empty(dir);
        }
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  }

  /**
   * Index files replaced by something of another kind (lexical.bin turned into a folder, catalog/
   * into a file) are removed by a writer, with a log line, so they are rebuilt; readers skip them.
   */
  private async removeWrongKinds(): Promise<void> {
    for (const [name, dir] of INDEX_ENTRIES) {
      const st = await fsp.lstat(this.file(name)).catch(() => undefined);
      if (!st || (dir ? st.isDirectory() : st.isFile())) continue;
      if (!this.release) continue;
      this.logger.warn(`Rebuilding ${name}: it is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, not the index's ${dir ? 'folder' : 'file'}.`);
      await fsp.rm(this.file(name), { recursive: true, force: true });
    }
  }

  /** Absolute path on disk of an index path. */
  absolutePath(indexPath: string): string | undefined {
    return absolutePathOf(this.roots, indexPath);
  }

  getChunk(id: string): Chunk | undefined {
    // A read-only open knows its chunk ids from the lexical snapshot (no file decoded to look).
    if (this.readers && this.readers[0].locate(id) === undefined) return undefined;
    return this.catalog.chunk(chunkPathOf(id), id);
  }

  getFile(indexPath: string): FileEntry | undefined {
    return this.catalog.file(indexPath);
  }

  /**
   * The embedding cache, opened the first time it is needed (the embedding phase, a publish) rather
   * than in `open`: loading it reads and checks every cached vector (~150 MB at 100k chunks), which
   * a re-open for a search does not need. Undefined for readers and without an embedder. A failed
   * open is not remembered, so the next use tries again.
   */
  private embeddingCache(): Promise<EmbeddingCache> | undefined {
    if (!this.embedder || !this.release || this.closed) return undefined;
    if (!this.cacheOpening) {
      const opening = EmbeddingCache.open(this.file('embeddings'), { embedderId: this.embedder.id, dimensions: this.embedder.dimensions, logger: this.logger });
      this.cacheOpening = opening;
      opening.catch(() => {
        if (this.cacheOpening === opening) this.cacheOpening = undefined;
      });
    }
    return this.cacheOpening;
  }

  /**
   * What a shared store needs to hold this index (see indexStore.ts): the catalog, both BM25
   * indexes' statistics and postings in this index's own document numbering, and the vectors.
   */
  async snapshotSource(): Promise<SnapshotSource> {
    await this.whenLoaded();
    const cache = this.vectors ? await this.embeddingCache() : undefined;
    const withVectors = Boolean(this.vectors && this.embedder && cache);
    // A reader holds its snapshots' postings on disk: publishing needs them whole.
    const [lexical, fileLexical] = this.readers
      ? await Promise.all(['lexical.bin', 'files.bin'].map(async (n) => LexicalIndex.deserialize(await readWholeFile(this.file(n))).index))
      : [this.lexical, this.fileLexical];
    return {
      files: [...this.catalog.files.values()],
      chunkPostings: lexical!.exportPostings(),
      filePostings: fileLexical!.exportPostings(),
      embedder: withVectors ? { id: this.embedder!.id, dimensions: this.embedder!.dimensions } : null,
      vectorOf: (c) => (withVectors ? cache!.get(embeddingKey(c)) : undefined),
      versions: { schema: SCHEMA_VERSION, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars: this.options.chunkChars },
    };
  }

  /** Index paths of every indexed file. */
  indexedPaths(): string[] {
    return this.catalog.paths();
  }

  /** True when this instance holds the writer lock (false for a read-only snapshot). */
  get writable(): boolean {
    return Boolean(this.release) && !this.closed;
  }

  get fileCount(): number {
    return this.catalog.fileCount;
  }

  get chunkCount(): number {
    return this.chunkTotal;
  }

  /** 'ready' when every chunk has a vector, 'partial' while some are missing, 'off' without embedder. */
  vectorState(): 'off' | 'ready' | 'partial' {
    if (!this.vectors) return 'off';
    return this.vectors.count >= this.chunkTotal ? 'ready' : 'partial';
  }

  private runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Brings the index up to date with the workspace: new and changed files are chunked and indexed,
   * deleted ones forgotten (chunks and vectors removed from disk), then missing vectors embedded.
   */
  async update(opts: { signal?: AbortSignal; onProgress?: (p: IndexProgress) => void } = {}): Promise<IndexRunSummary> {
    const { signal, onProgress } = opts;
    const started = Date.now();
    // Searches are answered meanwhile; the scan compares against the loaded catalog.
    if (this.isLoading) onProgress?.({ phase: 'load', filesTotal: 0, filesDone: 0, chunks: this.chunkTotal, embedTotal: 0, embedDone: 0, filesIndexed: this.catalog.fileCount });
    const { summary, progress } = await this.runExclusive(() => this.updateLexical(signal, onProgress));
    const emit = () => onProgress?.({ ...progress });
    // Phase 3: vectors for chunks that lack them (cache first, then the embedder). Keyword search is
    // complete and persisted already; each batch takes the writer queue on its own, so edits saved
    // meanwhile are indexed between batches rather than after the whole phase.
    if (this.vectors && this.embedder) {
      progress.phase = 'embed';
      const r = await this.embedTolerant(
        signal,
        (e) => {
          progress.embedTotal = e.total;
          progress.embedDone = e.done;
          progress.embedToCompute = e.toCompute;
          progress.embedRate = e.rate;
          progress.etaSeconds = e.etaSeconds;
          progress.currentPath = e.currentPath;
          emit();
        },
        undefined,
        (fn) => this.runExclusive(fn),
      );
      summary.chunksEmbedded = r.embedded;
      summary.chunksFromCache = r.fromCache;
    }
    progress.phase = 'done';
    progress.currentPath = undefined;
    emit();
    return { ...summary, chunks: this.chunkTotal, vectors: this.vectorState(), vectorsError: this.vectorsError, millis: Date.now() - started };
  }

  /** Phases 1-2 of {@link update}: scan, chunk what changed, persist (keyword search complete). */
  private async updateLexical(signal?: AbortSignal, onProgress?: (p: IndexProgress) => void): Promise<{ summary: IndexRunSummary; progress: IndexProgress }> {
    this.assertWritable();
    const started = Date.now();
    const progress: IndexProgress = { phase: 'scan', filesTotal: 0, filesDone: 0, chunks: this.chunkTotal, embedTotal: 0, embedDone: 0 };
    const emit = () => onProgress?.({ ...progress });
    const skipped: Partial<Record<SkipReason, number>> = {};
    const samples: Partial<Record<SkipReason, string[]>> = {};
    const noteSkip = (p: string, reason: SkipReason) => {
      skipped[reason] = (skipped[reason] ?? 0) + 1;
      const list = (samples[reason] ??= []);
      if (list.length < SAMPLES_PER_REASON) list.push(p);
    };

    // Phase 1: scan (names, sizes, mtimes; no reading).
    const found: DiscoveredFile[] = [];
    emit();
    for await (const ev of discoverFiles(this.roots, this.options, signal)) {
      if (ev.kind === 'skip') noteSkip(ev.skip.path, ev.skip.reason);
      else {
        found.push(ev.file);
        progress.filesTotal = found.length;
        if (found.length % 500 === 0) emit();
      }
    }
    const seen = new Set(found.map((f) => f.path));
    let removed = 0;
    for (const p of [...this.catalog.files.keys(), ...this.catalog.skipped.keys()]) {
      if (!seen.has(p)) {
        await this.forget(p);
        removed++;
      }
    }

    // Phase 2: read and chunk what changed.
    progress.phase = 'chunk';
    emit();
    let changed = 0;
    let unchanged = 0;
    let lastFlush = Date.now();
    let lastFlushCost = 0;
    // The files the user works on first (open editors, their folders, recent edits): the index is
    // searchable while this loop runs, so on a first index questions about them need not wait for
    // the rest of the workspace.
    const queue = this.embedQueue;
    const first = queue.prioritized(found);
    let order = first.ordered;
    let version = queue.version;
    progress.priorityFiles = first.priority;
    for (let i = 0; i < order.length; i++) {
      if (signal?.aborted) break;
      if (queue.version !== version) {
        // Priorities changed while this runs (an editor was opened): what is left is ordered again.
        version = queue.version;
        const rest = queue.prioritized(order.slice(i));
        order = order.slice(0, i).concat(rest.ordered);
        if (rest.priority > 0) progress.priorityFiles = i + rest.priority;
      }
      const file = order[i]!;
      progress.currentPath = file.path;
      const known = this.catalog.files.get(file.path) ?? this.catalog.skipped.get(file.path);
      const retry = this.catalog.skipped.get(file.path)?.reason;
      if (known && known.size === file.size && known.mtimeMs === file.mtimeMs && !(retry && RETRIED_SKIPS.has(retry))) {
        unchanged++;
        const skip = this.catalog.skipped.get(file.path);
        if (skip) noteSkip(file.path, skip.reason);
      } else {
        const outcome = await this.indexFile(file, signal);
        if (outcome === 'skipped') {
          const skip = this.catalog.skipped.get(file.path);
          if (skip) noteSkip(file.path, skip.reason);
        }
        if (outcome === 'changed') changed++;
        else if (outcome === 'unchanged') unchanged++;
      }
      progress.filesDone++;
      progress.chunks = this.chunkTotal;
      progress.filesIndexed = this.catalog.files.size;
      emit();
      // Persist every few seconds so an interrupted first index keeps most of its work, but never
      // spend more than ~1/FLUSH_COST_FACTOR of the run on it: a flush rewrites every shard that
      // changed, which during a first index is the whole catalog so far, so fixed intervals made
      // the run quadratic (see FLUSH_COST_FACTOR).
      if (Date.now() - lastFlush > Math.max(FLUSH_INTERVAL_MS, lastFlushCost * FLUSH_COST_FACTOR)) {
        const t = Date.now();
        await this.catalog.flush();
        lastFlush = Date.now();
        lastFlushCost = lastFlush - t;
      }
    }
    this.scanStats = { skipped, samples, at: new Date().toISOString() };
    progress.phase = 'write';
    progress.currentPath = undefined;
    emit();
    await this.persist();
    signal?.throwIfAborted();
    const languages: Record<string, number> = {};
    let fallbacks = 0;
    for (const f of this.catalog.files.values()) {
      languages[f.language] = (languages[f.language] ?? 0) + 1;
      if (f.method === 'fallback') fallbacks++;
    }
    const summary: IndexRunSummary = {
      filesIndexed: this.catalog.files.size,
      filesChanged: changed,
      filesUnchanged: unchanged,
      filesRemoved: removed,
      chunks: this.chunkTotal,
      chunksEmbedded: 0,
      chunksFromCache: 0,
      skipped,
      languages,
      fallbacks,
      vectors: this.vectorState(),
      vectorsError: this.vectorsError,
      millis: Date.now() - started,
    };
    return { summary, progress };
  }

  /**
   * Re-checks specific files (from a watcher or a save): changed ones are re-indexed, deleted or
   * newly ignored ones forgotten. Resolves when they are searchable (vectors follow if an embedder
   * is set). Returns the index paths that changed.
   */
  updateFiles(absPaths: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    return this.runExclusive(async () => {
      this.assertWritable();
      const changedPaths: string[] = [];
      const batch = newClassifyBatch(this.options);
      for (const abs of absPaths) {
        const info = await classifyPath(this.roots, abs, this.options, batch);
        if (!info) continue;
        const st = await fsp.stat(abs).catch(() => undefined);
        if (!st || !st.isFile() || info.ignoredBy) {
          if (this.catalog.files.has(info.path) || this.catalog.skipped.has(info.path)) {
            await this.forget(info.path);
            changedPaths.push(info.path);
          }
          continue;
        }
        if (st.size > this.options.maxFileBytes) {
          await this.forget(info.path);
          this.catalog.setSkipped({ path: info.path, size: st.size, mtimeMs: st.mtimeMs, reason: 'too-large' });
          changedPaths.push(info.path);
          continue;
        }
        const outcome = await this.indexFile({ root: info.root, absPath: abs, path: info.path, size: st.size, mtimeMs: st.mtimeMs }, opts.signal);
        if (outcome !== 'unchanged') changedPaths.push(info.path);
      }
      await this.catalog.flush();
      if (this.vectors && changedPaths.length) await this.embedTolerant(opts.signal, () => {}, changedPaths);
      await this.flushVectorDeletes();
      return changedPaths;
    });
  }

  /** Drops everything about one path (chunks, lexical terms, vectors). */
  private async forget(indexPath: string): Promise<void> {
    const entry = this.catalog.files.get(indexPath);
    if (entry) {
      this.generation++;
      this.lexical.remove(entry.chunks);
      this.fileLexical.remove([fileLexicalDoc(entry.path, entry.chunks)]);
      this.symbolTable?.remove(entry.path, entry.chunks);
      this.chunkTotal -= entry.chunks.length;
      this.lexicalDirty = true;
      // Vectors are dropped in one batch (flushVectorDeletes): deleting a branch's worth of files
      // one by one would rewrite the same shards once per file. Until then, search ignores them
      // (their chunk ids are gone).
      if (this.vectors) this.vectorDeletes.add(indexPath);
    }
    this.catalog.remove(indexPath);
  }

  /** Removes from disk the vectors of every file forgotten since the last call. */
  private async flushVectorDeletes(): Promise<void> {
    if (!this.vectors || !this.vectorDeletes.size) return;
    const paths = [...this.vectorDeletes];
    this.vectorDeletes.clear();
    await this.vectors.applyFileChanges(paths.map((p) => ({ path: p, items: null })));
  }

  /** Reads, chunks and indexes one file (lexically). Never throws for file-level problems. */
  private async indexFile(file: DiscoveredFile, signal?: AbortSignal): Promise<'changed' | 'unchanged' | 'skipped'> {
    // Checked on the file actually opened: a symbolic link (or a file swapped for one since the scan)
    // that resolves outside the workspace, a FIFO or a device is refused here, whoever asked.
    const read = await readSourceFile(file.absPath, this.options.maxFileBytes, { within: this.realRoots, signal, displayPath: file.path });
    if (!read.ok) {
      await this.forget(file.path);
      this.catalog.setSkipped({ path: file.path, size: file.size, mtimeMs: file.mtimeMs, reason: read.reason, detail: read.detail });
      return 'skipped';
    }
    const hash = contentHash(read.text);
    const previous = this.catalog.files.get(file.path);
    if (previous && previous.contentHash === hash) {
      // Touched but identical (e.g. a checkout that rewrote the file): only the stat changes.
      this.catalog.setFile({ ...previous, size: file.size, mtimeMs: file.mtimeMs });
      return 'unchanged';
    }
    const language = languageForPath(file.path);
    let result;
    try {
      result = await this.chunker.chunkFile(file.path, read.text, language);
    } catch (err) {
      // No file can be chunked (the parser runtime is missing): the run stops and says so.
      if (err instanceof ChunkerUnavailableError) throw err;
      // The chunker has its own fallbacks; reaching here is a bug, but one file must not stop a run.
      this.logger.warn(`Could not chunk ${file.path}: ${errMessage(err)}`);
      await this.forget(file.path);
      this.catalog.setSkipped({ path: file.path, size: file.size, mtimeMs: file.mtimeMs, reason: 'unreadable', detail: errMessage(err) });
      return 'skipped';
    }
    if (previous) {
      this.lexical.remove(previous.chunks);
      this.fileLexical.remove([fileLexicalDoc(previous.path, previous.chunks)]);
      this.symbolTable?.remove(previous.path, previous.chunks);
      this.chunkTotal -= previous.chunks.length;
    }
    this.chunkTotal += result.chunks.length;
    this.generation++;
    // Each text tokenised once for both levels (analyzeFile).
    const analyzed = analyzeFile(file.path, result.chunks);
    this.lexical.add(result.chunks, analyzed.chunks);
    this.fileLexical.add([fileLexicalDoc(file.path, result.chunks)], [analyzed.file]);
    this.symbolTable?.add(file.path, result.chunks);
    this.lexicalDirty = true;
    this.catalog.setFile({
      path: file.path,
      size: file.size,
      mtimeMs: file.mtimeMs,
      contentHash: hash,
      language,
      method: result.method,
      fallbackReason: result.fallbackReason,
      chunks: result.chunks,
    });
    return 'changed';
  }

  /**
   * Adds vectors for every chunk that lacks one: from the embedding cache, else the embedder, in the
   * order of {@link embedQueue} (re-sorted whenever a front end re-prioritises), paced by its
   * throttle between batches. Vectors are written to the store (and the cache flushed) after every
   * write group, so an interrupted run keeps what it embedded and the next one continues from there.
   *
   * `step` runs each batch: the full update passes its writer queue, so a watcher event or a save
   * waits for one batch, not for the whole embedding phase; a caller already inside the queue
   * (updateFiles) runs the batches directly, and unpaced: a save's few chunks must not wait for the
   * throttle while holding the queue.
   */
  private async embedMissing(
    signal: AbortSignal | undefined,
    onProgress: (p: EmbedProgress) => void,
    /** Only these index paths (a watcher batch); all files when absent. */
    only?: readonly string[],
    stepIn?: <T>(fn: () => Promise<T>) => Promise<T>,
  ): Promise<{ embedded: number; fromCache: number }> {
    const vectors = this.vectors;
    const embedder = this.embedder;
    if (!vectors || !embedder) return { embedded: 0, fromCache: 0 };
    const cache = await this.embeddingCache();
    if (!cache) return { embedded: 0, fromCache: 0 };
    const queue = this.embedQueue;
    const stepped = Boolean(stepIn);
    const step = stepIn ?? (<T>(fn: () => Promise<T>) => fn());
    const lacksVectors = (f: FileEntry): boolean => {
      const have = vectors.itemsForPath(f.path);
      if (have.length !== f.chunks.length) return true;
      const ids = new Set(have.map((x) => x.id));
      return f.chunks.some((c) => !ids.has(c.id));
    };
    // Group writes by vector shard: files in path order touch ~12 of 32 shards per group, files
    // sorted by shard touch ~1 (measured at 100k chunks: 3,062 shard writes / 33 s → 446 / 8.3 s).
    // Priorities come first (embedQueue.ts); the bulk keeps this order.
    const byShard = (a: FileEntry, b: FileEntry) => shardOf(a.path, vectors.shardCount) - shardOf(b.path, vectors.shardCount) || (a.path < b.path ? -1 : 1);
    const p: EmbedProgress = { total: 0, done: 0, toCompute: 0 };
    const pending: FileEntry[] = [];
    let sortedVersion = -1;
    await step(async () => {
      this.assertWritable();
      await this.flushVectorDeletes();
      const candidates = only ? only.map((x) => this.catalog.files.get(x)).filter((f): f is FileEntry => Boolean(f)) : this.catalog.files.values();
      const keys = new Set<string>();
      for (const f of candidates) {
        if (!lacksVectors(f)) continue;
        pending.push(f);
        p.total += f.chunks.length;
        for (const c of f.chunks) {
          const key = embeddingKey(c);
          if (!cache.has(key) && !keys.has(key)) {
            keys.add(key);
            p.toCompute++;
          }
        }
      }
    });
    onProgress({ ...p });
    const meter = new RateMeter();
    const batch = this.options.embedBatchSize;
    const groupChunks = batch * 8;
    let embedded = 0;
    let fromCache = 0;
    let ready: FileEntry[] = [];
    let readyChunks = 0;
    let lastWrite = Date.now();
    let paused = 0;
    // The files taken from the queue and their chunks still to compute; one step embeds one batch of
    // them, so the throttle, a save and a re-prioritisation act between batches even in a file with
    // hundreds of chunks (a new take happens when the previous one is done).
    let take: FileEntry[] = [];
    let taken = 0;
    let urgent = false;
    let need: Chunk[] = [];
    let needAt = 0;
    try {
      while (pending.length || take.length || ready.length) {
        signal?.throwIfAborted();
        const busy = await step(async () => {
          // close() has begun: stop here; what is written stays, the next open continues from it.
          if (this.closing) return -1;
          this.assertWritable();
          if (!take.length) {
            if (queue.version !== sortedVersion) {
              sortedVersion = queue.version;
              pending.sort(queue.comparator(byShard));
            }
            // Take files until one embedder batch is full (or a write group's worth comes from the cache).
            const needKeys = new Set<string>();
            need = [];
            needAt = 0;
            taken = 0;
            urgent = false;
            while (pending.length && need.length < batch && taken < groupChunks) {
              const f = pending.shift()!;
              // A watcher update may have replaced or removed the file since the plan: it embeds it itself.
              if (this.catalog.files.get(f.path) !== f || !lacksVectors(f)) {
                p.total -= f.chunks.length;
                continue;
              }
              take.push(f);
              taken += f.chunks.length;
              if (queue.tierOf(f.path) !== 'rest') urgent = true;
              for (const c of f.chunks) {
                const key = embeddingKey(c);
                if (cache.has(key) || needKeys.has(key)) continue;
                needKeys.add(key);
                need.push(c);
              }
            }
            const hits = taken - need.length;
            fromCache += hits;
            p.done += hits;
            if (hits) onProgress({ ...p });
          }
          const t0 = Date.now();
          if (needAt < need.length) {
            signal?.throwIfAborted();
            const slice = need.slice(needAt, needAt + batch);
            needAt += slice.length;
            const vecs = await embedder.embed(slice.map(embeddingText), signal);
            if (vecs.length !== slice.length) {
              throw new IndexError(`the embedding model returned ${vecs.length} vectors for ${slice.length} texts`);
            }
            slice.forEach((c, k) => {
              const v = vecs[k]!;
              if (v.length !== embedder.dimensions) {
                throw new IndexError(
                  `the embedding model returned ${v.length}-d vectors but the index expects ${embedder.dimensions}-d; check the model setting, then rebuild the index`,
                );
              }
              const problem = vectorProblem(v);
              if (problem) throw new EmbeddingFaultError(`the embedding model returned ${problem}`);
              cache.set(embeddingKey(c), v);
            });
            const now = Date.now();
            // The rate counts the pause before this batch too: the ETA is what the throttle allows.
            meter.add(slice.length, now - t0 + paused, now);
            paused = 0;
            embedded += slice.length;
            p.toCompute = Math.max(0, p.toCompute - slice.length);
            p.done += slice.length;
            p.rate = meter.rate;
            p.etaSeconds = meter.eta(p.toCompute);
            p.currentPath = slice[slice.length - 1]!.path;
            onProgress({ ...p });
          }
          const busyMs = Date.now() - t0;
          if (needAt < need.length) return busyMs;
          ready.push(...take);
          readyChunks += taken;
          take = [];
          // Written promptly when the user is waiting for these files (or a while has passed), else in
          // groups that amortise shard rewrites.
          if (ready.length && (urgent || readyChunks >= groupChunks || !pending.length || Date.now() - lastWrite >= EMBED_WRITE_INTERVAL_MS)) {
            const current = ready.filter((f) => this.catalog.files.get(f.path) === f);
            ready = [];
            readyChunks = 0;
            await vectors.applyFileChanges(
              current.map((f) => ({
                path: f.path,
                items: f.chunks.map((c) => ({ id: c.id, hash: c.hash, vector: cache.get(embeddingKey(c))! })),
              })),
            );
            // The cache holds the vectors of files taken but not yet written: an interrupted run resumes from it.
            await cache.flush();
            lastWrite = Date.now();
          }
          return busyMs;
        });
        if (busy < 0) break;
        if (pending.length || take.length) paused = stepped ? await queue.pace(busy, signal) : 0;
      }
      p.rate = meter.rate;
      if (!pending.length) p.etaSeconds = 0;
      p.currentPath = undefined;
      onProgress({ ...p });
      return { embedded, fromCache };
    } finally {
      // What was embedded before an interrupt or a failure is kept for the next run.
      await cache.flush();
    }
  }

  /**
   * {@link embedMissing}, but a failing embedding endpoint does not fail the update: the vectors
   * already stored are kept, the reason is logged once and kept in {@link vectorsError}, and search
   * uses keywords for the chunks that lack vectors. Aborts still propagate.
   */
  private async embedTolerant(
    signal: AbortSignal | undefined,
    onProgress: (p: EmbedProgress) => void,
    only?: readonly string[],
    step?: <T>(fn: () => Promise<T>) => Promise<T>,
  ): Promise<{ embedded: number; fromCache: number }> {
    try {
      const r = await this.embedMissing(signal, onProgress, only, step);
      this.vectorsError = undefined;
      return r;
    } catch (err) {
      if (signal?.aborted) throw err;
      // A wrong dimension is a configuration problem the user must fix: keep failing loudly.
      if (err instanceof IndexError && !(err instanceof EmbeddingFaultError)) throw err;
      this.vectorsError = errMessage(err).split('\n')[0];
      this.logger.warn(`Embedding failed, vectors are incomplete and search falls back to keywords for the rest: ${this.vectorsError}`);
      return { embedded: 0, fromCache: 0 };
    }
  }

  /** Writes catalog shards, the lexical snapshot and scan stats. */
  async persist(): Promise<void> {
    // Before a background load switched over there is nothing new to write (the view is read-only).
    if (!this.release || !this.loaded) return;
    await this.flushVectorDeletes();
    await this.catalog.flush();
    if (this.lexicalDirty) {
      const gens = this.catalog.generations();
      await writeFileAtomic(this.file('lexical.bin'), this.lexical.serializeParts({ gens }));
      await writeFileAtomic(
        this.file('files.bin'),
        this.fileLexical.serializeParts({ gens }, (ids) => symbolSections(this.fullSymbols(), ids)),
      );
      this.lexicalDirty = false;
    }
    await writeFileAtomic(this.file('stats.json'), JSON.stringify(this.scanStats));
  }

  async status(): Promise<IndexStatus> {
    // From the loaded catalog (a view would decode every file to count them); a failed load is reported by the writing calls.
    await this.whenLoaded().catch(() => undefined);
    const languages: Record<string, number> = {};
    const methods: Record<string, number> = {};
    const fallbackFiles: Array<{ path: string; reason: string }> = [];
    for (const f of this.catalog.files.values()) {
      languages[f.language] = (languages[f.language] ?? 0) + 1;
      methods[f.method] = (methods[f.method] ?? 0) + 1;
      if (f.method === 'fallback') fallbackFiles.push({ path: f.path, reason: f.fallbackReason ?? 'parse error' });
    }
    return {
      indexDir: this.indexDir,
      roots: this.roots.map((r) => r.dir),
      files: this.catalog.fileCount,
      chunks: this.chunkTotal,
      languages,
      methods,
      fallbackFiles,
      skipped: this.scanStats.skipped,
      skippedSamples: this.scanStats.samples,
      vectors: {
        mode: this.vectorState(),
        embedder: this.embedder?.id,
        dimensions: this.embedder?.dimensions,
        count: this.vectors?.count ?? 0,
      },
      sizeOnDiskBytes: await dirSize(this.indexDir),
      lastIndexedAt: this.scanStats.at || undefined,
    };
  }

  private assertWritable(): void {
    if (this.closed) throw new IndexError('the index is closed');
    if (!this.release) throw new IndexError('the index was opened read-only');
    if (this.loadError) throw this.loadError;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    try {
      // A background load stops at its next step (nothing switched, nothing written).
      await this.queue;
      if (this.release && this.catalog && this.lexical) await this.persist();
      await this.vectors?.close();
      // Its file descriptor was left open by every close before (one per open of a writer).
      const cache = await this.cacheOpening?.catch(() => undefined);
      this.cacheOpening = undefined;
      await cache?.close();
    } finally {
      this.closed = true;
      for (const r of this.readers ?? []) r.close();
      this.catalog?.close();
      this.closeRetired();
      this.chunker.dispose();
      await this.release?.();
      this.release = undefined;
    }
  }
}

/**
 * The index path of a chunk id (`<path>#L<start>-L<end>#<hash8>`, plus `@<part>` for a piece of a
 * split line; see chunker/emission.ts). The marker is searched from the end, so a path that itself
 * contains `#L` is still cut at the right place.
 */
export function chunkPathOf(id: string): string {
  const cut = id.lastIndexOf('#L', id.lastIndexOf('#'));
  return cut > 0 ? id.slice(0, cut) : id;
}

/**
 * The text given to the embedder for a chunk: its header (path, enclosing signatures) or its path,
 * then the code.
 */
export function embeddingText(c: Chunk): string {
  return c.header ? `${c.header}\n${c.text}` : `${c.path}\n${c.text}`;
}

/**
 * Embedding-cache key: the code and its enclosing signatures, without the path, so renaming or
 * moving a file, switching branches or reverting an edit re-embeds nothing. (The cached vector was
 * computed with the old path in its text, a negligible difference for retrieval.)
 */
export function embeddingKey(c: Chunk): string {
  if (!c.header) return c.hash;
  const header = c.header.startsWith(c.path) ? c.header.slice(c.path.length) : c.header;
  return hash16(header, '\n', c.text);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else total += (await fsp.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/**
 * Catalog flushes during a long update: at most every {@link FLUSH_INTERVAL_MS} (default 5 s), and
 * never sooner than FLUSH_COST_FACTOR (default 10) times the duration of the previous flush. A flush
 * rewrites each changed shard whole, and a first index changes all of them, so with a fixed interval
 * the number of flushes and the size of each both grow with the workspace (quadratic); tied to its own
 * cost, flushing takes at most ~1/10 of the run and the intervals grow geometrically. Lower = more
 * work kept after an interruption, higher = less time spent writing.
 */
const FLUSH_INTERVAL_MS = 5000;
const FLUSH_COST_FACTOR = 10;

/** Files whose symbols a background load adds between two pauses (see loadInMemory). */
const SYMBOL_SLICE = 2048;

/** A reader retries opening the catalog this many times when a writer replaced a shard under it. */
const READER_RETRIES = 5;

/** Skips whose cause can go away without the file's size or mtime changing (permissions, a link target). */
const RETRIED_SKIPS = new Set<SkipReason>(['unreadable', 'not-regular', 'symlink-outside']);

/** Top-level entries of an index folder and whether each is a folder. */
const INDEX_ENTRIES: Array<[string, boolean]> = [
  ['manifest.json', false],
  ['catalog', true],
  ['lexical.bin', false],
  ['files.bin', false],
  ['vectors', true],
  ['embeddings', true],
  ['stats.json', false],
  [INDEX_MARKER_FILE, false],
];

/** The embedding endpoint returned unusable vectors (zeros, NaN): a fault of the endpoint, not of the index. */
export class EmbeddingFaultError extends IndexError {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingFaultError';
  }
}

/** Why a vector cannot be stored (not finite, all zeros), or undefined when it is fine. */
export function vectorProblem(v: ArrayLike<number>): string | undefined {
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) return 'a vector with a non-finite value';
    norm += x * x;
  }
  return norm === 0 ? 'an all-zero vector' : undefined;
}

function isManifest(x: unknown): x is Manifest {
  const m = x as Partial<Manifest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.schemaVersion === 'number' &&
    typeof m.chunkerVersion === 'number' &&
    typeof m.lexicalVersion === 'number' &&
    typeof m.chunkChars === 'number' &&
    Array.isArray(m.roots) &&
    m.roots.every((r) => typeof r === 'string') &&
    (m.embedder === null || (typeof m.embedder === 'object' && typeof m.embedder?.id === 'string' && typeof m.embedder.dimensions === 'number'))
  );
}

function isScanStats(x: unknown): x is ScanStats {
  const s = x as Partial<ScanStats> | null;
  const isCounts = (o: unknown) => typeof o === 'object' && o !== null && !Array.isArray(o) && Object.values(o).every((v) => typeof v === 'number');
  const isSamples = (o: unknown) =>
    typeof o === 'object' && o !== null && !Array.isArray(o) && Object.values(o).every((v) => Array.isArray(v) && v.every((p) => typeof p === 'string'));
  return typeof s === 'object' && s !== null && typeof s.at === 'string' && isCounts(s.skipped) && isSamples(s.samples);
}

/** Real path of a folder that may not exist yet: its nearest existing ancestor resolved, plus the rest. */
async function realPathOfMaybeMissing(p: string): Promise<string> {
  let dir = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fsp.realpath(dir), ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return path.resolve(p);
      rest.push(path.basename(dir));
      dir = parent;
    }
  }
}

/**
 * The roots without repeats: the same folder given twice (also through a symbolic link), or a folder
 * inside another root, would index its files twice; such roots are dropped with a warning.
 */
function distinctRoots(roots: readonly WorkspaceRoot[], realRoots: readonly string[], logger: Logger): WorkspaceRoot[] {
  const kept: WorkspaceRoot[] = [];
  roots.forEach((r, i) => {
    const real = realRoots[i]!;
    const outer = roots.findIndex((o, j) => j !== i && isInside(realRoots[j]!, real) && (realRoots[j] !== real || j < i));
    if (outer >= 0) logger.warn(`Workspace folder ${r.dir} is inside (or the same as) ${roots[outer]!.dir}; it is indexed once, as part of that folder.`);
    else kept.push(r);
  });
  return kept;
}

/** A background load stopped because close() began. */
class LoadStopped extends Error {
  constructor() {
    super('the index was closed while it loaded');
    this.name = 'LoadStopped';
  }
}

type Settled<T> = { value: T } | { error: unknown; value?: undefined };

/** The outcome of `p` without rejecting: so a promise started early never goes unhandled. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
