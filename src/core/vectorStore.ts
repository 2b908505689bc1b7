/**
 * The on-disk vector store: vectra as the storage layer, not the query engine.
 *
 * On disk the store is `shards` vectra LocalIndex folders, each holding one {@link BinaryVectorCodec}
 * file written through {@link AtomicFileStorage}; a file's vectors live in the shard picked by a stable
 * hash of its path, so re-indexing one file rewrites one small shard (~5 MB at 100k × 384 / 32 shards)
 * instead of the whole index. In memory the store keeps ONE contiguous Float32Array (row = item) plus
 * parallel id/path/hash arrays, and scores queries with the SIMD kernels of dotKernel.ts (plain-JS
 * fallback) and the top-k heap of topK.ts; vectra's own per-item query loop and its copy of the items are not kept
 * around. With the SIMD kernel, int8 codes of the rows sit next to the float matrix for an exact
 * pre-filter that skips most float rows per query (see {@link VectorStore.query}).
 *
 * The store does not lock: writers must hold `acquireLock` (indexLock.ts) on the index folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalIndex } from 'vectra/lib/LocalIndex';
import type { IndexItem } from 'vectra/lib/types';
import { silentLogger, type Logger } from './types';
import { AtomicFileStorage } from './atomicStorage';
import { DotKernel, Int8Kernel, quantizeRow } from './dotKernel';
import { TopK } from './topK';
import { isAtomicTempFile, shardOf, writeFileAtomic } from './fsUtil';
import {
  BinaryVectorCodec,
  crc32,
  IndexCorruptError,
  IndexMismatchError,
  parseShardConfig,
  SHARD_HEADER_BYTES,
  shardLayout,
  shardVectorOffset,
  VectorStoreError,
  validateVector,
  walkShardStrings,
  type ChunkVectorMetadata,
  type ShardLayout,
} from './vectorCodec';
import { errMessage } from './errMessage';
import { RowKeys } from './vectorRows';

// ---------------------------------------------------------------------------------------------------
// Tunables and names

/**
 * Default number of shards. Range 1-1024. More shards make a one-file update rewrite less data (the
 * shard is ~N/shards items) at the cost of more files and a few more syscalls on open. 32 keeps a shard
 * around 5 MB at 100k × 384-d, which rewrites in ~10-20 ms.
 */
export const DEFAULT_SHARDS = 32;

/**
 * Fraction of tombstoned rows in the in-memory matrix that triggers compaction. Default 0.25, range
 * (0, 1]. Replacing a file tombstones its old rows and appends new ones (O(new rows)); dead rows still
 * cost a flag check per query, so once a quarter are dead the live rows are moved down in one pass
 * (~40 ms at 100k × 384). Lower = more frequent compaction, higher = more wasted memory and scan.
 */
export const COMPACT_DEAD_RATIO = 0.25;

/**
 * Upper bound on the string comparisons vectra's `insertItem` may spend on its duplicate-id scan for one
 * shard update; above it the shard is rebuilt through the codec instead. Default 2,000,000 (~30-40 ms
 * measured), range ≥ 0 (0 = always bypass). vectra scans every existing item for each insert
 * (quadratic): a 20-item file update into a 3k-item shard costs 60k comparisons (<1 ms), but filling an
 * empty 3k shard costs ~60 ms and a 12.5k shard ~460 ms, so bulk loads take the direct path.
 */
export const VECTRA_INSERT_SCAN_BUDGET = 2_000_000;

/**
 * Age after which a leftover temp file in a shard folder is deleted on open. Default 10 minutes. A
 * live write finishes in well under a second, so anything this old is debris from a crash; younger
 * files may belong to a writer in another process and are left alone.
 */
export const TEMP_FILE_MAX_AGE_MS = 10 * 60 * 1000;

/**
 * In-memory precision of the scoring matrix. `float32`: the vectors as stored (exact scores, 4 bytes
 * per dimension). `int8`: each row quantised to int8 codes with one scale per row (1 byte per
 * dimension: 384 MB instead of 1.5 GB at 1M × 384); a query scores every row approximately, then
 * re-scores the best {@link INT8_RESCORE_FACTOR} × k (at least {@link INT8_RESCORE_MIN}) candidates
 * exactly with their float32 vectors read from the shard files, so returned scores are exact and
 * only the candidate set is approximate (recall@10 in docs/benchmarks.md). `auto`: int8 from
 * {@link INT8_AUTO_ROWS} stored vectors on, float32 below. The files on disk are float32 either way.
 */
export type VectorPrecision = 'float32' | 'int8' | 'auto';

/**
 * Stored vectors from which `auto` precision quantises to int8. Default 250,000 (~370 MB of float32
 * at 384-d, where the float matrix starts to dominate the process), range ≥ 0. Decided at open.
 */
export const INT8_AUTO_ROWS = 250_000;

/**
 * int8 candidates re-scored exactly per requested hit. Default 4 (k = 10 → 40, raised to
 * {@link INT8_RESCORE_MIN}), range ≥ 1. Higher = closer to exact search, one ~1.5 KB positioned read
 * of a float row per candidate.
 */
export const INT8_RESCORE_FACTOR = 4;

/** Minimum number of int8 candidates re-scored per query. Default 100, range ≥ 1. */
export const INT8_RESCORE_MIN = 100;

/**
 * float32 precision with the SIMD kernel: live rows from which a query goes through the int8
 * pre-filter (exact; see {@link VectorStore.query}) instead of scoring every float row. Default
 * 20,000, range ≥ 0. The store keeps int8 codes of every row next to the float matrix (+25% memory:
 * 37 MB at 95k × 384) whatever the row count, so the pre-filter is there as soon as the store grows;
 * below this many rows the full scan takes ~2 ms or less and the pre-filter's fixed costs (quantising
 * the query, two passes over the bounds) would not pay. Measured effect in docs/benchmarks.md.
 */
export const PREFILTER_MIN_ROWS = 20_000;

/**
 * Rows whose pre-filter codes a query computes, while the codes are incomplete, before it scores every
 * row. Default 16,384 (~15-25 ms at 384-d), range ≥ 1. Opening does not compute codes (it would add
 * ~0.1 s of CPU at 95k × 384 to every open, and a one-query process such as `groundwork search` would
 * never use them): the first ⌈rows / 16,384⌉ queries after an open compute them a slice each (6 at
 * 95k rows), then the pre-filter takes over. Rows added while the codes are complete get theirs at once.
 */
export const PREFILTER_CODE_SLICE_ROWS = 16_384;

/**
 * The pre-filter gives up and scores every row when more than this share of the live rows cannot be
 * ruled out (a query whose bounds do not separate: all-equal scores, a zero query). Default 0.25,
 * range (0, 1]. Either way the result is exact; this only bounds the pre-filter's wasted work.
 */
export const PREFILTER_MAX_SHARE = 0.25;

/**
 * Relative slack added to the pre-filter's bounds for floating-point rounding: the float32 kernel's
 * sum of 384 products in 16 lanes of 24 carries a relative error below 29 × 2⁻²⁴ ≈ 1.7e-6 of
 * ‖v‖·‖q‖ (and 1e-5 also covers up to ~2,700 dimensions; beyond, it is scaled with the dimensions).
 */
function prefilterSlack(dims: number): number {
  return Math.max(1e-5, (dims / 16 + 8) * 2 ** -23);
}

