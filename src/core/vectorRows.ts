/**
 * The vector store's per-row keys (chunk id, file path, content hash) packed into typed arrays, so a
 * million rows cost ~25 bytes each instead of three JavaScript strings (~500 bytes with their objects
 * and the path lists). Strings are built only for the rows a query returns (and for tie-breaks).
 *
 * A row is packed when its id is the chunker's own form, `<path>#L<start>-L<end>#<hash[0..8)>`
 * (chunker/emission.ts), and its hash is 16 lowercase hex digits (hash.ts): then path (one string per
 * file), the two line numbers and the hash's 64 bits rebuild both strings exactly. Any other row
 * (ids with a `@part` suffix, ids from other writers, other hash forms) keeps its two strings in a
 * side map: correct for every input, compact for the common one.
 *
 * Rows of one file are consecutive (the store appends a file's rows together and compaction keeps
 * the order), so a file is one slot: its path and its first row and row count.
 */

/** 16 lowercase hex digits. */
const HEX16 = /^[0-9a-f]{16}$/;
/** What follows the path in a packed id: lines without leading zeros, then the hash's first 8 digits. */
const ID_TAIL = /^#L([1-9][0-9]{0,9})-L([1-9][0-9]{0,9})#([0-9a-f]{8})$/;
const U32_MAX = 0xffffffff;

/** Value of ASCII hex digit `c` (lowercase only), or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Parses canonical decimal digits (no sign, no leading zero, value 1..2^32-1) in `b[from..to)`;
 * returns the value or -1.
 */
function decimalAt(b: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 1 || n > 10 || b[from] === 48) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= U32_MAX ? v : -1;
}

/** Digits of a positive integer below 2^32. */
function digits(x: number): number {
  let d = 1;
  while (x >= 10 ** d) d++;
  return d;
}

/**
 * Order of the decimal strings of `x` and `y` (positive, below 2^32) as strings compare, when each is
 * followed by a character that sorts before every digit: -1, 0 or 1. Both are scaled to the same
 * number of digits (below 10^10, exact in a double); equal then means one is a prefix of the other.
 */
function decimalOrder(x: number, y: number): number {
  if (x === y) return 0;
  const dx = digits(x);
  const dy = digits(y);
  const sx = dx < dy ? x * 10 ** (dy - dx) : x;
  const sy = dy < dx ? y * 10 ** (dx - dy) : y;
  if (sx !== sy) return sx > sy ? 1 : -1;
  return dx > dy ? 1 : -1;
}

function growU32(a: Uint32Array, cap: number, used: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(cap);
  b.set(a.subarray(0, used));
  return b;
}

function growI32(a: Int32Array, cap: number, used: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  b.set(a.subarray(0, used));
  return b;
}

/** Packed id/path/hash table of the vector store's rows (see the file header). */
export class RowKeys {
  private capacity = 0;
  /** Row → file slot. */
  private slotOf = new Uint32Array(0);
  private startLine = new Uint32Array(0);
  private endLine = new Uint32Array(0);
  /** The hash's 64 bits (high and low 32) of packed rows. */
  private hashHi = new Uint32Array(0);
  private hashLo = new Uint32Array(0);
  /** Rows that are not packed: their id and hash as given. */
  private odd = new Map<number, [id: string, hash: string]>();
  /** Slot → path ('' when free), first row and row count. */
  private slotPath: string[] = [];
  private slotFirst = new Int32Array(0);
  private slotCount = new Int32Array(0);
  private readonly slotByPath = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  /**
   * For tie-breaks without strings ({@link idAfter}): each slot's rank in the order of `path + '#'`
   * (how its ids start), and whether that prefix starts another file's ids too (then ranks do not
   * decide). Built on the first tie after files were added or removed.
   */
  private slotRank = new Uint32Array(0);
  private slotPrefixOfNext = new Uint8Array(0);
  private ranksValid = false;

  /** Makes room for rows [0, rows), keeping the rows already set in [0, used). */
  reserve(rows: number, used: number): void {
    if (rows <= this.capacity) return;
    this.slotOf = growU32(this.slotOf, rows, used);
    this.startLine = growU32(this.startLine, rows, used);
    this.endLine = growU32(this.endLine, rows, used);
    this.hashHi = growU32(this.hashHi, rows, used);
    this.hashLo = growU32(this.hashLo, rows, used);
    this.capacity = rows;
  }

  /** Number of files with rows. */
  get fileCount(): number {
    return this.slotByPath.size;
  }

  /** Rows kept as strings (not packed); for tests and benchmarks. */
  get oddRows(): number {
    return this.odd.size;
  }

  /** Paths with rows, in no particular order. */
  paths(): IterableIterator<string> {
    return this.slotByPath.keys();
  }

