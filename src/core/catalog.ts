/**
 * The catalog: what the index knows about each file (size, mtime, content hash, chunks), stored in
 * shards chosen by a hash of the path so one file's change rewrites one small shard.
 *
 * Each shard is two files: `shard-NN.json` (metadata) and `shard-NN.g<gen>.txt` (all chunk texts of
 * the shard, concatenated). Keeping the texts out of the JSON halves re-open time (at 87k chunks
 * parsing 78 MB of JSON took 730 ms), and texts are decoded lazily, per chunk, from the shard's
 * bytes when first read (decoding ~100 MB of text took ~200 ms of every re-open); see
 * docs/benchmarks.md. `shard-NN.json` is a header line (JSON: generation, text file, and one row per
 * file: path, offset, length and CRC-32 of its record, chunk count) followed by one JSON record per
 * file; each chunk records its text's offset, length and CRC-32. A writer reads and checks it all; a
 * read-only open with `lazy` reads the header lines only and decodes files and texts on demand (at
 * 954k chunks the full decode was ~2.5 s and ~0.9 GB). The text file's name carries the
 * generation, and the JSON (written second, atomically) names it, so a crash between the two writes
 * leaves the previous, consistent pair; orphaned text files are removed on open.
 */
import { hash16 } from './hash';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { Chunk, ChunkMethod } from './types';
import type { SkipReason } from './skipReasons';
import { readWholeFile, shardOf, writeFileAtomic } from './fsUtil';
import { crc32 } from './vectorCodec';
import { errMessage } from './errMessage';

/** Number of catalog shards. 32 keeps each shard ~1-3 MB on a 10k-file workspace. */
export const CATALOG_SHARDS = 32;
/**
 * 6: chunk ids are not stored when they are the usual `<path>#L<a>-L<b>#<hash8>` (they were ~30% of the JSON).
 * 7: a header line (with a table of the files: path, record offset, length, CRC-32, chunk count) then
 * one JSON record per file, and a CRC-32 per chunk text, so a reader decodes files on demand.
 */
const SHARD_FORMAT = 7;

/** Decoded files a lazily opened catalog keeps (least recently used dropped first). */
const LAZY_CACHED_FILES = 8192;

/** An indexed file. */
export interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
  /** sha256 (16 hex) of the decoded text. */
  contentHash: string;
  language: string;
  method: ChunkMethod;
  fallbackReason?: string;
  chunks: Chunk[];
}

/** A file whose content was read and rejected (binary, minified…); kept so it is not re-read. */
export interface SkippedEntry {
  path: string;
  size: number;
  mtimeMs: number;
  reason: SkipReason;
  detail?: string;
}

/**
 * A chunk as stored: path and language come from its file; text lives in the text file. The id is
 * stored only as what follows {@link chunkIdPrefix} (`x`: '' or a split piece's `@part`), or whole
 * (`id`) in the unexpected case that it does not start with that prefix.
 */
interface StoredChunk {
  id?: string;
  x?: string;
  startLine: number;
  endLine: number;
  symbols: string[];
  header: string;
  hash: string;
  /** Byte offset, byte length (UTF-8) and CRC-32 of the text in the shard's text file. */
  t: [number, number, number];
}

interface StoredFile extends Omit<FileEntry, 'chunks'> {
  chunks: StoredChunk[];
}

/** A file's row in a shard's header: path, record offset (from the end of the header line), record length, record CRC-32, chunk count. */
type FileRow = [path: string, offset: number, length: number, crc: number, chunks: number];

/**
 * The first line of a shard file. The file is this header as JSON, a newline, then each file's
 * record (a {@link StoredFile} as JSON) at the offset its row gives, `recordsLength` bytes in all.
 */
interface ShardHeader {
  format: number;
  gen: number;
  /** Name and byte length of the text file. */
  textFile: string;
  textLength: number;
  /** CRC-32 of the text file: same-size garbling (a disk error, an editor) is detected on a full open. */
  textCrc: number;
  recordsLength: number;
  files: FileRow[];
  skipped: SkippedEntry[];
}

