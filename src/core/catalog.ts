/**
 * The catalog: what the index knows about each file (size, mtime, content hash, chunks), stored in
 * shards chosen by a hash of the path so one file's change rewrites one small shard.
 *
 * Each shard is two files: `shard-NN.json` (metadata) and `shard-NN.g<gen>.txt` (all chunk texts of
 * the shard, concatenated). Keeping the texts out of the JSON halves re-open time: at 87k chunks
 * parsing 78 MB of JSON took 730 ms; see docs/benchmarks.md. The text file's name carries the
 * generation, and the JSON (written second, atomically) names it, so a crash between the two writes
 * leaves the previous, consistent pair; orphaned text files are removed on open.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Chunk, ChunkMethod } from './types';
import type { SkipReason } from './discovery';
import { writeFileAtomic } from './fsUtil';

/** Number of catalog shards. 32 keeps each shard ~1-3 MB on a 10k-file workspace. */
export const CATALOG_SHARDS = 32;
const SHARD_FORMAT = 2;

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

/** A chunk as stored: path and language come from its file; text lives in the text file. */
interface StoredChunk {
  id: string;
  startLine: number;
  endLine: number;
  symbols: string[];
  header: string;
  hash: string;
  /** Offset and length (UTF-16 units) of the text in the shard's text file. */
  t: [number, number];
}

interface StoredFile extends Omit<FileEntry, 'chunks'> {
  chunks: StoredChunk[];
}

interface ShardData {
  format: number;
  gen: number;
  /** Name and length (UTF-16 units) of the text file. */
  textFile: string;
  textLength: number;
  files: StoredFile[];
  skipped: SkippedEntry[];
}

export class CatalogCorruptError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`catalog shard ${file} is unreadable (${reason})`);
    this.name = 'CatalogCorruptError';
  }
}

export function shardOf(filePath: string, shards = CATALOG_SHARDS): number {
  return createHash('sha1').update(filePath).digest().readUInt32BE(0) % shards;
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export class Catalog {
  readonly files = new Map<string, FileEntry>();
  readonly skipped = new Map<string, SkippedEntry>();
  private readonly gens: number[] = new Array<number>(CATALOG_SHARDS).fill(0);
  private readonly dirty = new Set<number>();

  private constructor(private readonly dir: string) {}

  /** Loads every shard; throws {@link CatalogCorruptError} on a truncated or foreign file. */
  static async open(dir: string): Promise<Catalog> {
    const catalog = new Catalog(dir);
    await fsp.mkdir(dir, { recursive: true });
    const referenced = new Set<string>();
    for (let i = 0; i < CATALOG_SHARDS; i++) {
      const file = catalog.shardFile(i);
      let raw: string;
      try {
        raw = await fsp.readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new CatalogCorruptError(file, (err as Error).message);
      }
      let data: ShardData;
      try {
        data = JSON.parse(raw) as ShardData;
      } catch (err) {
        throw new CatalogCorruptError(file, (err as Error).message);
      }
      if (!data || data.format !== SHARD_FORMAT || !Array.isArray(data.files) || !Array.isArray(data.skipped) || typeof data.textFile !== 'string') {
        throw new CatalogCorruptError(file, 'unknown format');
      }
      referenced.add(data.textFile);
      let texts: string;
      try {
        texts = await fsp.readFile(path.join(dir, path.basename(data.textFile)), 'utf8');
      } catch (err) {
        throw new CatalogCorruptError(file, `its text file is missing (${(err as Error).message})`);
      }
      if (texts.length !== data.textLength) throw new CatalogCorruptError(file, `its text file has ${texts.length} characters, expected ${data.textLength}`);
      catalog.gens[i] = data.gen;
      for (const f of data.files) {
        const chunks: Chunk[] = f.chunks.map((c) => ({
          id: c.id,
          path: f.path,
          language: f.language,
          startLine: c.startLine,
          endLine: c.endLine,
          symbols: c.symbols,
          header: c.header,
          hash: c.hash,
          text: texts.slice(c.t[0], c.t[0] + c.t[1]),
        }));
        catalog.files.set(f.path, { ...f, chunks });
      }
      for (const s of data.skipped) catalog.skipped.set(s.path, s);
    }
    // Text files of generations that no JSON names (an interrupted write) are garbage.
    for (const name of await fsp.readdir(dir)) {
      if (name.endsWith('.txt') && !referenced.has(name)) await fsp.rm(path.join(dir, name), { force: true });
    }
    return catalog;
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
    this.dirty.add(shardOf(entry.path));
  }

  setSkipped(entry: SkippedEntry): void {
    this.files.delete(entry.path);
    this.skipped.set(entry.path, entry);
    this.dirty.add(shardOf(entry.path));
  }

  remove(filePath: string): void {
    if (this.files.delete(filePath) || this.skipped.delete(filePath)) this.dirty.add(shardOf(filePath));
  }

  get hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** Writes the changed shards (atomically, each bumping its generation). */
  async flush(): Promise<void> {
    if (!this.dirty.size) return;
    const byShard = new Map<number, { files: FileEntry[]; skipped: SkippedEntry[] }>();
    for (const i of this.dirty) byShard.set(i, { files: [], skipped: [] });
    for (const f of this.files.values()) byShard.get(shardOf(f.path))?.files.push(f);
    for (const s of this.skipped.values()) byShard.get(shardOf(s.path))?.skipped.push(s);
    for (const [i, { files, skipped }] of byShard) {
      const gen = (this.gens[i] ?? 0) + 1;
      const textFile = `shard-${String(i).padStart(2, '0')}.g${gen}.txt`;
      const parts: string[] = [];
      let offset = 0;
      const stored: StoredFile[] = files.map((f) => ({
        ...f,
        chunks: f.chunks.map((c) => {
          parts.push(c.text);
          const t: [number, number] = [offset, c.text.length];
          offset += c.text.length;
          return { id: c.id, startLine: c.startLine, endLine: c.endLine, symbols: c.symbols, header: c.header, hash: c.hash, t };
        }),
      }));
      await writeFileAtomic(path.join(this.dir, textFile), parts.join(''));
      const data: ShardData = { format: SHARD_FORMAT, gen, textFile, textLength: offset, files: stored, skipped };
      await writeFileAtomic(this.shardFile(i), JSON.stringify(data));
      const previous = `shard-${String(i).padStart(2, '0')}.g${this.gens[i] ?? 0}.txt`;
      await fsp.rm(path.join(this.dir, previous), { force: true });
      this.gens[i] = gen;
    }
    this.dirty.clear();
  }
}