/**
 * Shard files read at once while opening. Default 4, range ≥ 1. Reads run in Node's thread pool (4
 * threads by default) while the main thread checks and unpacks the shards already read, so a few in
 * flight keep the disk and the CPU busy together; more only hold more read buffers (int8: one
 * {@link OPEN_PIECE_BYTES} buffer each; float32 reads go straight into the matrix).
 */
export const SHARD_READ_CONCURRENCY = 4;

/**
 * int8 precision: bytes of float32 rows read and quantised per step while opening. Default 1 MiB
 * (~680 rows at 384-d), range ≥ one row. The float rows never exist in memory all at once: this
 * buffer per shard read in flight is all there is of them.
 */
export const OPEN_PIECE_BYTES = 1 << 20;

/** Name of the store descriptor inside the index folder; written last on creation. */
export const STORE_META_FILE = 'vectors.json';
/** Name of the vector file inside each shard folder. */
export const SHARD_INDEX_FILE = 'index.gwv';
/** Version of the store layout (descriptor + shard naming + shard hash). */
export const STORE_FORMAT_VERSION = 1;
const STORE_FORMAT = 'groundwork-vectors';
const SHARD_HASH = 'fnv1a32';

interface StoreMeta {
  format: string;
  version: number;
  dimensions: number;
  shards: number;
  shardHash: string;
}

/** One stored chunk vector as given to {@link VectorStore.applyFileChanges}. */
export interface VectorItem {
  /** Chunk id, unique in the index (ids embed the path, so they are unique across files). */
  id: string;
  /** Content hash of the chunk. */
  hash: string;
  /** L2-normalised embedding of length `dimensions`. Copied; the caller may reuse the array. */
  vector: Float32Array;
}

/** Replace every vector of `path` with `items`; `null` (or `[]`) removes the path. */
export interface FileChange {
  path: string;
  items: VectorItem[] | null;
}

/** One query hit. `score` is the dot product, i.e. cosine similarity for normalised vectors. */
export interface VectorHit {
  id: string;
  path: string;
  hash: string;
  score: number;
}

/** Options of {@link VectorStore.open}. */
export interface VectorStoreOptions {
  /** Vector length; must match the files on disk, else {@link IndexMismatchError}. */
  dimensions: number;
  /** Shard count for a new store (see {@link DEFAULT_SHARDS}); must match an existing store. */
  shards?: number;
  /** Receives warnings (leftover files, repairs) and debug timings. */
  logger?: Logger;
  /**
   * Open without writing anything: no creation of a missing store (IndexCorruptError `missing` instead),
   * no cleanup of leftover temp files, and {@link VectorStore.applyFileChanges} throws. For processes
   * that only query (e.g. the CLI) and so do not take the writer lock. Default false.
   */
  readOnly?: boolean;
  /** See {@link VECTRA_INSERT_SCAN_BUDGET}; tests and benchmarks set it to force one write path. */
  vectraInsertScanBudget?: number;
  /** See {@link VectorPrecision}. Default `auto`. */
  precision?: VectorPrecision;
  /** Overrides {@link INT8_AUTO_ROWS} for `auto`. */
  int8AutoRows?: number;
  /** Overrides {@link INT8_RESCORE_FACTOR} and {@link INT8_RESCORE_MIN} (benchmarks measure recall with them). */
  int8Rescore?: { factor: number; min: number };
  /** Overrides {@link SHARD_READ_CONCURRENCY} and {@link OPEN_PIECE_BYTES} (benchmarks measure them). */
  openReads?: { concurrency?: number; pieceBytes?: number };
  /**
   * float32 precision: keep int8 codes of the rows for the exact pre-filter of {@link VectorStore.query}
   * (+1 byte per dimension per row). Default true; false scores every float row (and saves the memory).
   */
  prefilter?: boolean;
  /** Overrides {@link PREFILTER_MIN_ROWS} (tests and benchmarks: 0 = every query pre-filtered). */
  prefilterMinRows?: number;
}

/** How the queries of a store were answered so far, for benchmarks and profiles. */
export interface VectorQueryStats {
  /** Queries answered by scoring every float32 row. */
  fullScans: number;
  /** Queries answered through the int8 pre-filter. */
  prefiltered: number;
  /** Rows re-scored in float32 by those queries (sum). */
  prefilterCandidates: number;
  /** Pre-filtered queries that fell back to the full scan ({@link PREFILTER_MAX_SHARE}). */
  prefilterFallbacks: number;
}

function shardName(i: number): string {
  return `shard-${String(i).padStart(2, '0')}`;
}

function l2norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function checkKey(s: unknown, what: string): string {
  if (typeof s !== 'string' || s.length === 0) throw new VectorStoreError(`${what} must be a non-empty string`);
  if (s.includes('\0')) throw new VectorStoreError(`${what} contains a NUL character: ${JSON.stringify(s)}`);
  return s;
}