/** Where a chunk's text is read from: the shard's bytes in memory, or its text file on demand. */
interface TextSource {
  text(start: number, length: number, crc: number, chunkId: () => string): string;
  /** False: the decoded text is not kept on the chunk (it is re-read from bytes this source holds). */
  readonly keep?: boolean;
}

/**
 * A chunk loaded from the catalog: its text is decoded from the shard's bytes on first read, so
 * opening an index does not decode every chunk. `text` is a getter: copy it explicitly when the chunk
 * crosses a thread or process boundary (structured clone drops getters).
 */
class StoredChunkText implements Chunk {
  private storedId: string | undefined;
  private readonly idSuffix: string;
  readonly startLine: number;
  readonly endLine: number;
  readonly symbols: string[];
  readonly header: string;
  readonly hash: string;
  private decoded: string | undefined;
  private readonly start: number;
  private readonly length: number;
  private readonly crc: number;

  constructor(
    c: StoredChunk,
    readonly path: string,
    readonly language: string,
    private readonly source: TextSource,
  ) {
    this.storedId = c.id;
    this.idSuffix = c.x ?? '';
    this.startLine = c.startLine;
    this.endLine = c.endLine;
    this.symbols = c.symbols;
    this.header = c.header;
    this.hash = c.hash;
    this.start = c.t[0];
    this.length = c.t[1];
    this.crc = c.t[2];
  }

  get text(): string {
    if (this.decoded !== undefined) return this.decoded;
    const text = this.source.text(this.start, this.length, this.crc, () => this.id);
    if (this.source.keep !== false) this.decoded = text;
    return text;
  }

  /** Built on first read: opening an index creates no id strings. */
  get id(): string {
    return (this.storedId ??= chunkIdPrefix(this.path, this.startLine, this.endLine, this.hash) + this.idSuffix);
  }
}

/** The part of a chunk id the chunker derives from its path, lines and hash (chunker/emission.ts). */
function chunkIdPrefix(filePath: string, startLine: number, endLine: number, hash: string): string {
  return `${filePath}#L${startLine}-L${endLine}#${hash.slice(0, 8)}`;
}

/** How a chunk's id is stored: the suffix after {@link chunkIdPrefix}, or the whole id. */
function storedId(c: Chunk): { id: string } | { x: string } | Record<string, never> {
  const prefix = chunkIdPrefix(c.path, c.startLine, c.endLine, c.hash);
  if (!c.id.startsWith(prefix)) return { id: c.id };
  return c.id.length === prefix.length ? {} : { x: c.id.slice(prefix.length) };
}

/** One shard as read from disk, checked (format, shape, text length and checksum). */
interface LoadedShard {
  file: string;
  header: ShardHeader;
  files: StoredFile[];
  texts: Buffer;
}

/** A shard opened lazily: its header, and descriptors of its file and its text file (held until close). */
interface LazyShard {
  file: string;
  header: ShardHeader;
  fd: number;
  /** Byte offset of the first record (after the header line). */
  recordsStart: number;
  /** Chunk texts read one by one (each checked against its CRC). */
  texts: TextSource;
  /** Raw bytes of the text file (unchecked; `what` names them in an error). */
  readText(start: number, length: number, what: () => string): Buffer;
  textFd: number;
}

/** A plain copy of a chunk (text included), safe to post to another thread or serialize. */
export function plainChunk(c: Chunk): Chunk {
  return { id: c.id, path: c.path, language: c.language, startLine: c.startLine, endLine: c.endLine, symbols: c.symbols, header: c.header, text: c.text, hash: c.hash };
}

export class CatalogCorruptError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`catalog shard ${file} is unreadable (${reason})`);
    this.name = 'CatalogCorruptError';
  }
}

export function contentHash(text: string): string {
  return hash16(text);
}

