/**
 * Persistent map content-hash → embedding for one embedder, so switching branches or reverting a file
 * re-embeds nothing.
 *
 * Design, and why: a cache bounded at 200k entries of 384-d vectors is ~300 MB, more than the whole
 * vector store's matrix, so it must neither live in memory nor be rewritten on every flush. The file is
 * an append-only log of checksummed batches; memory holds only hash → file offset (plus entries set
 * since the last flush), and `get` reads one vector with a positioned read (~µs from the page cache).
 * `flush` appends one or more batches and fsyncs; a crash mid-append leaves a torn last batch that the
 * next open detects by length/CRC and cuts off. Eviction (only when over the bound) rewrites the file
 * with {@link writeFileAtomic}. The cache assumes one writer: use it while holding the index lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from './types';
import { fnv1a32, writeFileAtomic } from './fsUtil';
import { crc32, validateVector, VectorStoreError } from './vectorCodec';
import { errMessage } from './errMessage';

function fsWrite(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}
const fsFsync = promisify(fs.fsync);
const fsOpen = promisify(fs.open);
const fsClose = promisify(fs.close);
const fsFtruncate = promisify(fs.ftruncate);

/**
 * Default entry bound. Range ≥ 1. Past it, `flush` evicts the least recently used entries. 200k entries
 * cover a large repository plus several branches' worth of changed chunks (~300 MB on disk at 384-d).
 */
export const DEFAULT_CACHE_MAX_ENTRIES = 200_000;

/**
 * Fraction of `maxEntries` freed by one eviction. Default 0.1, range (0, 1). Evicting just down to the
 * bound would rewrite the whole file on every later flush; 10% headroom amortises the rewrite.
 */
export const CACHE_EVICT_HEADROOM = 0.1;

/**
 * Entries per batch written by `flush`/compaction. Default 4096 (~6 MB at 384-d). Bounds the memory of
 * one write and of the CRC check on open; a torn batch loses at most this many entries.
 */
export const CACHE_BATCH_ENTRIES = 4096;

const FILE_MAGIC = 0x43455747; // "GWEC" little-endian
const BATCH_MAGIC = 0x42455747; // "GWEB"
const FILE_VERSION = 1;
const BATCH_HEADER = 12; // magic, count, key bytes
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Options of {@link EmbeddingCache.open}. */
export interface EmbeddingCacheOptions {
  /** Embedder identity (model id); the file name and header carry it, so models never mix. */
  embedderId: string;
  /** Vector length; `set` rejects other lengths with DimensionMismatchError. */
  dimensions: number;
  /** See {@link DEFAULT_CACHE_MAX_ENTRIES}. */
  maxEntries?: number;
  /** Receives the warning when the file is corrupt and the cache starts empty. */
  logger?: Logger;
}

function encodeHeader(embedderId: string, dims: number): Buffer {
  const id = Buffer.from(embedderId, 'utf8');
  const b = Buffer.alloc(16 + id.length + 4);
  b.writeUInt32LE(FILE_MAGIC, 0);
  b.writeUInt16LE(FILE_VERSION, 4);
  b.writeUInt32LE(dims, 8);
  b.writeUInt32LE(id.length, 12);
  id.copy(b, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 16 + id.length)), 16 + id.length);
  return b;
}

/** One batch: header, NUL-joined keys, vectors, CRC of everything after the magic. */
function encodeBatch(keys: string[], vectors: Float32Array[], dims: number): Buffer {
  const keyBlock = Buffer.from(keys.join('\0'), 'utf8');
  const vecOff = BATCH_HEADER + keyBlock.length;
  const total = vecOff + keys.length * dims * 4 + 4;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(BATCH_MAGIC, 0);
  b.writeUInt32LE(keys.length, 4);
  b.writeUInt32LE(keyBlock.length, 8);
  keyBlock.copy(b, BATCH_HEADER);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    if (LITTLE_ENDIAN) b.set(new Uint8Array(v.buffer, v.byteOffset, dims * 4), vecOff + i * dims * 4);
    else for (let j = 0; j < dims; j++) b.writeFloatLE(v[j]!, vecOff + (i * dims + j) * 4);
  }
  b.writeUInt32LE(crc32(b.subarray(4, total - 4)), total - 4);
  return b;
}

/** Persistent, size-bounded content-hash → vector cache for one embedder. See the file header. */
export class EmbeddingCache {
  /**
   * hash → file offset of its vector (flushed) or the vector itself (pending). Map order is recency:
   * oldest first; `get` and `set` move an entry to the end.
   */
  private readonly entries = new Map<string, number | Float32Array>();
  /** Keys whose vector is only in memory (set since the last successful flush). */
  private readonly pending = new Set<string>();
  private fd: number | undefined;
  private fileEnd = 0;
  /** Set when the file must be (re)created from scratch at the next flush (absent or corrupt). */
  private recreate = true;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly vecBytes: number;