async function readMeta(file: string): Promise<StoreMeta | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IndexCorruptError('unreadable', errMessage(err), file, { cause: err });
  }
  try {
    const meta = JSON.parse(text) as StoreMeta;
    if (!meta || typeof meta !== 'object') throw new Error('not an object');
    return meta;
  } catch (err) {
    throw new IndexCorruptError('descriptor', 'store descriptor is not valid JSON', file, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------------
// Store

/** Sharded, crash-safe vector store with an in-memory contiguous scoring matrix. See the file header. */
export class VectorStore {
  private readonly storage = new AtomicFileStorage();
  private readonly codec: BinaryVectorCodec;
  /**
   * Row-major scores matrix; rows [0, rows) are used, some of them tombstoned (alive = 0). It lives
   * in WebAssembly memory when the SIMD kernel is available (see dotKernel.ts), else in a plain
   * Float32Array.
   */
  private get matrix(): Float32Array {
    return this.kernel ? this.kernel.matrix : this.jsMatrix;
  }
  private jsMatrix: Float32Array;
  private kernel: DotKernel | undefined;
  /** int8 precision only: codes (in WebAssembly memory when SIMD is available, else jsCodes). */
  private kernel8: Int8Kernel | undefined;
  private jsCodes = new Int8Array(0);
  /**
   * int8 precision only: per-row scale (code × scale ≈ value). (With the float32 pre-filter the
   * codes, scales and bound terms live in the float kernel's memory: `DotKernel.rowValues`.)
   */
  private rowScale = new Float32Array(0);
  private prefilterMinRows = PREFILTER_MIN_ROWS;
  /** float32 pre-filter: rows [0, coded) have their codes (see {@link PREFILTER_CODE_SLICE_ROWS}). */
  private coded = 0;
  private q16 = new Int16Array(0);
  private lowHeap = new Float64Array(0);
  private readonly stats: VectorQueryStats = { fullScans: 0, prefiltered: 0, prefilterCandidates: 0, prefilterFallbacks: 0 };
  /** int8 precision only: shard and position in its shard file of each row. */
  private rowShard = new Uint16Array(0);
  private rowPos = new Uint32Array(0);
  /**
   * int8 precision only: an open descriptor per shard file and the byte offset of its vectors. The
   * descriptor is the file the positions were read from: a writer that replaces the file (rename)
   * does not change what it reads, and this process swaps it after its own writes.
   */
  private shardFd: number[] = [];
  private shardVecOff: number[] = [];
  private readonly rowBuf: Float32Array;
  private rescoreFactor = INT8_RESCORE_FACTOR;
  private readConcurrency = SHARD_READ_CONCURRENCY;
  private pieceBytes = OPEN_PIECE_BYTES;
  private rescoreMin = INT8_RESCORE_MIN;
  private alive: Uint8Array;
  private capacity: number;
  private rows = 0;
  private dead = 0;
  /** Chunk id, path and hash of every row, packed (vectorRows.ts); strings are built for returned hits only. */
  private readonly keys = new RowKeys();
  /** Live item count per shard; checked against the shard file after every write. */
  private readonly shardLive: Int32Array;
  /** Serialises writers in this process; queries never wait. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    /** Folder holding the store. */
    readonly dir: string,
    /** Vector length. */
    readonly dimensions: number,
    /** Number of shards. */
    readonly shardCount: number,
    private readonly logger: Logger,
    initialCapacity: number,
    private readonly insertScanBudget: number,
    /** True when opened with `readOnly`: writes throw. */
    readonly readOnly: boolean,
    /** In-memory precision (`auto` resolved at open). */
    readonly precision: 'float32' | 'int8',
    prefilter = true,
  ) {
    this.codec = new BinaryVectorCodec(dimensions);
    this.capacity = Math.max(16, initialCapacity);
    this.rowBuf = new Float32Array(dimensions);
    this.alive = new Uint8Array(this.capacity);
    this.keys.reserve(this.capacity, 0);
    this.shardLive = new Int32Array(shardCount);
    this.jsMatrix = new Float32Array(0);
    if (precision === 'int8') {
      this.kernel8 = Int8Kernel.tryLoad(dimensions);
      if (this.kernel8) this.kernel8.reserve(this.capacity);
      else this.jsCodes = new Int8Array(this.capacity * dimensions);
      this.rowScale = new Float32Array(this.capacity);
      this.rowShard = new Uint16Array(this.capacity);
      this.rowPos = new Uint32Array(this.capacity);
      this.shardFd = new Array<number>(shardCount).fill(-1);
      this.shardVecOff = new Array<number>(shardCount).fill(0);
      return;
    }
    this.kernel = DotKernel.tryLoad(dimensions, { codes: prefilter });
    if (this.kernel) {
      this.kernel.reserve(this.capacity);
      this.jsMatrix = new Float32Array(0);
      if (this.kernel.hasCodes) this.q16 = new Int16Array(dimensions);
    } else {
      this.jsMatrix = new Float32Array(this.capacity * dimensions);
    }
  }

  private get codes(): Int8Array {
    return this.kernel8 ? this.kernel8.matrix : this.jsCodes;
  }

  /**
   * Opens the store in `dir`, creating it (folder, empty shards, descriptor) when absent, and loads every
   * shard into the scoring matrix.
   * @throws IndexMismatchError when the store was written with other dimensions, shard count or format.
   * @throws IndexCorruptError (with the shard path) when a shard is missing, truncated or fails its
   *   checksum; nothing is half-loaded. The caller should rebuild (see {@link VectorStore.destroy}).
   */
  static async open(dir: string, opts: VectorStoreOptions): Promise<VectorStore> {
    const dims = opts.dimensions;
    const shards = opts.shards ?? DEFAULT_SHARDS;
    const logger = opts.logger ?? silentLogger;
    if (!Number.isInteger(dims) || dims < 1 || dims > 65536) throw new VectorStoreError(`dimensions must be an integer in 1..65536, got ${dims}`);
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024) throw new VectorStoreError(`shards must be an integer in 1..1024, got ${shards}`);
    const t0 = performance.now();
    if (!opts.readOnly) await fs.promises.mkdir(dir, { recursive: true });
    const metaFile = path.join(dir, STORE_META_FILE);
    const meta = await readMeta(metaFile);
    const codec = new BinaryVectorCodec(dims);
    const storage = new AtomicFileStorage();
    if (!meta && opts.readOnly) throw new IndexCorruptError('missing', 'no vector store here (opened read-only)', metaFile);
    if (!meta) {
      // New store (or a creation that crashed before the descriptor was written: only empty shards
      // can exist then, so starting over loses nothing).
      for (let i = 0; i < shards; i++) {
        const li = new LocalIndex(path.join(dir, shardName(i)), SHARD_INDEX_FILE, storage, codec);
        await li.createIndex({ version: 1, deleteIfExists: true });
      }
      const fresh: StoreMeta = { format: STORE_FORMAT, version: STORE_FORMAT_VERSION, dimensions: dims, shards, shardHash: SHARD_HASH };
      await writeFileAtomic(metaFile, JSON.stringify(fresh, null, 2) + '\n');
    } else {
      if (meta.format !== STORE_FORMAT || meta.version !== STORE_FORMAT_VERSION || meta.shardHash !== SHARD_HASH) {
        throw new IndexMismatchError(
          'format-version',
          `store format ${meta.format}@${meta.version}/${meta.shardHash}, expected ${STORE_FORMAT}@${STORE_FORMAT_VERSION}/${SHARD_HASH}`,
          metaFile,
        );
      }
      if (meta.dimensions !== dims) throw new IndexMismatchError('dimensions', `store has ${meta.dimensions} dimensions, expected ${dims}`, metaFile);
      if (meta.shards !== shards) throw new IndexMismatchError('shards', `store has ${meta.shards} shards, expected ${shards}`, metaFile);
    }

    // Every shard's header first (all opened at once): the exact row count sizes the matrix once, so
    // loading never reallocates, and each shard's rows get their place before any is read.
    const files: string[] = [];
    for (let i = 0; i < shards; i++) files.push(path.join(dir, shardName(i), SHARD_INDEX_FILE));
    const heads = await openShards(files, dims);
    let total = 0;
    for (const h of heads) total += h.layout.count;
    const want = opts.precision ?? 'auto';
    const precision = want === 'auto' ? (total >= (opts.int8AutoRows ?? INT8_AUTO_ROWS) ? 'int8' : 'float32') : want;
    let store: VectorStore;
    try {
      store = new VectorStore(
        dir,
        dims,
        shards,
        logger,
        total,
        opts.vectraInsertScanBudget ?? VECTRA_INSERT_SCAN_BUDGET,
        opts.readOnly ?? false,
        precision,
        opts.prefilter ?? true,
      );
    } catch (err) {
      for (const h of heads) closeFd(h.fd);
      throw err;
    }
    if (opts.int8Rescore) {
      store.rescoreFactor = Math.max(0, opts.int8Rescore.factor);
      store.rescoreMin = Math.max(1, Math.floor(opts.int8Rescore.min));
    }
    if (opts.prefilterMinRows !== undefined) store.prefilterMinRows = Math.max(0, Math.floor(opts.prefilterMinRows));
    if (opts.openReads?.concurrency !== undefined) store.readConcurrency = Math.max(1, Math.floor(opts.openReads.concurrency));
    if (opts.openReads?.pieceBytes !== undefined) store.pieceBytes = Math.max(1, Math.floor(opts.openReads.pieceBytes));
    try {
      await store.loadShards(heads, files);
    } catch (err) {
      for (const h of heads) closeFd(h.fd);
      throw err;
    }
    if (!opts.readOnly) await store.removeOldTempFiles();
    logger.debug?.(`vector store: opened ${store.count} vectors (${store.precision}) in ${shards} shards in ${(performance.now() - t0).toFixed(0)} ms`);
    return store;
  }

  /**
   * Loads every shard into rows [0, total) in shard order, {@link SHARD_READ_CONCURRENCY} files at a
   * time. float32 rows are read straight into the scoring matrix; int8 rows are read in
   * {@link OPEN_PIECE_BYTES} pieces and quantised as they come. Ids, paths and hashes are unpacked
   * from the string block's bytes (vectorRows.ts) after the shard's checksum has passed. Every check
   * of the codec is made (length, magic, version, dimensions, CRC-32, config, string count) and each
   * path must be in its own shard, its items consecutive. On the first failure no further shard is
   * started, the ones under way finish, and the error (naming the file) is thrown.
   */
  private async loadShards(heads: OpenShard[], files: string[]): Promise<void> {
    const base: number[] = [];
    let total = 0;
    for (const h of heads) {
      base.push(total);
      total += h.layout.count;
    }
    let next = 0;
    let failure: IndexCorruptError | undefined;
    const workers = Math.min(this.readConcurrency, heads.length);
    // int8: each reader's piece of float rows (and their scales) lives in WebAssembly memory after the
    // codes, where the SIMD kernel quantises it; it is reserved before any read so memory never grows
    // (and never moves) under a read in flight. Without the kernel, a Buffer per reader.
    const rowBytes = this.dimensions * 4;
    const perPiece = Math.max(1, Math.floor(this.pieceBytes / rowBytes));
    const region = perPiece * rowBytes + perPiece * 4;
    const scratch = this.kernel8 ? this.kernel8.scratch(workers * region) : 0;
    const worker = async (w: number): Promise<void> => {
      let piece: Piece | undefined;
      if (this.precision === 'int8') {
        piece = this.kernel8
          ? { rows: perPiece, wasmOffset: scratch + w * region, bytes: this.kernel8.bytesAt(scratch + w * region, perPiece * rowBytes) }
          : { rows: perPiece, wasmOffset: -1, bytes: Buffer.allocUnsafeSlow(perPiece * rowBytes) };
      }
      while (failure === undefined && next < heads.length) {
        const i = next++;
        try {
          await this.loadShard(i, heads[i]!, base[i]!, piece);
        } catch (err) {
          failure ??= err instanceof IndexCorruptError ? err.withPath(files[i]!) : new IndexCorruptError('unreadable', errMessage(err), files[i], { cause: err });
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    if (failure !== undefined) throw failure;
    this.rows = total;
    this.alive.fill(1, 0, total);
    for (let i = 0; i < heads.length; i++) {
      this.shardLive[i] = heads[i]!.layout.count;
      if (this.precision === 'int8') {
        this.shardFd[i] = heads[i]!.fd;
        this.shardVecOff[i] = heads[i]!.layout.vecOff;
      } else closeFd(heads[i]!.fd);
      heads[i]!.fd = -1;
    }
  }

  /** Reads, checks and unpacks shard `i` into rows [base, base + count). See {@link loadShards}. */
  private async loadShard(i: number, head: OpenShard, base: number, piece: Piece | undefined): Promise<void> {
    const dims = this.dimensions;
    const L = head.layout;
    const { fd } = head;
    const rowBytes = dims * 4;
    let crc = crc32(head.header);
    const meta = Buffer.allocUnsafeSlow(L.vecOff - SHARD_HEADER_BYTES);
    await readFully(fd, meta, SHARD_HEADER_BYTES);
    crc = crc32(meta, crc);
    if (this.precision === 'float32') {
      const m = this.matrix;
      const dest = new Uint8Array(m.buffer, m.byteOffset + base * rowBytes, L.count * rowBytes);
      await readFully(fd, dest, L.vecOff);
      crc = crc32(dest, crc);
      if (!LITTLE_ENDIAN) Buffer.from(dest.buffer, dest.byteOffset, dest.length).swap32();
    } else {
      const { rows: perPiece, bytes: pieceBytes, wasmOffset } = piece!;
      const floats = new Float32Array(pieceBytes.buffer, pieceBytes.byteOffset, perPiece * dims);
      for (let k0 = 0; k0 < L.count; k0 += perPiece) {
        const n = Math.min(perPiece, L.count - k0);
        const bytes = pieceBytes.subarray(0, n * rowBytes);
        await readFully(fd, bytes, L.vecOff + k0 * rowBytes);
        crc = crc32(bytes, crc);
        if (!LITTLE_ENDIAN) Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).swap32();
        const r0 = base + k0;
        if (this.kernel8) {
          const scalesAt = wasmOffset + perPiece * rowBytes;
          this.kernel8.quantize(wasmOffset, n, r0, scalesAt);
          this.rowScale.set(new Float32Array(pieceBytes.buffer, scalesAt, n), r0);
        } else {
          const codes = this.codes;
          for (let k = 0; k < n; k++) this.rowScale[r0 + k] = quantizeRow(floats.subarray(k * dims, (k + 1) * dims), codes, (r0 + k) * dims, dims);
        }
        this.rowShard.fill(i, r0, r0 + n);
        for (let k = 0; k < n; k++) this.rowPos[r0 + k] = k0 + k;
      }
    }
    const trailer = Buffer.alloc(4);
    await readFully(fd, trailer, L.crcOff);
    if (crc !== trailer.readUInt32LE(0)) throw new IndexCorruptError('checksum', 'CRC-32 mismatch');
    // The checksum passed: what follows only finds writer bugs and misplaced files.
    parseShardConfig(meta, 0, L.configLen);
    this.unpackKeys(i, meta, L.configLen, L.configLen + L.stringLen, L.count, base);
  }

  /**
   * Unpacks the ids, paths and hashes of shard `i` (string block `b[from..to)`, `count` items) into the
   * row keys of rows [base, base + count). A path's string is built once per file.
   */
  private unpackKeys(i: number, b: Buffer, from: number, to: number, count: number, base: number): void {
    const keys = this.keys;
    let runFrom = -1;
    let runTo = -1;
    let slot = -1;
    let runStart = 0;
    walkShardStrings(b, from, to, count, (k, idFrom, idTo, pathFrom, pathTo, hashFrom, hashTo) => {
      if (slot < 0 || pathTo - pathFrom !== runTo - runFrom || b.compare(b, pathFrom, pathTo, runFrom, runTo) !== 0) {
        if (slot >= 0) keys.setFileCount(slot, k - runStart);
        const p = b.toString('utf8', pathFrom, pathTo);
        // A path in the wrong shard means the files were mixed up (copied from another store, renamed);
        // updates would then miss it, so refuse rather than serve stale vectors.
        const home = shardOf(p, this.shardCount);
        if (home !== i) throw new IndexCorruptError('misplaced', `item ${b.toString('utf8', idFrom, idTo)} of ${p} belongs in ${shardName(home)}`);
        // The writers keep a file's items together; anything else is not a file this store wrote.
        if (keys.rowsOf(p)) throw new IndexCorruptError('layout', `the items of ${p} are not consecutive`);
        slot = keys.addFile(p, base + k, 0);
        runFrom = pathFrom;
        runTo = pathTo;
        runStart = k;
      }
      keys.setRowFromBytes(base + k, slot, b, idFrom, idTo, pathFrom, pathTo, hashFrom, hashTo);
    });
    if (slot >= 0) keys.setFileCount(slot, count - runStart);
  }

  /**
   * Deletes the store's files (descriptor and shard folders) from `dir`, leaving other files in the
   * folder alone. Use before reopening after {@link IndexCorruptError} / {@link IndexMismatchError}.
   */
  static async destroy(dir: string): Promise<void> {
    // Descriptor first: without it a half-deleted store reads as "new" and is recreated cleanly.
    await fs.promises.rm(path.join(dir, STORE_META_FILE), { force: true });
    let entries: string[];
    try {
      entries = await fs.promises.readdir(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      if (/^shard-\d+$/.test(name)) await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }

  /** Number of live vectors. */
  get count(): number {
    return this.rows - this.dead;
  }

  /** Paths that have at least one vector, sorted. */
  pathsIndexed(): string[] {
    return [...this.keys.paths()].sort();
  }

  /** True when `path` has at least one vector. */
  hasPath(filePath: string): boolean {
    return this.keys.rowsOf(filePath) !== undefined;
  }

  /** Ids and content hashes stored for `path`, in insertion order (empty when absent). */
  itemsForPath(filePath: string): Array<{ id: string; hash: string }> {
    const range = this.keys.rowsOf(filePath);
    if (!range) return [];
    const out: Array<{ id: string; hash: string }> = [];
    for (let r = range[0]; r < range[0] + range[1]; r++) out.push({ id: this.keys.id(r), hash: this.keys.hash(r) });
    return out;
  }

  /** Rows whose id and hash are held as strings because they do not have the chunker's form (vectorRows.ts). */
  get unpackedRows(): number {
    return this.keys.oddRows;
  }

  /** Bytes used on disk by the descriptor and shard files (not by other files in the folder). */
  async sizeOnDisk(): Promise<number> {
    let total = 0;
    const files = [path.join(this.dir, STORE_META_FILE)];
    for (let i = 0; i < this.shardCount; i++) files.push(this.shardFile(i));
    for (const f of files) {
      try {
        total += (await fs.promises.stat(f)).size;
      } catch {
        // A file deleted underneath us counts as zero; open() reports real damage.
      }
    }
    return total;
  }

  /**
   * Replaces the vectors of each given path (`items: null` or `[]` removes the path). Everything is
   * validated first (vector lengths, finite values, ids, duplicate ids in the batch), so an invalid
   * batch writes nothing. Then each touched shard is rewritten exactly once, atomically, and the
   * in-memory matrix is updated right after its shard is on disk. If the same path appears twice, the
   * last entry wins.
   *
   * Atomicity is per shard: if a later shard fails (disk full), earlier shards keep their new content
   * and memory matches disk; the caller should treat the paths of the failed call as not indexed.
   * @throws DimensionMismatchError / InvalidVectorError / VectorStoreError on invalid input (nothing
   *   written); IndexCorruptError when a touched shard no longer decodes.
   */
  async applyFileChanges(changes: FileChange[]): Promise<void> {
    this.assertOpen();
    if (this.readOnly) throw new VectorStoreError('vector store was opened read-only');
    const run = this.queue.then(() => this.applyNow(changes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(changes: FileChange[]): Promise<void> {
    this.assertOpen();
    const byPath = new Map<string, VectorItem[]>();
    for (const change of changes) {
      const p = checkKey(change?.path, 'path');
      byPath.set(p, change.items ?? []);
    }
    const seenIds = new Set<string>();
    let newRows = 0;
    for (const [p, items] of byPath) {
      for (const item of items) {
        const id = checkKey(item?.id, `chunk id in ${p}`);
        checkKey(item.hash, `hash of ${id}`);
        validateVector(item.vector, this.dimensions, `chunk ${id}`);
        if (seenIds.has(id)) throw new VectorStoreError(`duplicate chunk id in one update: ${id}`);
        seenIds.add(id);
      }
      newRows += items.length;
    }
    const byShard = new Map<number, string[]>();
    for (const p of byPath.keys()) {
      const s = shardOf(p, this.shardCount);
      const list = byShard.get(s);
      if (list) list.push(p);
      else byShard.set(s, [p]);
    }
    this.reserve(newRows);
    for (const shard of [...byShard.keys()].sort((a, b) => a - b)) {
      await this.writeShard(shard, byShard.get(shard)!, byPath);
    }
    if (this.dead > 0 && this.dead > COMPACT_DEAD_RATIO * this.rows) this.compact();
  }

  /**
   * Rewrites one shard with the given paths replaced, then mirrors the change in memory. Small updates
   * go through vectra's update API; large ones (see {@link VECTRA_INSERT_SCAN_BUDGET}) are built here
   * and written through the same codec and storage, which is byte-for-byte what vectra would write.
   */
  private async writeShard(shard: number, shardPaths: string[], byPath: Map<string, VectorItem[]>): Promise<void> {
    const file = this.shardFile(shard);
    const changed = new Set(shardPaths);
    const li = new LocalIndex(path.join(this.dir, shardName(shard)), SHARD_INDEX_FILE, this.storage, this.codec);
    let finalItems: IndexItem[];
    try {
      await li.beginUpdate(); // loads the shard from disk: the file, not memory, is the base of the update
      const stats = await li.getIndexStats();
      const existing = await li.listItems();
      const doomed: string[] = [];
      const kept: IndexItem[] = [];
      for (const it of existing) {
        if (changed.has((it.metadata as unknown as ChunkVectorMetadata).path)) doomed.push(it.id);
        else kept.push(it);
      }
      let inserts = 0;
      for (const p of shardPaths) inserts += byPath.get(p)!.length;
      const scanCost = inserts * (kept.length + inserts / 2);
      if (scanCost <= this.insertScanBudget) {
        await li.deleteItems(doomed);
        for (const p of shardPaths) {
          for (const item of byPath.get(p)!) {
            const metadata: ChunkVectorMetadata = { path: p, hash: item.hash };
            // vectra types vectors as number[] but only reads length/[i]; the codec copies the values
            // into the file in endUpdate, and this LocalIndex is discarded right after.
            await li.insertItem({ id: item.id, vector: item.vector as unknown as number[], metadata: { ...metadata } });
          }
        }
        await li.endUpdate();
        finalItems = await li.listItems();
      } else {
        li.cancelUpdate();
        finalItems = kept;
        for (const p of shardPaths) {
          for (const item of byPath.get(p)!) {
            finalItems.push({ id: item.id, metadata: { path: p, hash: item.hash }, vector: item.vector as unknown as number[], norm: l2norm(item.vector) });
          }
        }
        await this.storage.upsertFile(file, this.codec.serializeIndex({ version: stats.version, metadata_config: stats.metadata_config, items: finalItems }));
      }
    } catch (err) {
      li.cancelUpdate();
      if (err instanceof IndexCorruptError) throw err.withPath(file);
      if (err instanceof VectorStoreError) throw err;
      throw new VectorStoreError(`${file}: writing shard failed: ${errMessage(err)}`, { cause: err });
    }

    // Mirror in memory: tombstone the old rows of each changed path, append the new ones.
    for (const p of shardPaths) this.removePath(shard, p);
    const added: IndexItem[] = [];
    for (const p of shardPaths) {
      for (const item of byPath.get(p)!) {
        added.push({ id: item.id, metadata: { path: p, hash: item.hash }, vector: item.vector as unknown as number[], norm: 0 });
      }
    }
    this.appendRows(shard, added, false);
    // int8: the re-scoring reads rows from the file just written; read it back through a descriptor
    // (the file is the truth if another writer raced us) and re-point the shard's rows at it.
    if (this.precision === 'int8') finalItems = await this.refreshPositions(shard);
    if (this.shardLive[shard] !== finalItems.length) {
      // Memory disagrees with the file we just wrote: another writer touched the shard (the lock was
      // not held). Resynchronise this shard from the file so memory never mixes in foreign vectors.
      this.logger.warn(
        `vector store: ${file} held ${finalItems.length} items but memory expected ${this.shardLive[shard]}; reloading the shard (is another process writing without the index lock?)`,
      );
      this.reloadShardRows(shard, finalItems);
    }
  }

  /**
   * Top-k by dot product (cosine for normalised vectors), best first; ties broken by id so results do
   * not depend on row order. Synchronous: scoring 100k × 384 takes ~30 ms in plain JS, ~7-10 ms with
   * the SIMD kernel, ~3-4 ms through the pre-filter.
   *
   * float32 precision with the SIMD kernel, from {@link PREFILTER_MIN_ROWS} live rows: an exact int8
   * pre-filter. Each row r also has int8 codes c (scale s, so v ≈ s·c) and the query is quantised
   * likewise (q ≈ t·d); with e = v − s·c and f = q − t·d,
   *   v·q = s·t·(c·d) + s·(c·f) + e·q,   |s·(c·f)| ≤ s‖c‖·‖f‖,   |e·q| ≤ ‖e‖·‖q‖
   * (Cauchy-Schwarz), so the integer dot product c·d gives every row an interval that holds its
   * exact score (widened by {@link prefilterSlack} for the float32 kernel's rounding). Any row whose
   * upper end is below the k-th largest lower end is beaten by k rows; the others are re-scored with
   * the float32 kernel's own arithmetic (bit-identical scores), so the result is exactly the full
   * scan's, ties included. The codes are a quarter of the float matrix's bytes, and the scan is
   * memory-bound.
   * @throws DimensionMismatchError / InvalidVectorError for a bad query vector.
   */
  query(vector: Float32Array, k: number): VectorHit[] {
    this.assertOpen();
    validateVector(vector, this.dimensions, 'query');
    const q = vector instanceof Float32Array ? vector : Float32Array.from(vector);
    const want = Math.min(Math.floor(k), this.count);
    if (!(want > 0)) return [];
    if (this.precision === 'int8') return this.queryInt8(q, want);
    let rows: Array<[number, number]> | undefined;
    if (this.kernel?.hasCodes && this.count >= this.prefilterMinRows) {
      if (this.coded < this.rows) {
        const n = Math.min(PREFILTER_CODE_SLICE_ROWS, this.rows - this.coded);
        this.codeRows(this.coded, n);
        this.coded += n;
      } else rows = this.topRowsPrefiltered(q, want);
    }
    if (!rows) {
      this.stats.fullScans++;
      rows = this.topRows(want, this.kernel ? this.kernel.score(q, this.rows) : undefined, q);
    }
    const hits: VectorHit[] = rows.map(([r, score]) => this.hit(r, score));
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits;
  }

  /**
   * int8 precision: approximate scores for every row (integer dot products of int8 codes, times the
   * row's scale), then the best candidates re-scored exactly with their float32 rows read from the
   * shard files (one positioned read each).
   */
  private queryInt8(q: Float32Array, want: number): VectorHit[] {
    const dims = this.dimensions;
    let qmax = 0;
    for (let j = 0; j < dims; j++) qmax = Math.max(qmax, Math.abs(q[j]!));
    const q16 = new Int16Array(dims);
    if (qmax > 0) for (let j = 0; j < dims; j++) q16[j] = Math.round((q[j]! * 127) / qmax);
    const rows = this.rows;
    let approx: Float32Array;
    if (this.kernel8) {
      const ints = this.kernel8.score(q16, rows);
      approx = new Float32Array(rows);
      for (let r = 0; r < rows; r++) approx[r] = ints[r]! * this.rowScale[r]!;
    } else {
      approx = new Float32Array(rows);
      const c = this.jsCodes;
      for (let r = 0, o = 0; r < rows; r++, o += dims) {
        let s = 0;
        for (let j = 0; j < dims; j++) s += c[o + j]! * q16[j]!;
        approx[r] = s * this.rowScale[r]!;
      }
    }
    const candidates = this.topRows(Math.min(this.count, Math.max(this.rescoreMin, want, Math.ceil(want * this.rescoreFactor))), approx, q);
    const buf = this.rowBuf;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, dims * 4);
    const hits: VectorHit[] = [];
    for (const [r] of candidates) {
      const shard = this.rowShard[r]!;
      const pos = this.shardVecOff[shard]! + this.rowPos[r]! * dims * 4;
      const n = fs.readSync(this.shardFd[shard]!, bytes, 0, bytes.length, pos);
      if (n !== bytes.length) throw new IndexCorruptError('truncated', `row ${this.rowPos[r]} of ${this.keys.id(r)} is past the end of the file`, this.shardFile(shard));
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      let j = 0;
      for (; j + 3 < dims; j += 4) {
        s0 += buf[j]! * q[j]!;
        s1 += buf[j + 1]! * q[j + 1]!;
        s2 += buf[j + 2]! * q[j + 2]!;
        s3 += buf[j + 3]! * q[j + 3]!;
      }
      for (; j < dims; j++) s0 += buf[j]! * q[j]!;
      // Same rounding as the float32 kernel's result (a float32 score), so both precisions agree.
      hits.push(this.hit(r, Math.fround(s0 + s1 + s2 + s3)));
    }
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.slice(0, want);
  }

  /**
   * Computes the pre-filter codes of every row now (benchmarks and tests; queries otherwise do it a
   * slice at a time, see {@link PREFILTER_CODE_SLICE_ROWS}). Nothing without codes.
   */
  completePrefilterCodes(): void {
    this.assertOpen();
    if (!this.kernel?.hasCodes || this.coded >= this.rows) return;
    this.codeRows(this.coded, this.rows - this.coded);
    this.coded = this.rows;
  }

  /** Counts of how queries were answered since open (a copy). */
  queryStats(): VectorQueryStats {
    return { ...this.stats };
  }

  /**
   * The exact `want` best live rows as [row, score] (unordered) through the int8 pre-filter (see
   * {@link query}), or undefined when the bounds rule out too few rows ({@link PREFILTER_MAX_SHARE})
   * and every row should be scored instead.
   */
  private topRowsPrefiltered(q: Float32Array, want: number): Array<[number, number]> | undefined {
    const kernel = this.kernel!;
    const dims = this.dimensions;
    this.stats.prefiltered++;
    let qmax = 0;
    let qq = 0;
    for (let j = 0; j < dims; j++) {
      const x = q[j]!;
      qq += x * x;
      if (Math.abs(x) > qmax) qmax = Math.abs(x);
    }
    if (qmax === 0) {
      this.stats.prefilterFallbacks++;
      return undefined;
    }
    const q16 = this.q16;
    const inv = 127 / qmax;
    const t = qmax / 127;
    let ff = 0;
    for (let j = 0; j < dims; j++) {
      const d = Math.round(q[j]! * inv);
      q16[j] = d;
      const f = q[j]! - d * t;
      ff += f * f;
    }
    // Row r's exact score lies in [lo[r], hi[r]] = ints[r]·t·scale[r] ± (codeNorm[r]·fa + codeErr[r]·eb).
    const slack = prefilterSlack(dims);
    const qNorm = Math.sqrt(qq) * (1 + 1e-9);
    const fa = Math.sqrt(ff) * (1 + 1e-9) + slack * qNorm;
    const eb = qNorm * (1 + slack);
    const rows = this.rows;
    const { lo, hi, list } = kernel.bounds(q16, rows, t, fa, eb);
    const alive = this.alive;
    // Pass 1: the want-th largest lower end (a min-heap of the want largest).
    if (this.lowHeap.length < want) this.lowHeap = new Float64Array(want);
    const h = this.lowHeap;
    let n = 0;
    for (let r = 0; r < rows; r++) {
      if (alive[r] === 0) continue;
      const x = lo[r]!;
      if (n < want) {
        let i = n++;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (h[p]! <= x) break;
          h[i] = h[p]!;
          i = p;
        }
        h[i] = x;
      } else if (x > h[0]!) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= want) break;
          const c = l + 1 < want && h[l + 1]! < h[l]! ? l + 1 : l;
          if (h[c]! >= x) break;
          h[i] = h[c]!;
          i = c;
        }
        h[i] = x;
      }
    }
    const bar = h[0]!;
    // Pass 2: every row whose upper end reaches the bar (the bar's own row among them: lo ≤ hi).
    const limit = Math.max(want, Math.floor(this.count * PREFILTER_MAX_SHARE));
    let m = 0;
    for (let r = 0; r < rows; r++) {
      if (alive[r] !== 0 && hi[r]! >= bar) {
        if (m >= limit) {
          this.stats.prefilterFallbacks++;
          return undefined;
        }
        list[m++] = r;
      }
    }
    this.stats.prefilterCandidates += m;
    const exact = kernel.scoreRows(q, rows, m);
    const top = new TopK(want, (a, b) => this.keys.idAfter(a, b));
    for (let i = 0; i < m; i++) top.push(exact[i]!, list[i]!);
    return top.entries();
  }

  /**
   * float32 pre-filter: the int8 codes, scales and bound terms of rows [first, first + n), from their
   * float rows, in WebAssembly (nothing without codes).
   */
  private codeRows(first: number, n: number): void {
    if (!this.kernel?.hasCodes || n <= 0) return;
    this.kernel.quantizeRows(first, n);
  }

  /** The hit of row `r`: its strings are built here, for returned rows only. */
  private hit(r: number, score: number): VectorHit {
    return { id: this.keys.id(r), path: this.keys.path(r), hash: this.keys.hash(r), score };
  }

  /**
   * The `want` best live rows as [row, score] (unordered): by `scores[r]` when given, else by the
   * float32 dot product with `q` computed here. Ties are broken by id so results do not depend on row
   * order.
   */
  private topRows(want: number, scores: Float32Array | undefined, q: Float32Array): Array<[number, number]> {
    const top = new TopK(want, (a, b) => this.keys.idAfter(a, b));
    const alive = this.alive;
    const dims = this.dimensions;
    const d4 = dims - (dims % 4);
    const rows = this.rows;
    const m = scores ? undefined : this.matrix;
    // With a scores array (SIMD kernel, int8 approximations) the loop below only keeps the top k;
    // without it, the dot product is computed inline.
    let o = 0;
    for (let r = 0; r < rows; r++, o += dims) {
      if (alive[r] === 0) continue;
      if (scores) {
        top.push(scores[r]!, r);
        continue;
      }
      // Four accumulators break the add dependency chain; measured 27 ms vs 39-60 ms for a plain loop
      // at 100k × 384 (8 accumulators measured no better).
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      let p = o;
      let j = 0;
      for (; j < d4; j += 4, p += 4) {
        s0 += m![p]! * q[j]!;
        s1 += m![p + 1]! * q[j + 1]!;
        s2 += m![p + 2]! * q[j + 2]!;
        s3 += m![p + 3]! * q[j + 3]!;
      }
      for (; j < dims; j++, p++) s0 += m![p]! * q[j]!;
      top.push(s0 + s1 + s2 + s3, r);
    }
    return top.entries();
  }

  /** Waits for pending writes, then releases memory. Further calls throw. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.jsMatrix = new Float32Array(0);
    this.kernel = undefined;
    this.kernel8 = undefined;
    this.jsCodes = new Int8Array(0);
    this.closeShardFiles();
    this.alive = new Uint8Array(0);
    this.keys.clear();
    this.rows = 0;
    this.dead = 0;
    this.capacity = 0;
  }

  // ----- internals ---------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new VectorStoreError('vector store is closed');
  }

  private shardFile(i: number): string {
    return path.join(this.dir, shardName(i), SHARD_INDEX_FILE);
  }

  /**
   * int8 precision: reads shard `i` through a descriptor that stays open for re-scoring, decodes it with
   * the same codec vectra uses, and records where its vectors start. The previous descriptor of the
   * shard (if any) is closed: positions assigned from these items refer to this file.
   */
  private async readShardForRows(i: number): Promise<IndexItem[]> {
    const file = this.shardFile(i);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new IndexCorruptError('missing', errMessage(err), file, { cause: err });
    }
    try {
      const buf = fs.readFileSync(fd);
      const items = this.codec.deserializeIndex(buf).items;
      const vecOff = shardVectorOffset(buf);
      const old = this.shardFd[i]!;
      this.shardFd[i] = fd;
      this.shardVecOff[i] = vecOff;
      if (old >= 0) fs.closeSync(old);
      return items;
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof IndexCorruptError) throw err.withPath(file);
      throw new IndexCorruptError('unreadable', errMessage(err), file, { cause: err });
    }
  }

  /** Closes the int8 re-scoring descriptors. */
  private closeShardFiles(): void {
    for (let i = 0; i < this.shardFd.length; i++) {
      const fd = this.shardFd[i]!;
      if (fd >= 0) {
        try {
          fs.closeSync(fd);
        } catch {
          // Already closed; nothing to release.
        }
      }
      this.shardFd[i] = -1;
    }
  }

  /** Ensures room for `n` more rows, compacting first when that frees enough, else growing 1.5×. */
  private reserve(n: number): void {
    if (this.rows + n <= this.capacity) return;
    if (this.dead > 0) this.compact();
    if (this.rows + n <= this.capacity) return;
    const cap = Math.max(this.rows + n, Math.ceil(this.capacity * 1.5), 1024);
    if (this.precision === 'int8') {
      if (this.kernel8) this.kernel8.reserve(cap);
      else {
        const c = new Int8Array(cap * this.dimensions);
        c.set(this.jsCodes.subarray(0, this.rows * this.dimensions));
        this.jsCodes = c;
      }
      this.rowScale = grow(this.rowScale, cap, this.rows);
      this.rowShard = grow(this.rowShard, cap, this.rows);
      this.rowPos = grow(this.rowPos, cap, this.rows);
    } else if (this.kernel) {
      // WebAssembly memory grows in place: existing rows stay where they are.
      this.kernel.reserve(cap);
    } else {
      const m = new Float32Array(cap * this.dimensions);
      m.set(this.jsMatrix.subarray(0, this.rows * this.dimensions));
      this.jsMatrix = m;
    }
    const a = new Uint8Array(cap);
    a.set(this.alive.subarray(0, this.rows));
    this.alive = a;
    this.keys.reserve(cap, this.rows);
    this.capacity = cap;
  }

  /**
   * Appends rows for `items` of `shard` (a file's items consecutive, each file without rows so far).
   * `inFileOrder`: the items are the shard file's, in its order, so their positions in it are known
   * (int8 re-scoring reads rows by position); otherwise the positions are set by
   * {@link VectorStore.refreshPositions} after the write.
   */
  private appendRows(shard: number, items: IndexItem[], inFileOrder: boolean): void {
    this.reserve(items.length);
    const dims = this.dimensions;
    const int8 = this.precision === 'int8';
    const codes = int8 ? this.codes : undefined;
    const m = int8 ? undefined : this.matrix;
    let slot = -1;
    let lastPath: string | undefined;
    const first = this.rows;
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      const md = item.metadata as unknown as ChunkVectorMetadata;
      const r = this.rows;
      if (md.path !== lastPath || slot < 0) {
        if (this.keys.rowsOf(md.path)) throw new IndexCorruptError('layout', `the items of ${md.path} are not consecutive`, this.shardFile(shard));
        let n = 1;
        while (k + n < items.length && (items[k + n]!.metadata as unknown as ChunkVectorMetadata).path === md.path) n++;
        slot = this.keys.addFile(md.path, r, n);
        lastPath = md.path;
      }
      this.rows++;
      if (codes) {
        this.rowScale[r] = quantizeRow(item.vector as unknown as Float32Array, codes, r * dims, dims);
        this.rowShard[r] = shard;
        this.rowPos[r] = inFileOrder ? k : 0;
      } else m!.set(item.vector, r * dims);
      this.alive[r] = 1;
      this.keys.setRow(r, slot, item.id, md.hash);
    }
    // Codes complete so far: keep them complete (the pre-filter stays usable); else the queries' slices catch up.
    if (!int8 && this.coded === first) {
      this.codeRows(first, items.length);
      this.coded = this.rows;
    }
    this.shardLive[shard]! += items.length;
  }

  private removePath(shard: number, filePath: string): void {
    const range = this.keys.removeFile(filePath);
    if (!range) return;
    const [first, count] = range;
    this.alive.fill(0, first, first + count);
    this.dead += count;
    this.shardLive[shard]! -= count;
  }

  private reloadShardRows(shard: number, items: IndexItem[]): void {
    for (const p of [...this.keys.paths()]) {
      if (shardOf(p, this.shardCount) === shard) this.removePath(shard, p);
    }
    this.shardLive[shard] = 0;
    this.appendRows(shard, items, true);
  }

  /**
   * int8 precision, after this process rewrote `shard`: re-opens the file (the positions of kept rows
   * moved) and returns its items; each live row of the shard gets its position in the new file.
   */
  private async refreshPositions(shard: number): Promise<IndexItem[]> {
    const items = await this.readShardForRows(shard);
    // One file's items are consecutive: match them to the file's rows by id, one file at a time.
    for (let k = 0; k < items.length;) {
      const p = (items[k]!.metadata as unknown as ChunkVectorMetadata).path;
      const posById = new Map<string, number>();
      for (; k < items.length && (items[k]!.metadata as unknown as ChunkVectorMetadata).path === p; k++) posById.set(items[k]!.id, k);
      const range = this.keys.rowsOf(p);
      if (!range) continue;
      for (let r = range[0]; r < range[0] + range[1]; r++) {
        const pos = posById.get(this.keys.id(r));
        if (pos !== undefined) this.rowPos[r] = pos;
      }
    }
    return items;
  }

  /** Moves live rows down over dead ones (order preserved, so each file's rows stay consecutive). */
  private compact(): void {
    const dims = this.dimensions;
    let w = 0;
    // Rows keep their order, so the live rows that had codes are again the first ones.
    let coded = 0;
    for (let r = 0; r < this.rows; r++) {
      if (this.alive[r] === 0) continue;
      if (r < this.coded) coded++;
      this.keys.move(r, w);
      if (w !== r) {
        if (this.precision === 'int8') {
          this.codes.copyWithin(w * dims, r * dims, (r + 1) * dims);
          this.rowScale[w] = this.rowScale[r]!;
          this.rowShard[w] = this.rowShard[r]!;
          this.rowPos[w] = this.rowPos[r]!;
        } else {
          this.matrix.copyWithin(w * dims, r * dims, (r + 1) * dims);
          if (this.kernel?.hasCodes) {
            this.kernel.codes.copyWithin(w * dims, r * dims, (r + 1) * dims);
            const { scale, norm, err } = this.kernel.rowValues;
            scale[w] = scale[r]!;
            norm[w] = norm[r]!;
            err[w] = err[r]!;
          }
        }
      }
      w++;
    }
    this.alive.fill(1, 0, w);
    this.alive.fill(0, w, this.rows);
    this.rows = w;
    this.coded = coded;
    this.dead = 0;
  }

  private async removeOldTempFiles(): Promise<void> {
    const now = Date.now();
    const dirs = [this.dir];
    for (let i = 0; i < this.shardCount; i++) dirs.push(path.join(this.dir, shardName(i)));
    for (const d of dirs) {
      let names: string[];
      try {
        names = await fs.promises.readdir(d);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!isAtomicTempFile(name)) continue;
        const f = path.join(d, name);
        try {
          if (now - (await fs.promises.stat(f)).mtimeMs < TEMP_FILE_MAX_AGE_MS) continue;
          await fs.promises.unlink(f);
          this.logger.warn(`vector store: removed leftover temp file ${f} (from an interrupted write)`);
        } catch {
          // Raced with another cleanup or a permission problem; harmless.
        }
      }
    }
  }
}