export class Catalog {
  /** Every file, decoded (a lazily opened catalog decodes them all on first use: see {@link file}). */
  get files(): Map<string, FileEntry> {
    if (!this.filesMap) {
      const all = new Map<string, FileEntry>();
      for (const p of this.lazy!.paths) all.set(p, this.decodeFile(p));
      this.filesMap = all;
    }
    return this.filesMap;
  }
  private filesMap: Map<string, FileEntry> | undefined = new Map();
  readonly skipped = new Map<string, SkippedEntry>();
  /** Set when opened with `lazy`: shards whose files are decoded on demand. */
  private lazy:
    { shards: Array<LazyShard | undefined>; where: Map<string, [shard: number, row: number]>; paths: string[]; chunks: number; cache: Map<string, FileEntry> } | undefined;
  /** Paths (files and skipped) per shard, so a flush touches only the changed shards' entries. */
  private readonly members: Array<Set<string>> = Array.from({ length: CATALOG_SHARDS }, () => new Set<string>());
  private readonly gens: number[] = new Array<number>(CATALOG_SHARDS).fill(0);
  private readonly dirty = new Set<number>();

  private constructor(private readonly dir: string) {}

  /** A catalog with nothing in it (a reader's view of an index it cannot use). */
  static empty(dir: string): Catalog {
    return new Catalog(dir);
  }

  /**
   * Loads every shard; throws {@link CatalogCorruptError} on a truncated, garbled, wrong-shape or
   * foreign file. With `readOnly` nothing is created or removed (a writer may be mid-flush). `pace`
   * is awaited before each shard's entries are built (it may yield, or throw to stop the open).
   */
  static async open(dir: string, opts: { readOnly?: boolean; lazy?: boolean; pace?: () => Promise<void> } = {}): Promise<Catalog> {
    if (opts.lazy) return Catalog.openLazy(dir);
    const catalog = new Catalog(dir);
    if (!opts.readOnly) await fsp.mkdir(dir, { recursive: true });
    const referenced = new Set<string>();
    const read = (i: number) =>
      catalog.readShard(i).then(
        (shard) => ({ shard, err: undefined }),
        (err: unknown) => ({ shard: undefined, err: err instanceof Error ? err : new Error(String(err)) }),
      );
    // All shards are read concurrently (the reads overlap the parsing); errors are then reported
    // in shard order, as a sequential open would. Paced (a writer loading behind a read-only view,
    // workspaceIndex.ts), one shard is read while the previous one is built, with a pause between
    // the two, so a search waits for one shard's work at most.
    const pace = opts.pace;
    const loaded = pace ? undefined : await Promise.all(Array.from({ length: CATALOG_SHARDS }, (_, i) => read(i)));
    let next = pace ? read(0) : undefined;
    for (let i = 0; i < CATALOG_SHARDS; i++) {
      let outcome = loaded?.[i];
      if (pace) {
        outcome = await next!;
        next = i + 1 < CATALOG_SHARDS ? read(i + 1) : undefined;
        await pace();
      }
      const { shard, err } = outcome!;
      if (err !== undefined) throw err;
      if (!shard) continue;
      const { file, header, files, texts } = shard;
      referenced.add(header.textFile);
      catalog.gens[i] = header.gen;
      const source: TextSource = { text: (start, length) => texts.toString('utf8', start, start + length) };
      for (const f of files) {
        const chunks: Chunk[] = f.chunks.map((c) => {
          const chunk = new StoredChunkText(c, f.path, f.language, source);
          if (c.t[0] + c.t[1] > texts.length) throw new CatalogCorruptError(file, `chunk ${chunk.id} lies outside its text file`);
          return chunk;
        });
        catalog.files.set(f.path, { ...f, chunks });
        catalog.members[i]!.add(f.path);
      }
      for (const s of header.skipped) {
        catalog.skipped.set(s.path, s);
        catalog.members[i]!.add(s.path);
      }
    }
    // Text files of generations that no JSON names (an interrupted write) are garbage. A reader
    // leaves them: they may be a writer's next generation.
    if (opts.readOnly) return catalog;
    for (const name of await fsp.readdir(dir)) {
      if (name.endsWith('.txt') && !referenced.has(name)) await fsp.rm(path.join(dir, name), { force: true });
    }
    return catalog;
  }

