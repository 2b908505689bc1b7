/**
 * Where each symbol is defined: symbol name → the files whose chunks declare it. Retrieval uses it
 * to favour a file that *defines* an identifier the query names over files that only use it.
 *
 * Names are keyed by their last identifier, lower-cased: `Runner.prototype.run`, `fmt::detail::write`
 * and `impl Display for Foo` are found as `run`, `write` and `foo` (and by the whole name when it is
 * a plain identifier).
 */
import type { Chunk } from './types';

/**
 * The lookup key of one declared name: its last identifier (`[A-Za-z_$][A-Za-z0-9_$]*`) before any
 * generic arguments (`Vec<T>`, `formatter<char>` are not the name), lower-cased; none when that is a
 * single character or there is no identifier. A scan from the end, with no regular expression and
 * no array (3× faster than the two regular-expression matches it replaces, measured on the 66k
 * symbols of the bench corpus): opening a shared snapshot keys every chunk's symbols, and a local
 * index does on its first search.
 */
export function symbolKey(name: string): string | undefined {
  const lt = name.indexOf('<');
  // Before the first '<' when an identifier is there; else the whole name.
  const key = lastIdentifier(name, lt < 0 ? name.length : lt) ?? (lt < 0 ? undefined : lastIdentifier(name, name.length));
  return key && key.length > 1 ? key.toLowerCase() : undefined;
}

/** The lookup keys of one declared name (zero or one: see {@link symbolKey}). */
export function symbolKeys(name: string): string[] {
  const key = symbolKey(name);
  return key ? [key] : [];
}

const isIdentChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * The last match of `[A-Za-z_$][A-Za-z0-9_$]*` in `s[0, end)`: within the last run of identifier
 * characters that holds a non-digit, from its first non-digit to the run's end (a left-to-right
 * match cannot start on a digit).
 */
function lastIdentifier(s: string, end: number): string | undefined {
  let i = end;
  while (i > 0) {
    while (i > 0 && !isIdentChar(s.charCodeAt(i - 1))) i--;
    const runEnd = i;
    while (i > 0 && isIdentChar(s.charCodeAt(i - 1))) i--;
    let start = i;
    while (start < runEnd && isDigit(s.charCodeAt(start))) start++;
    if (start < runEnd) return s.slice(start, runEnd);
  }
  return undefined;
}

/** What retrieval asks of a symbol table. */
export interface SymbolLookup {
  /** Files defining `identifier` (case-insensitive), with how many declarations each has. */
  definers(identifier: string): ReadonlyMap<string, number> | undefined;
}

export class SymbolTable implements EditableSymbols {
  private readonly byKey = new Map<string, Map<string, number>>();

  /** The table of these files' chunks. */
  static of(files: Iterable<{ path: string; chunks: readonly Pick<Chunk, 'symbols'>[] }>): SymbolTable {
    const table = new SymbolTable();
    for (const f of files) table.add(f.path, f.chunks);
    return table;
  }

  add(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        const key = symbolKey(s);
        if (!key) continue;
        let files = this.byKey.get(key);
        if (!files) this.byKey.set(key, (files = new Map()));
        files.set(path, (files.get(path) ?? 0) + 1);
      }
    }
  }

  remove(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        const key = symbolKey(s);
        const files = key ? this.byKey.get(key) : undefined;
        const n = files?.get(path);
        if (!files || n === undefined) continue;
        if (n <= 1) files.delete(path);
        else files.set(path, n - 1);
        if (!files.size) this.byKey.delete(key!);
      }
    }
  }

  /** Files defining `identifier` (case-insensitive), with how many declarations each has. */
  definers(identifier: string): ReadonlyMap<string, number> | undefined {
    return this.byKey.get(identifier.toLowerCase());
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Every key with its files and declaration counts. */
  entries(): IterableIterator<[string, ReadonlyMap<string, number>]> {
    return this.byKey.entries();
  }
}

/**
 * The table as sections of the file-level lexical snapshot (files.bin), files by their document
 * number there (`ids` are its document ids, the files' paths, after compaction): keys sorted and
 * packed, and per key a range of (file number, count) pairs. A read-only open reads these instead of
 * building the table from every chunk of the catalog.
 */
export function symbolSections(table: SymbolTable, ids: readonly string[]): Array<[string, Uint8Array]> {
  const number = new Map<string, number>();
  ids.forEach((id, i) => {
    if (id) number.set(id, i);
  });
  const keys = [...table.entries()].filter(([, files]) => files.size > 0).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const listOffsets = new Uint32Array(keys.length + 1);
  const docs: number[] = [];
  const counts: number[] = [];
  const kept: string[] = [];
  for (const [key, files] of keys) {
    const pairs: Array<[number, number]> = [];
    for (const [p, n] of files) {
      const d = number.get(p);
      if (d !== undefined) pairs.push([d, n]);
    }
    if (!pairs.length) continue;
    pairs.sort((a, b) => a[0] - b[0]);
    for (const [d, n] of pairs) {
      docs.push(d);
      counts.push(n);
    }
    kept.push(key);
    listOffsets[kept.length] = docs.length;
  }
  const bytes = Buffer.from(kept.join(''), 'utf8');
  const keyOffsets = new Uint32Array(kept.length + 1);
  for (let i = 0; i < kept.length; i++) keyOffsets[i + 1] = keyOffsets[i]! + Buffer.byteLength(kept[i]!, 'utf8');
  const view = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return [
    ['symKeys', bytes],
    ['symKeyOffsets', view(keyOffsets)],
    ['symListOffsets', view(listOffsets.subarray(0, kept.length + 1))],
    ['symFiles', view(Int32Array.from(docs))],
    ['symCounts', view(Uint32Array.from(counts))],
  ];
}