  private constructor(
    /** The cache file. */
    readonly file: string,
    readonly embedderId: string,
    readonly dimensions: number,
    /** Entry bound, see {@link DEFAULT_CACHE_MAX_ENTRIES}. */
    readonly maxEntries: number,
    private readonly logger: Logger,
  ) {
    this.vecBytes = dimensions * 4;
  }

  /** File name used for an embedder: readable prefix, hash of the id, dimensions. */
  static fileName(embedderId: string, dimensions: number): string {
    return `embeddings-${fnv1a32(embedderId).toString(16).padStart(8, '0')}-${dimensions}.gwc`;
  }

  /**
   * Opens (or prepares to create) the cache file for this embedder in `dir`. A corrupt file never
   * throws: the cache starts empty with a warning (and a torn tail is cut off, keeping the good part).
   */
  static async open(dir: string, opts: EmbeddingCacheOptions): Promise<EmbeddingCache> {
    const dims = opts.dimensions;
    if (!Number.isInteger(dims) || dims < 1 || dims > 65536) throw new VectorStoreError(`dimensions must be an integer in 1..65536, got ${dims}`);
    if (typeof opts.embedderId !== 'string' || opts.embedderId.length === 0) throw new VectorStoreError('embedderId must be a non-empty string');
    const maxEntries = opts.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new VectorStoreError(`maxEntries must be a positive integer, got ${maxEntries}`);
    await fs.promises.mkdir(dir, { recursive: true });
    const cache = new EmbeddingCache(path.join(dir, EmbeddingCache.fileName(opts.embedderId, dims)), opts.embedderId, dims, maxEntries, opts.logger ?? silentLogger);
    await cache.load();
    return cache;
  }

  /** Number of cached vectors (flushed or not). */
  get size(): number {
    return this.entries.size;
  }

  /** True when `hash` is cached. Does not count as a use. */
  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  /**
   * The cached vector for a content hash, or undefined. Returns a fresh array for flushed entries and
   * the cached array itself for pending ones: do not mutate it. A read failure is logged and treated as
   * a miss (it is only a cache).
   */
  get(hash: string): Float32Array | undefined {
    this.assertOpen();
    const v = this.entries.get(hash);
    if (v === undefined) return undefined;
    let out: Float32Array;
    if (typeof v !== 'number') {
      out = v;
    } else {
      out = new Float32Array(this.dimensions);
      try {
        // No descriptor only during an eviction's file swap: a plain miss, the entry survives.
        if (this.fd === undefined) return undefined;
        const n = fs.readSync(this.fd, new Uint8Array(out.buffer), 0, this.vecBytes, v);
        if (n !== this.vecBytes) throw new Error(`short read (${n} of ${this.vecBytes} bytes)`);
      } catch (err) {
        this.logger.warn(`embedding cache ${this.file}: read failed (${errMessage(err)}); treating as a miss`);
        this.entries.delete(hash);
        return undefined;
      }
      if (!LITTLE_ENDIAN) {
        const dv = new DataView(out.buffer);
        for (let j = 0; j < this.dimensions; j++) out[j] = dv.getFloat32(j * 4, true);
      }
    }
    this.entries.delete(hash);
    this.entries.set(hash, v);
    return out;
  }

  /**
   * Caches `vector` (copied) under `hash`. An existing entry is only marked as used: a content hash
   * always embeds to the same vector for one embedder.
   * @throws DimensionMismatchError / InvalidVectorError for a bad vector.
   */
  set(hash: string, vector: Float32Array): void {
    this.assertOpen();
    if (typeof hash !== 'string' || hash.length === 0 || hash.includes('\0')) throw new VectorStoreError(`invalid cache key ${JSON.stringify(hash)}`);
    validateVector(vector, this.dimensions, `embedding cache entry ${hash}`);
    const existing = this.entries.get(hash);
    if (existing !== undefined) {
      this.entries.delete(hash);
      this.entries.set(hash, existing);
      return;
    }
    this.entries.set(hash, Float32Array.from(vector));
    this.pending.add(hash);
  }

  /** Appends pending entries to the file (fsync'ed), then evicts the oldest if over `maxEntries`. */
  async flush(): Promise<void> {
    this.assertOpen();
    const run = this.queue.then(() => this.flushNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Flushes, then closes the file (also when the flush fails, whose error is rethrown). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      const fd = this.fd;
      this.fd = undefined;
      this.entries.clear();
      this.pending.clear();
      if (fd !== undefined) await fsClose(fd);
    }
  }