  /** Reads and checks shard `i` whole (every record and the text file's checksum); undefined when it does not exist. */
  private async readShard(i: number): Promise<LoadedShard | undefined> {
    const file = this.shardFile(i);
    let raw: Buffer;
    try {
      raw = await readWholeFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CatalogCorruptError(file, errMessage(err));
    }
    const nl = raw.indexOf(10);
    if (nl < 0) throw new CatalogCorruptError(file, 'it has no header line (truncated?)');
    const header = parseHeader(file, raw.subarray(0, nl));
    if (raw.length !== nl + 1 + header.recordsLength) throw new CatalogCorruptError(file, `it has ${raw.length} bytes, expected ${nl + 1 + header.recordsLength} (truncated?)`);
    const files = header.files.map((row) => decodeRecord(file, row, raw.subarray(nl + 1 + row[1], nl + 1 + row[1] + row[2])));
    let texts: Buffer;
    try {
      texts = await readWholeFile(path.join(this.dir, path.basename(header.textFile)));
    } catch (err) {
      throw new CatalogCorruptError(file, `its text file is missing (${errMessage(err)})`);
    }
    if (texts.length !== header.textLength) throw new CatalogCorruptError(file, `its text file has ${texts.length} bytes, expected ${header.textLength}`);
    if (crc32(texts) !== header.textCrc) throw new CatalogCorruptError(file, 'its text file fails its checksum');
    return { file, header, files, texts };
  }

  /**
   * A read-only catalog that reads only the shards' header lines: files are decoded when asked for
   * ({@link file}, a few kept), chunk texts read from the text files when read, each checked against
   * its CRC-32 (a failing one throws {@link CatalogCorruptError}). The shard and text files are opened
   * here and held until {@link close}: a writer replacing them (by rename, to new names) does not
   * change what this catalog reads.
   */
  private static async openLazy(dir: string): Promise<Catalog> {
    const catalog = new Catalog(dir);
    const opened: LazyShard[] = [];
    try {
      const shards = await Promise.all(Array.from({ length: CATALOG_SHARDS }, (_, i) => catalog.openShard(i).then((s) => (s && opened.push(s), s))));
      const where = new Map<string, [number, number]>();
      const paths: string[] = [];
      let chunks = 0;
      shards.forEach((shard, i) => {
        if (!shard) return;
        catalog.gens[i] = shard.header.gen;
        shard.header.files.forEach((row, r) => {
          where.set(row[0], [i, r]);
          paths.push(row[0]);
          catalog.members[i]!.add(row[0]);
          chunks += row[4];
        });
        for (const sk of shard.header.skipped) {
          catalog.skipped.set(sk.path, sk);
          catalog.members[i]!.add(sk.path);
        }
      });
      catalog.lazy = { shards, where, paths, chunks, cache: new Map() };
      catalog.filesMap = undefined;
      return catalog;
    } catch (err) {
      for (const s of opened) closeShard(s);
      throw err;
    }
  }