/** A copy of `a` with length `cap`, keeping its first `used` values. */
function grow<T extends Float32Array | Uint16Array | Uint32Array>(a: T, cap: number, used: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a.subarray(0, used));
  return b;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One reader's buffer of float rows while opening at int8 precision (in WebAssembly memory when `wasmOffset` ≥ 0). */
interface Piece {
  rows: number;
  bytes: Uint8Array;
  wasmOffset: number;
}

/** A shard file opened for loading: its descriptor, its first bytes and their layout. */
interface OpenShard {
  fd: number;
  header: Buffer;
  layout: ShardLayout;
}

function openFd(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fstatSize(fd: number): Promise<number> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))));
}

function readAt(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Fills `buf` from byte `position` of the file. @throws IndexCorruptError `truncated` when the file ends first. */
async function readFully(fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await readAt(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new IndexCorruptError('truncated', `the file ended at ${position + done} bytes while being read`);
    done += n;
  }
}

function closeFd(fd: number): void {
  if (fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed; nothing to release.
  }
}

/**
 * Opens every shard file and checks its header against its size (all at once); on any failure the
 * opened descriptors are closed and the first failure in shard order is thrown, naming the file.
 */
async function openShards(files: string[], dims: number): Promise<OpenShard[]> {
  const settled = await Promise.allSettled(
    files.map(async (file): Promise<OpenShard> => {
      let fd: number;
      try {
        fd = await openFd(file);
      } catch (err) {
        throw new IndexCorruptError('missing', 'shard file is missing', file, { cause: err });
      }
      try {
        const size = await fstatSize(fd);
        const header = Buffer.alloc(Math.min(size, SHARD_HEADER_BYTES));
        await readFully(fd, header, 0);
        return { fd, header, layout: shardLayout(header, size, dims) };
      } catch (err) {
        closeFd(fd);
        if (err instanceof IndexCorruptError) throw err.withPath(file);
        throw new IndexCorruptError('unreadable', errMessage(err), file, { cause: err });
      }
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of settled) if (r.status === 'fulfilled') closeFd(r.value.fd);
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<OpenShard>).value);
}