  /** The rows of `path` as [first, count], or undefined. */
  rowsOf(path: string): [first: number, count: number] | undefined {
    const s = this.slotByPath.get(path);
    return s === undefined ? undefined : [this.slotFirst[s]!, this.slotCount[s]!];
  }

  /**
   * Starts the rows of a file that has none: rows [first, first + count) will be set with
   * {@link setRow} / {@link setPackedRow} / {@link setOddRow}. Returns the file's slot.
   * @throws Error when `path` already has rows (the caller removes them first).
   */
  addFile(path: string, first: number, count: number): number {
    if (this.slotByPath.has(path)) throw new Error(`rows of ${path} already present`);
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slotPath.length;
      this.slotPath.push(path);
      if (s >= this.slotFirst.length) {
        const cap = Math.max(64, Math.ceil(this.slotFirst.length * 1.5), s + 1);
        this.slotFirst = growI32(this.slotFirst, cap, s);
        this.slotCount = growI32(this.slotCount, cap, s);
      }
    } else this.slotPath[s] = path;
    this.slotFirst[s] = first;
    this.slotCount[s] = count;
    this.slotByPath.set(path, s);
    this.ranksValid = false;
    return s;
  }

  /** Sets the row count of the file in `slot` (while its rows are being unpacked). */
  setFileCount(slot: number, count: number): void {
    this.slotCount[slot] = count;
  }

  /** Forgets the file's rows (they must be tombstoned by the caller); returns [first, count] or undefined. */
  removeFile(path: string): [first: number, count: number] | undefined {
    const s = this.slotByPath.get(path);
    if (s === undefined) return undefined;
    const first = this.slotFirst[s]!;
    const count = this.slotCount[s]!;
    if (this.odd.size) for (let r = first; r < first + count; r++) this.odd.delete(r);
    this.slotByPath.delete(path);
    this.slotPath[s] = '';
    this.slotCount[s] = 0;
    this.freeSlots.push(s);
    this.ranksValid = false;
    return [first, count];
  }

  /** Sets row `r` of file `slot` from strings: packed when they have the chunker's form, else kept as given. */
  setRow(r: number, slot: number, id: string, hash: string): void {
    this.slotOf[r] = slot;
    const path = this.slotPath[slot]!;
    if (HEX16.test(hash) && id.length > path.length && id.startsWith(path)) {
      const m = ID_TAIL.exec(id.slice(path.length));
      if (m && m[3] === hash.slice(0, 8)) {
        const a = Number(m[1]);
        const b = Number(m[2]);
        if (a <= U32_MAX && b <= U32_MAX) {
          this.startLine[r] = a;
          this.endLine[r] = b;
          this.hashHi[r] = parseInt(hash.slice(0, 8), 16);
          this.hashLo[r] = parseInt(hash.slice(8), 16);
          this.odd.delete(r);
          return;
        }
      }
    }
    this.odd.set(r, [id, hash]);
  }

  /**
   * Sets row `r` of file `slot` from the UTF-8 bytes of its id (`b[idFrom..idTo)`), path
   * (`b[pathFrom..pathTo)`, the file's path) and hash (`b[hashFrom..hashTo)`), without building strings
   * unless the row cannot be packed. Packs exactly the rows {@link setRow} packs.
   */
  setRowFromBytes(r: number, slot: number, b: Buffer, idFrom: number, idTo: number, pathFrom: number, pathTo: number, hashFrom: number, hashTo: number): void {
    this.slotOf[r] = slot;
    const pathLen = pathTo - pathFrom;
    packed: if (hashTo - hashFrom === 16 && idTo - idFrom > pathLen + 14) {
      let hi = 0;
      let lo = 0;
      for (let i = 0; i < 16; i++) {
        const v = hexValue(b[hashFrom + i]!);
        if (v < 0) break packed;
        if (i < 8) hi = hi * 16 + v;
        else lo = lo * 16 + v;
      }
      if (b.compare(b, pathFrom, pathTo, idFrom, idFrom + pathLen) !== 0) break packed;
      // #L<a>-L<b>#<8 hex>
      let p = idFrom + pathLen;
      if (b[p] !== 35 || b[p + 1] !== 76) break packed; // '#', 'L'
      p += 2;
      const dash = b.indexOf(45, p); // '-'
      if (dash < 0 || dash >= idTo) break packed;
      const a = decimalAt(b, p, dash);
      if (a < 0 || b[dash + 1] !== 76) break packed;
      const tail = idTo - 9; // '#' + 8 hex digits
      if (b[tail] !== 35 || dash + 2 > tail) break packed;
      const e = decimalAt(b, dash + 2, tail);
      if (e < 0) break packed;
      for (let i = 0; i < 8; i++) if (b[tail + 1 + i] !== b[hashFrom + i]) break packed;
      this.startLine[r] = a;
      this.endLine[r] = e;
      this.hashHi[r] = hi;
      this.hashLo[r] = lo;
      this.odd.delete(r);
      return;
    }
    this.odd.set(r, [b.toString('utf8', idFrom, idTo), b.toString('utf8', hashFrom, hashTo)]);
  }

  /** The file path of row `r`. */
  path(r: number): string {
    return this.slotPath[this.slotOf[r]!]!;
  }

  /** The content hash of row `r`. */
  hash(r: number): string {
    const o = this.odd.get(r);
    if (o) return o[1];
    return this.hashHi[r]!.toString(16).padStart(8, '0') + this.hashLo[r]!.toString(16).padStart(8, '0');
  }

  /** The chunk id of row `r`. */
  id(r: number): string {
    const o = this.odd.get(r);
    if (o) return o[0];
    return `${this.path(r)}#L${this.startLine[r]}-L${this.endLine[r]}#${this.hashHi[r]!.toString(16).padStart(8, '0')}`;
  }

  /**
   * Compaction: row `from` moves down to `to` (to ≤ from, called in increasing `from` order for the
   * live rows only, as the store moves its matrix rows).
   */
  move(from: number, to: number): void {
    const s = this.slotOf[from]!;
    if (this.slotFirst[s] === from) this.slotFirst[s] = to;
    if (from === to) return;
    this.slotOf[to] = s;
    this.startLine[to] = this.startLine[from]!;
    this.endLine[to] = this.endLine[from]!;
    this.hashHi[to] = this.hashHi[from]!;
    this.hashLo[to] = this.hashLo[from]!;
    if (this.odd.size) {
      const o = this.odd.get(from);
      if (o) {
        this.odd.delete(from);
        this.odd.set(to, o);
      }
    }
  }

  /** Forgets every row and file. */
  clear(): void {
    this.capacity = 0;
    this.slotOf = new Uint32Array(0);
    this.startLine = new Uint32Array(0);
    this.endLine = new Uint32Array(0);
    this.hashHi = new Uint32Array(0);
    this.hashLo = new Uint32Array(0);
    this.odd.clear();
    this.slotPath = [];
    this.slotFirst = new Int32Array(0);
    this.slotCount = new Int32Array(0);
    this.slotByPath.clear();
    this.freeSlots.length = 0;
    this.slotRank = new Uint32Array(0);
    this.slotPrefixOfNext = new Uint8Array(0);
    this.ranksValid = false;
  }

  /**
   * True when row `a`'s id sorts after row `b`'s (JavaScript string order), building no string in the
   * common case. The top-k heap calls it on ties, which the sparse test vectors produce by the
   * thousand per query. Packed ids of different files start with `path#`: unless one file's `path#`
   * is a prefix of another's, their order is that of those prefixes, i.e. of the slots' ranks.
   */
  idAfter(a: number, b: number): boolean {
    if (a !== b && (this.odd.size === 0 || (!this.odd.has(a) && !this.odd.has(b)))) {
      const sa = this.slotOf[a]!;
      const sb = this.slotOf[b]!;
      if (sa !== sb) {
        if (!this.ranksValid) this.rankSlots();
        if (this.slotPrefixOfNext[sa] === 0 && this.slotPrefixOfNext[sb] === 0) return this.slotRank[sa]! > this.slotRank[sb]!;
      } else {
        // One file: `#L<start>-L<end>#<hash8>` after the same path ('-' and '#' sort before digits).
        const c = decimalOrder(this.startLine[a]!, this.startLine[b]!) || decimalOrder(this.endLine[a]!, this.endLine[b]!);
        if (c !== 0) return c > 0;
        return this.hashHi[a]! > this.hashHi[b]!;
      }
    }
    return this.id(a) > this.id(b);
  }

  private rankSlots(): void {
    const n = this.slotPath.length;
    if (this.slotRank.length < n) {
      this.slotRank = new Uint32Array(this.slotFirst.length);
      this.slotPrefixOfNext = new Uint8Array(this.slotFirst.length);
    }
    const order: Array<[string, number]> = [];
    for (const [p, slot] of this.slotByPath) order.push([`${p}#`, slot]);
    order.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    // In sorted order, strings that start with a prefix follow it directly: checking the next one finds
    // every prefix.
    for (let i = 0; i < order.length; i++) {
      const [p, slot] = order[i]!;
      this.slotRank[slot] = i;
      this.slotPrefixOfNext[slot] = i + 1 < order.length && order[i + 1]![0].startsWith(p) ? 1 : 0;
    }
    this.ranksValid = true;
  }
}