  /** Opens shard `i` for {@link openLazy}: its header line, and its text file's descriptor (size checked). */
  private async openShard(i: number): Promise<LazyShard | undefined> {
    const file = this.shardFile(i);
    let fd: number;
    try {
      fd = await fsOpen(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CatalogCorruptError(file, errMessage(err));
    }
    let textFd: number | undefined;
    try {
      const size = (await fsFstat(fd)).size;
      let head = Buffer.alloc(0);
      let nl = -1;
      for (let want = 64 * 1024; nl < 0 && head.length < size; want *= 4) {
        const more = Buffer.allocUnsafe(Math.min(want, size - head.length));
        const n = await fsRead(fd, more, 0, more.length, head.length);
        if (n === 0) break;
        const from = head.length;
        head = Buffer.concat([head, more.subarray(0, n)]);
        nl = head.indexOf(10, from);
      }
      if (nl < 0) throw new CatalogCorruptError(file, 'it has no header line (truncated?)');
      const header = parseHeader(file, head.subarray(0, nl));
      if (size !== nl + 1 + header.recordsLength) throw new CatalogCorruptError(file, `it has ${size} bytes, expected ${nl + 1 + header.recordsLength} (truncated?)`);
      try {
        textFd = await fsOpen(path.join(this.dir, path.basename(header.textFile)), 'r');
      } catch (err) {
        throw new CatalogCorruptError(file, `its text file is missing (${errMessage(err)})`);
      }
      const textSize = (await fsFstat(textFd)).size;
      if (textSize !== header.textLength) throw new CatalogCorruptError(file, `its text file has ${textSize} bytes, expected ${header.textLength}`);
      const tfd = textFd;
      const readText = (start: number, length: number, what: () => string): Buffer => {
        if (this.lazy && !this.lazy.shards.length) throw new Error('the catalog is closed');
        if (start + length > header.textLength) throw new CatalogCorruptError(file, `${what()} lies outside its text file`);
        try {
          return readSyncAt(tfd, start, length);
        } catch (err) {
          throw new CatalogCorruptError(file, `${what()} cannot be read (${errMessage(err)})`);
        }
      };
      const texts: TextSource = {
        text: (start, length, crc, chunkId) =>
          checkedText(
            file,
            readText(start, length, () => `chunk ${chunkId()}`),
            crc,
            chunkId,
          ),
      };
      return { file, header, fd, recordsStart: nl + 1, texts, readText, textFd };
    } catch (err) {
      fs.closeSync(fd);
      if (textFd !== undefined) fs.closeSync(textFd);
      throw err;
    }
  }

  /**
   * A file's entry. On a lazily opened catalog the file's record is read and decoded now (throws
   * {@link CatalogCorruptError} when it fails its checksum or shape).
   */
  file(filePath: string): FileEntry | undefined {
    if (this.filesMap) return this.filesMap.get(filePath);
    const lazy = this.lazy!;
    const cached = lazy.cache.get(filePath);
    if (cached) {
      lazy.cache.delete(filePath);
      lazy.cache.set(filePath, cached);
      return cached;
    }
    if (!lazy.where.has(filePath)) return undefined;
    // Its path is known now; the rest is decoded when first read (retrieval checks that many
    // candidate files exist, and reads the entries of a few).
    const entry = new DeferredFile(filePath, () => this.decodeFile(filePath));
    if (lazy.cache.size >= LAZY_CACHED_FILES) lazy.cache.delete(lazy.cache.keys().next().value!);
    lazy.cache.set(filePath, entry);
    return entry;
  }

  /**
   * A chunk of a file by id. On a lazily opened catalog the id is taken as given (the caller knows
   * it exists: a read-only index checks it against the lexical snapshot) and the chunk's fields are
   * read from its file's entry when first read; retrieval reads only the id and path of most of its
   * candidates. Elsewhere the file's chunks are searched.
   */
  chunk(filePath: string, id: string): Chunk | undefined {
    const entry = this.file(filePath);
    if (!entry) return undefined;
    if (!this.lazy || this.filesMap) {
      for (const c of entry.chunks) if (c.id === id) return c;
      return undefined;
    }
    const file = this.lazy.shards[this.lazy.where.get(filePath)![0]]!.file;
    return new DeferredChunk(id, filePath, () => {
      const found = entry.chunks.find((c) => c.id === id);
      if (!found) throw new CatalogCorruptError(file, `chunk ${id} is not in its file's entry (the lexical index does not match the catalog); run \`groundwork index\``);
      return found;
    });
  }

  /** A lazily opened catalog's file entry, decoded (throws {@link CatalogCorruptError}). */
  private decodeFile(filePath: string): FileEntry {
    const lazy = this.lazy!;
    const at = lazy.where.get(filePath)!;
    const shard = lazy.shards[at[0]];
    if (!shard) throw new Error('the catalog is closed');
    const row = shard.header.files[at[1]]!;
    let bytes: Buffer;
    try {
      bytes = readSyncAt(shard.fd, shard.recordsStart + row[1], row[2]);
    } catch (err) {
      throw new CatalogCorruptError(shard.file, `the entry of ${filePath} cannot be read (${errMessage(err)})`);
    }
    const f = decodeRecord(shard.file, row, bytes);
    const source = fileTextSource(shard, f.chunks);
    return { ...f, chunks: f.chunks.map((c) => new StoredChunkText(c, f.path, f.language, source)) };
  }

  /** Paths of every file, in catalog order. */
  paths(): string[] {
    return this.filesMap ? [...this.filesMap.keys()] : [...this.lazy!.paths];
  }

  get fileCount(): number {
    return this.filesMap ? this.filesMap.size : this.lazy!.paths.length;
  }

  get chunkCount(): number {
    if (!this.filesMap) return this.lazy!.chunks;
    let n = 0;
    for (const f of this.filesMap.values()) n += f.chunks.length;
    return n;
  }

  /** True when opened lazily (read-only, files decoded on demand). */
  get isLazy(): boolean {
    return this.lazy !== undefined;
  }

  /** Closes a lazily opened catalog's files (its chunks' texts can no longer be read). */
  close(): void {
    const lazy = this.lazy;
    if (!lazy) return;
    for (const s of lazy.shards) if (s) closeShard(s);
    lazy.shards.length = 0;
  }

  private shardFile(i: number): string {
    return path.join(this.dir, `shard-${String(i).padStart(2, '0')}.json`);
  }

  /** Generation of each shard; the lexical snapshot records these to detect that it is stale. */
  generations(): number[] {
    return [...this.gens];
  }

  setFile(entry: FileEntry): void {
    this.skipped.delete(entry.path);
    this.files.set(entry.path, entry);
    this.touch(entry.path, true);
  }

  setSkipped(entry: SkippedEntry): void {
    this.files.delete(entry.path);
    this.skipped.set(entry.path, entry);
    this.touch(entry.path, true);
  }

  remove(filePath: string): void {
    if (this.files.delete(filePath) || this.skipped.delete(filePath)) this.touch(filePath, false);
  }

  private touch(filePath: string, present: boolean): void {
    const i = shardOf(filePath, CATALOG_SHARDS);
    if (present) this.members[i]!.add(filePath);
    else this.members[i]!.delete(filePath);
    this.dirty.add(i);
  }

  /** Writes the changed shards (atomically, each bumping its generation). */
  async flush(): Promise<void> {
    if (!this.dirty.size) return;
    if (this.lazy) throw new Error('a lazily opened catalog is read-only');
    const byShard = new Map<number, { files: FileEntry[]; skipped: SkippedEntry[] }>();
    for (const i of this.dirty) {
      const files: FileEntry[] = [];
      const skipped: SkippedEntry[] = [];
      for (const p of this.members[i]!) {
        const f = this.files.get(p);
        if (f) files.push(f);
        else {
          const s = this.skipped.get(p);
          if (s) skipped.push(s);
        }
      }
      byShard.set(i, { files, skipped });
    }
    for (const [i, { files, skipped }] of byShard) {
      const gen = (this.gens[i] ?? 0) + 1;
      const textFile = `shard-${String(i).padStart(2, '0')}.g${gen}.txt`;
      const parts: Buffer[] = [];
      let offset = 0;
      const stored: StoredFile[] = files.map((f) => ({
        ...f,
        chunks: f.chunks.map((c) => {
          const bytes = Buffer.from(c.text, 'utf8');
          parts.push(bytes);
          const t: [number, number, number] = [offset, bytes.length, crc32(bytes)];
          offset += bytes.length;
          return { ...storedId(c), startLine: c.startLine, endLine: c.endLine, symbols: c.symbols, header: c.header, hash: c.hash, t };
        }),
      }));
      const textBytes = Buffer.concat(parts);
      await writeFileAtomic(path.join(this.dir, textFile), textBytes);
      const records = stored.map((f) => Buffer.from(JSON.stringify(f), 'utf8'));
      const rows: FileRow[] = [];
      let at = 0;
      stored.forEach((f, r) => {
        rows.push([f.path, at, records[r]!.length, crc32(records[r]!), f.chunks.length]);
        at += records[r]!.length;
      });
      const header: ShardHeader = { format: SHARD_FORMAT, gen, textFile, textLength: offset, textCrc: crc32(textBytes), recordsLength: at, files: rows, skipped };
      await writeFileAtomic(this.shardFile(i), [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), ...records]);
      const previous = `shard-${String(i).padStart(2, '0')}.g${this.gens[i] ?? 0}.txt`;
      await fsp.rm(path.join(this.dir, previous), { force: true });
      this.gens[i] = gen;
    }
    this.dirty.clear();
  }
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * A lazily opened catalog's file: its path known, the rest decoded on the first read of another
 * field. Its fields are getters: copy it with {@link plainFile}-style explicit fields, not a spread.
 */
class DeferredFile implements FileEntry {
  private loaded: FileEntry | undefined;
  constructor(
    readonly path: string,
    private readonly load: () => FileEntry,
  ) {}
  private get e(): FileEntry {
    return (this.loaded ??= this.load());
  }
  get size(): number {
    return this.e.size;
  }
  get mtimeMs(): number {
    return this.e.mtimeMs;
  }
  get contentHash(): string {
    return this.e.contentHash;
  }
  get language(): string {
    return this.e.language;
  }
  get method(): ChunkMethod {
    return this.e.method;
  }
  get fallbackReason(): string | undefined {
    return this.e.fallbackReason;
  }
  get chunks(): Chunk[] {
    return this.e.chunks;
  }
  toJSON(): FileEntry {
    return { ...this.e, chunks: this.e.chunks.map(plainChunk) };
  }
}

/** A chunk known by id and path; its other fields are read from its file's entry on first use (getters: {@link plainChunk} copies it). */
class DeferredChunk implements Chunk {
  private loaded: Chunk | undefined;
  constructor(
    readonly id: string,
    readonly path: string,
    private readonly load: () => Chunk,
  ) {}
  private get c(): Chunk {
    return (this.loaded ??= this.load());
  }
  get language(): string {
    return this.c.language;
  }
  get startLine(): number {
    return this.c.startLine;
  }
  get endLine(): number {
    return this.c.endLine;
  }
  get symbols(): string[] {
    return this.c.symbols;
  }
  get header(): string {
    return this.c.header;
  }
  get text(): string {
    return this.c.text;
  }
  get hash(): string {
    return this.c.hash;
  }
  toJSON(): Chunk {
    return plainChunk(this);
  }
}

/** The header line of a shard, parsed and checked; throws {@link CatalogCorruptError}. */
function parseHeader(file: string, line: Buffer): ShardHeader {
  let h: ShardHeader;
  try {
    h = JSON.parse(line.toString('utf8')) as ShardHeader;
  } catch (err) {
    throw new CatalogCorruptError(file, errMessage(err));
  }
  if (!h || h.format !== SHARD_FORMAT || !Array.isArray(h.files) || !Array.isArray(h.skipped) || typeof h.textFile !== 'string') {
    throw new CatalogCorruptError(file, 'unknown format');
  }
  const shapeError = headerShapeError(h);
  if (shapeError) throw new CatalogCorruptError(file, shapeError);
  return h;
}

/** A file's record, checked against its row (CRC, path, chunk count) and for shape; throws {@link CatalogCorruptError}. */
function decodeRecord(file: string, row: FileRow, bytes: Buffer): StoredFile {
  if (bytes.length !== row[2] || crc32(bytes) !== row[3]) throw new CatalogCorruptError(file, `the entry of ${row[0]} fails its checksum`);
  let f: StoredFile;
  try {
    f = JSON.parse(bytes.toString('utf8')) as StoredFile;
  } catch (err) {
    throw new CatalogCorruptError(file, errMessage(err));
  }
  const shapeError = fileShapeError(f);
  if (shapeError) throw new CatalogCorruptError(file, shapeError);
  if (f.path !== row[0] || f.chunks.length !== row[4]) throw new CatalogCorruptError(file, `the entry of ${row[0]} does not match its header`);
  return f;
}

/** What is wrong with the shape of a parsed header (well-formed JSON of the wrong shape), if anything. */
function headerShapeError(d: ShardHeader): string | undefined {
  if (!isNum(d.gen) || !isNum(d.textLength) || !isNum(d.textCrc) || !isNum(d.recordsLength)) return 'its header fields have the wrong type';
  let end = 0;
  for (const r of d.files as unknown[]) {
    if (!Array.isArray(r) || r.length !== 5 || !isStr(r[0]) || !r.slice(1).every((x) => isNum(x) && x >= 0)) return 'a file row has the wrong shape';
    if (r[1] !== end) return 'the file rows do not add up';
    end += r[2] as number;
  }
  if (end !== d.recordsLength) return 'the file rows do not add up';
  for (const x of d.skipped as unknown[]) {
    const s = x as Partial<SkippedEntry> | null;
    if (!s || !isStr(s.path) || !isNum(s.size) || !isNum(s.mtimeMs) || !isStr(s.reason)) return 'a skipped entry has the wrong shape';
  }
  return undefined;
}

/** What is wrong with the shape of a parsed file record, if anything. */
function fileShapeError(f: StoredFile): string | undefined {
  const e = f as Partial<StoredFile> | null;
  if (!e || !isStr(e.path) || !isNum(e.size) || !isNum(e.mtimeMs) || !isStr(e.contentHash) || !isStr(e.language) || !isStr(e.method) || !Array.isArray(e.chunks)) {
    return 'a file entry has the wrong shape';
  }
  for (const c of e.chunks as unknown[]) {
    const k = c as Partial<StoredChunk> | null;
    if (
      !k ||
      (k.id !== undefined && !isStr(k.id)) ||
      (k.x !== undefined && !isStr(k.x)) ||
      !isNum(k.startLine) ||
      !isNum(k.endLine) ||
      !Array.isArray(k.symbols) ||
      !k.symbols.every(isStr) ||
      !isStr(k.header) ||
      !isStr(k.hash) ||
      !Array.isArray(k.t) ||
      k.t.length !== 3 ||
      !isNum(k.t[0]) ||
      !isNum(k.t[1]) ||
      !isNum(k.t[2]) ||
      k.t[0] < 0 ||
      k.t[1] < 0
    ) {
      return `a chunk of ${e.path} has the wrong shape`;
    }
  }
  return undefined;
}

const fsOpen = promisify(fs.open);
const fsFstat = promisify(fs.fstat);
const fsRead = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));