  // ----- internals ---------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new VectorStoreError('embedding cache is closed');
  }

  private async load(): Promise<void> {
    let fd: number;
    try {
      fd = await fsOpen(this.file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(`embedding cache ${this.file}: cannot open (${errMessage(err)}); starting empty`);
      }
      return;
    }
    const size = (await fs.promises.stat(this.file)).size;
    const readAt = (pos: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      const n = fs.readSync(fd, b, 0, len, pos);
      return n === len ? b : b.subarray(0, n);
    };
    // Header.
    const fixed = readAt(0, 16);
    const idLen = fixed.length === 16 ? fixed.readUInt32LE(12) : 0;
    const headerLen = 16 + idLen + 4;
    let problem: string | undefined;
    if (fixed.length < 16 || fixed.readUInt32LE(0) !== FILE_MAGIC) problem = 'not a Groundwork embedding cache';
    else if (fixed.readUInt16LE(4) !== FILE_VERSION) problem = `unsupported version ${fixed.readUInt16LE(4)}`;
    else if (headerLen > size) problem = 'truncated header';
    else {
      const header = readAt(0, headerLen);
      if (crc32(header.subarray(0, headerLen - 4)) !== header.readUInt32LE(headerLen - 4)) problem = 'header checksum mismatch';
      else if (header.readUInt32LE(8) !== this.dimensions) problem = `written for ${header.readUInt32LE(8)} dimensions`;
      else if (header.toString('utf8', 16, 16 + idLen) !== this.embedderId) problem = `written for embedder ${header.toString('utf8', 16, 16 + idLen)}`;
    }
    if (problem) {
      this.logger.warn(`embedding cache ${this.file}: ${problem}; starting empty (it will be rewritten on the next flush)`);
      await fsClose(fd);
      return;
    }
    // Batches. A bad batch ends the usable log: keep what precedes it, cut the rest.
    let pos = headerLen;
    let bad: string | undefined;
    while (pos < size) {
      if (size - pos < BATCH_HEADER + 4) {
        bad = 'torn batch header';
        break;
      }
      const bh = readAt(pos, BATCH_HEADER);
      if (bh.readUInt32LE(0) !== BATCH_MAGIC) {
        bad = 'bad batch marker';
        break;
      }
      const count = bh.readUInt32LE(4);
      const keyBytes = bh.readUInt32LE(8);
      const len = BATCH_HEADER + keyBytes + count * this.vecBytes + 4;
      if (pos + len > size) {
        bad = 'torn batch';
        break;
      }
      const batch = readAt(pos, len);
      if (crc32(batch.subarray(4, len - 4)) !== batch.readUInt32LE(len - 4)) {
        bad = 'batch checksum mismatch';
        break;
      }
      const keys = count === 0 ? [] : batch.toString('utf8', BATCH_HEADER, BATCH_HEADER + keyBytes).split('\0');
      if (keys.length !== count) {
        bad = 'batch key count mismatch';
        break;
      }
      const vecStart = pos + BATCH_HEADER + keyBytes;
      for (let i = 0; i < count; i++) {
        const k = keys[i]!;
        this.entries.delete(k);
        this.entries.set(k, vecStart + i * this.vecBytes);
      }
      pos += len;
    }
    if (bad) {
      this.logger.warn(`embedding cache ${this.file}: ${bad} at byte ${pos} (interrupted write?); keeping ${this.entries.size} entries before it`);
      try {
        await fsFtruncate(fd, pos);
      } catch (err) {
        this.logger.warn(`embedding cache ${this.file}: cannot truncate (${errMessage(err)}); starting empty`);
        this.entries.clear();
        await fsClose(fd);
        return;
      }
    }
    this.fd = fd;
    this.fileEnd = pos;
    this.recreate = false;
  }

  private async flushNow(): Promise<void> {
    if (this.recreate) {
      // Absent or corrupt file: start a fresh one atomically (header only), then append as usual.
      if (this.pending.size === 0) return;
      const header = encodeHeader(this.embedderId, this.dimensions);
      await writeFileAtomic(this.file, header);
      this.fd = await fsOpen(this.file, 'r+');
      this.fileEnd = header.length;
      this.recreate = false;
    }
    if (this.pending.size > 0) {
      const fd = this.fd!;
      const start = this.fileEnd;
      // Snapshot: `set` may add keys while we await the writes; those wait for the next flush.
      const batchKeys = [...this.pending];
      let keys: string[] = [];
      let vecs: Float32Array[] = [];
      const placed: Array<[string, Float32Array, number]> = [];
      const writeBatch = async (): Promise<void> => {
        const b = encodeBatch(keys, vecs, this.dimensions);
        const vecStart = this.fileEnd + BATCH_HEADER + b.readUInt32LE(8);
        let off = 0;
        while (off < b.length) off += await fsWrite(fd, b, off, b.length - off, this.fileEnd + off);
        for (let i = 0; i < keys.length; i++) placed.push([keys[i]!, vecs[i]!, vecStart + i * this.vecBytes]);
        this.fileEnd += b.length;
        keys = [];
        vecs = [];
      };
      try {
        for (const k of batchKeys) {
          const v = this.entries.get(k);
          if (v === undefined || typeof v === 'number') continue;
          keys.push(k);
          vecs.push(v);
          if (keys.length >= CACHE_BATCH_ENTRIES) await writeBatch();
        }
        if (keys.length > 0) await writeBatch();
        await fsFsync(fd);
      } catch (err) {
        // Cut what this flush wrote so a retry does not leave duplicate records; entries stay pending.
        this.fileEnd = start;
        await fsFtruncate(fd, start).catch(() => undefined);
        throw err;
      }
      // Only now (data durable) switch entries to offsets; Map.set on an existing key keeps its order.
      for (const [k, v, off] of placed) {
        if (this.entries.get(k) === v) this.entries.set(k, off);
        this.pending.delete(k);
      }
      for (const k of batchKeys) if (!this.entries.has(k)) this.pending.delete(k);
    }
    if (this.entries.size > this.maxEntries) await this.evict();
  }

  /**
   * Rewrites the file with the most recently used entries only. Called after a flush (nothing pending)
   * when over the bound. Failure is logged, not thrown: the old file and offsets stay valid.
   */
  private async evict(): Promise<void> {
    const keep = Math.max(1, Math.floor(this.maxEntries * (1 - CACHE_EVICT_HEADROOM)));
    const drop = this.entries.size - keep;
    const oldFd = this.fd!;
    const header = encodeHeader(this.embedderId, this.dimensions);
    const next = new Map<string, number>();
    const dims = this.dimensions;
    const vecBytes = this.vecBytes;
    const entries = this.entries;
    const detachOldFile = (): void => {
      // Runs once the last chunk is consumed, before writeFileAtomic renames over the old file: the old
      // descriptor must be closed first on Windows, and `get` must not read from a closed (possibly
      // reused) descriptor, so it sees fd === undefined (a miss) until the new file is open.
      if (this.fd === oldFd) {
        this.fd = undefined;
        fs.closeSync(oldFd);
      }
    };
    // Chunks are produced lazily, reading each kept vector from the old file, so eviction holds at
    // most one batch in memory.
    function* chunks(): Generator<Uint8Array> {
      try {
        yield header;
        let pos = header.length;
        let keys: string[] = [];
        let vecs: Float32Array[] = [];
        const emit = (): Buffer => {
          const b = encodeBatch(keys, vecs, dims);
          const vecStart = pos + BATCH_HEADER + b.readUInt32LE(8);
          for (let i = 0; i < keys.length; i++) next.set(keys[i]!, vecStart + i * vecBytes);
          pos += b.length;
          keys = [];
          vecs = [];
          return b;
        };
        let i = 0;
        for (const [k, v] of entries) {
          if (i++ < drop) continue;
          let vec: Float32Array;
          if (typeof v === 'number') {
            vec = new Float32Array(dims);
            if (fs.readSync(oldFd, new Uint8Array(vec.buffer), 0, vecBytes, v) !== vecBytes) continue;
          } else vec = v;
          keys.push(k);
          vecs.push(vec);
          if (keys.length >= CACHE_BATCH_ENTRIES) yield emit();
        }
        if (keys.length > 0) yield emit();
      } finally {
        detachOldFile();
      }
    }
    try {
      await writeFileAtomic(this.file, chunks());
    } catch (err) {
      detachOldFile();
      this.logger.warn(`embedding cache ${this.file}: eviction failed (${errMessage(err)}); keeping all entries`);
      this.fd = await fsOpen(this.file, 'r+');
      return;
    }
    this.fd = await fsOpen(this.file, 'r+');
    this.fileEnd = (await fs.promises.stat(this.file)).size;
    // `set` may have added entries while the file was being written (between awaits); keep them pending.
    const late: Array<[string, Float32Array]> = [];
    for (const [k, v] of entries) if (typeof v !== 'number' && !next.has(k)) late.push([k, v]);
    entries.clear();
    for (const [k, off] of next) {
      entries.set(k, off);
      this.pending.delete(k);
    }
    for (const [k, v] of late) entries.set(k, v);
    this.logger.debug?.(`embedding cache ${this.file}: evicted ${drop} least recently used entries, kept ${next.size}`);
  }
}
