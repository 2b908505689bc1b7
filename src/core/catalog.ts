/**
 * The catalog: what the index knows about each file (size, mtime, content hash, chunks), stored in
 * shards chosen by a hash of the path so one file's change rewrites one small shard.
 *
 * Each shard is two files: `shard-NN.json` (metadata) and `shard-NN.g<gen>.txt` (all chunk texts of
 * the shard, concatenated). Keeping the texts out of the JSON halves re-open time (at 87k chunks
 * parsing 78 MB of JSON took 730 ms), and texts are decoded lazily, per chunk, from the shard's
 * bytes when first read (decoding ~100 MB of text took ~200 ms of every re-open); see
 * docs/benchmarks.md. The text file's name carries the
 * generation, and the JSON (written second, atomically) names it, so a crash between the two writes
 * leaves the previous, consistent pair; orphaned text files are removed on open.
 */
import { hash16 } from './hash';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Chunk, ChunkMethod } from './types';
import type { SkipReason } from './skipReasons';
import { readWholeFile, shardOf, writeFileAtomic } from './fsUtil';
import { crc32 } from './vectorCodec';
import { errMessage } from './errMessage';

/** Number of catalog shards. 32 keeps each shard ~1-3 MB on a 10k-file workspace. */
export const CATALOG_SHARDS = 32;
/** 6: chunk ids are not stored when they are the usual `<path>#L<a>-L<b>#<hash8>` (they were ~30% of the JSON). */
const SHARD_FORMAT = 6;

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
  /** Byte offset and byte length (UTF-8) of the text in the shard's text file. */
  t: [number, number];
}

interface StoredFile extends Omit<FileEntry, 'chunks'> {
  chunks: StoredChunk[];
}

interface ShardData {
  format: number;
  gen: number;
  /** Name and byte length of the text file. */
  textFile: string;
  textLength: number;
  /** CRC-32 of the text file: same-size garbling (a disk error, an editor) is detected on open. */
  textCrc: number;
  files: StoredFile[];
  skipped: SkippedEntry[];
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

  constructor(
    c: StoredChunk,
    readonly path: string,
    readonly language: string,
    private readonly bytes: Buffer,
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
  }

  get text(): string {
    return (this.decoded ??= this.bytes.toString('utf8', this.start, this.start + this.length));
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
  data: ShardData;
  texts: Buffer;
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
  readonly files = new Map<string, FileEntry>();
  readonly skipped = new Map<string, SkippedEntry>();
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
   * foreign file. With `readOnly` nothing is created or removed (a writer may be mid-flush).
   */
  static async open(dir: string, opts: { readOnly?: boolean } = {}): Promise<Catalog> {
    const catalog = new Catalog(dir);
    if (!opts.readOnly) await fsp.mkdir(dir, { recursive: true });
    const referenced = new Set<string>();
    // All shards are read concurrently (the reads overlap the parsing); errors are then reported
    // in shard order, as a sequential open would.
    const loaded = await Promise.all(
      Array.from({ length: CATALOG_SHARDS }, (_, i) =>
        catalog.readShard(i).then(
          (shard) => ({ shard, err: undefined }),
          (err: unknown) => ({ shard: undefined, err: err instanceof Error ? err : new Error(String(err)) }),
        ),
      ),
    );
    for (let i = 0; i < CATALOG_SHARDS; i++) {
      const { shard, err } = loaded[i]!;
      if (err !== undefined) throw err;
      if (!shard) continue;
      const { file, data, texts } = shard;
      referenced.add(data.textFile);
      catalog.gens[i] = data.gen;
      for (const f of data.files) {
        const chunks: Chunk[] = f.chunks.map((c) => {
          const chunk = new StoredChunkText(c, f.path, f.language, texts);
          if (c.t[0] + c.t[1] > texts.length) throw new CatalogCorruptError(file, `chunk ${chunk.id} lies outside its text file`);
          return chunk;
        });
        catalog.files.set(f.path, { ...f, chunks });
        catalog.members[i]!.add(f.path);
      }
      for (const s of data.skipped) {
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

  /** Reads and checks shard `i`; undefined when it does not exist. */
  private async readShard(i: number): Promise<LoadedShard | undefined> {
    const file = this.shardFile(i);
    let raw: string;
    try {
      raw = (await readWholeFile(file)).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CatalogCorruptError(file, errMessage(err));
    }
    let data: ShardData;
    try {
      data = JSON.parse(raw) as ShardData;
    } catch (err) {
      throw new CatalogCorruptError(file, errMessage(err));
    }
    if (!data || data.format !== SHARD_FORMAT || !Array.isArray(data.files) || !Array.isArray(data.skipped) || typeof data.textFile !== 'string') {
      throw new CatalogCorruptError(file, 'unknown format');
    }
    const shapeError = shardShapeError(data);
    if (shapeError) throw new CatalogCorruptError(file, shapeError);
    let texts: Buffer;
    try {
      texts = await readWholeFile(path.join(this.dir, path.basename(data.textFile)));
    } catch (err) {
      throw new CatalogCorruptError(file, `its text file is missing (${errMessage(err)})`);
    }
    if (texts.length !== data.textLength) throw new CatalogCorruptError(file, `its text file has ${texts.length} bytes, expected ${data.textLength}`);
    if (crc32(texts) !== data.textCrc) throw new CatalogCorruptError(file, 'its text file fails its checksum');
    return { file, data, texts };
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
          const t: [number, number] = [offset, bytes.length];
          offset += bytes.length;
          return { ...storedId(c), startLine: c.startLine, endLine: c.endLine, symbols: c.symbols, header: c.header, hash: c.hash, t };
        }),
      }));
      const textBytes = Buffer.concat(parts);
      await writeFileAtomic(path.join(this.dir, textFile), textBytes);
      const data: ShardData = { format: SHARD_FORMAT, gen, textFile, textLength: offset, textCrc: crc32(textBytes), files: stored, skipped };
      await writeFileAtomic(this.shardFile(i), JSON.stringify(data));
      const previous = `shard-${String(i).padStart(2, '0')}.g${this.gens[i] ?? 0}.txt`;
      await fsp.rm(path.join(this.dir, previous), { force: true });
      this.gens[i] = gen;
    }
    this.dirty.clear();
  }
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** What is wrong with the shape of a parsed shard (well-formed JSON of the wrong shape), if anything. */
function shardShapeError(d: ShardData): string | undefined {
  if (!isNum(d.gen) || !isNum(d.textLength) || !isNum(d.textCrc)) return 'its header fields have the wrong type';
  for (const f of d.files as unknown[]) {
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
        k.t.length !== 2 ||
        !isNum(k.t[0]) ||
        !isNum(k.t[1]) ||
        k.t[0] < 0 ||
        k.t[1] < 0
      ) {
        return `a chunk of ${e.path} has the wrong shape`;
      }
    }
  }
  for (const x of d.skipped as unknown[]) {
    const s = x as Partial<SkippedEntry> | null;
    if (!s || !isStr(s.path) || !isNum(s.size) || !isNum(s.mtimeMs) || !isStr(s.reason)) return 'a skipped entry has the wrong shape';
  }
  return undefined;
}