/** `length` bytes at `pos` of `fd`, read synchronously (a chunk's text, a file's record). */
function readSyncAt(fd: number, pos: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, buf, off, length - off, pos + off);
    if (n === 0) throw new Error('unexpected end of file');
    off += n;
  }
  return buf;
}

/**
 * Where a lazily decoded file's chunk texts are read from: a file's chunks are written one after
 * another, so the first text read of a file reads the span of all of them (one read instead of one
 * per chunk; retrieval reads every chunk of its best files), each text still checked against its CRC.
 */
function fileTextSource(shard: LazyShard, chunks: readonly StoredChunk[]): TextSource {
  let lo = Infinity;
  let hi = 0;
  let total = 0;
  for (const c of chunks) {
    lo = Math.min(lo, c.t[0]);
    hi = Math.max(hi, c.t[0] + c.t[1]);
    total += c.t[1];
  }
  if (!chunks.length || hi > shard.header.textLength || hi - lo > 2 * total + 4096) return shard.texts;
  let span: Buffer | undefined;
  const verified = new Set<number>();
  return {
    // The span stays with the cached file: decoding a chunk again costs less than holding its text twice.
    keep: false,
    text: (start, length, crc, chunkId) => {
      span ??= shard.readText(lo, hi - lo, () => `the text of ${chunks.length} chunks`);
      const bytes = span.subarray(start - lo, start - lo + length);
      // Checked once per chunk (a chunk is its offset and length; an empty one shares its offset).
      const key = length * 2 ** 32 + start;
      if (verified.has(key)) return bytes.toString('utf8');
      const text = checkedText(shard.file, bytes, crc, chunkId);
      verified.add(key);
      return text;
    },
  };
}

/** The text of a chunk from its bytes, checked against its CRC-32; throws {@link CatalogCorruptError}. */
function checkedText(file: string, bytes: Buffer, crc: number, chunkId: () => string): string {
  if (crc32(bytes) !== crc) throw new CatalogCorruptError(file, `the text of chunk ${chunkId()} fails its checksum; run \`groundwork index\` to rebuild the index`);
  return bytes.toString('utf8');
}

function closeShard(s: LazyShard): void {
  fs.closeSync(s.fd);
  fs.closeSync(s.textFd);
}