/** Names of the sections {@link symbolSections} writes. */
export const SYMBOL_SECTIONS = ['symKeys', 'symKeyOffsets', 'symListOffsets', 'symFiles', 'symCounts'] as const;

/**
 * A symbol table read from {@link symbolSections}' output: keys found by binary search in the packed
 * block, files named through `pathOf` (the file-level snapshot's ids). Read-only.
 */
export class StoredSymbolTable implements SymbolLookup {
  private readonly cache = new Map<string, ReadonlyMap<string, number> | undefined>();

  private constructor(
    private readonly keys: Buffer,
    private readonly keyOffsets: Uint32Array,
    private readonly listOffsets: Uint32Array,
    private readonly files: Int32Array,
    private readonly counts: Uint32Array,
    private readonly pathOf: (d: number) => string,
  ) {}

  /** Checks the sections' shapes; throws an Error saying what does not add up. */
  static from(s: Record<(typeof SYMBOL_SECTIONS)[number], Buffer>, fileCount: number, pathOf: (d: number) => string): StoredSymbolTable {
    const u32 = (b: Buffer) => new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (const k of ['symKeyOffsets', 'symListOffsets', 'symFiles', 'symCounts'] as const) {
      if (s[k].length % 4 !== 0 || s[k].byteOffset % 4 !== 0) throw new Error(`symbol section ${k} is misaligned`);
    }
    const keyOffsets = u32(s.symKeyOffsets);
    const listOffsets = u32(s.symListOffsets);
    const files = new Int32Array(s.symFiles.buffer, s.symFiles.byteOffset, s.symFiles.length / 4);
    const counts = u32(s.symCounts);
    const n = keyOffsets.length - 1;
    if (n < 0 || listOffsets.length !== n + 1 || keyOffsets[0] !== 0 || keyOffsets[n] !== s.symKeys.length || listOffsets[n] !== files.length || counts.length !== files.length) {
      throw new Error('symbol sections do not add up');
    }
    for (let i = 0; i < n; i++) if (keyOffsets[i]! > keyOffsets[i + 1]! || listOffsets[i]! > listOffsets[i + 1]!) throw new Error('symbol sections do not add up');
    for (let i = 0; i < files.length; i++) if (files[i]! < 0 || files[i]! >= fileCount) throw new Error('a symbol names a file out of range');
    return new StoredSymbolTable(s.symKeys, keyOffsets, listOffsets, files, counts, pathOf);
  }

  definers(identifier: string): ReadonlyMap<string, number> | undefined {
    const key = identifier.toLowerCase();
    if (this.cache.has(key)) return this.cache.get(key);
    let found: Map<string, number> | undefined;
    let lo = 0;
    let hi = this.keyOffsets.length - 2;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys.toString('utf8', this.keyOffsets[mid], this.keyOffsets[mid + 1]);
      if (k === key) {
        found = new Map();
        for (let j = this.listOffsets[mid]!; j < this.listOffsets[mid + 1]!; j++) found.set(this.pathOf(this.files[j]!), this.counts[j]!);
        break;
      }
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    if (this.cache.size >= 4096) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, found);
    return found;
  }
}

/** A symbol table that files can be added to and removed from (what an overlay edits). */
export interface EditableSymbols extends SymbolLookup {
  add(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void;
  remove(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void;
}

/**
 * Edits over a read-only table (a stored one): per key, the change in each file's declaration
 * count. `definers` answers as a {@link SymbolTable} holding the base's entries plus the edits
 * would, so an overlay over a stored table ranks as over one built in memory.
 */
export class LayeredSymbolTable implements EditableSymbols {
  private readonly delta = new Map<string, Map<string, number>>();

  constructor(private readonly base: SymbolLookup) {}

  add(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void {
    this.change(path, chunks, 1);
  }

  remove(path: string, chunks: readonly Pick<Chunk, 'symbols'>[]): void {
    this.change(path, chunks, -1);
  }

  definers(identifier: string): ReadonlyMap<string, number> | undefined {
    const key = identifier.toLowerCase();
    const base = this.base.definers(key);
    const d = this.delta.get(key);
    if (!d) return base;
    const out = new Map(base ?? []);
    for (const [p, n] of d) {
      const count = (out.get(p) ?? 0) + n;
      if (count > 0) out.set(p, count);
      else out.delete(p);
    }
    return out.size ? out : undefined;
  }

  private change(path: string, chunks: readonly Pick<Chunk, 'symbols'>[], by: number): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        const key = symbolKey(s);
        if (!key) continue;
        let files = this.delta.get(key);
        if (!files) this.delta.set(key, (files = new Map()));
        const n = (files.get(path) ?? 0) + by;
        if (n === 0) files.delete(path);
        else files.set(path, n);
        if (!files.size) this.delta.delete(key);
      }
    }
  }
}
