/**
 * A lexical snapshot (lexical.bin, files.bin) opened for search without loading it: the read-only
 * open of a local index (`groundwork search --no-update`).
 *
 * Open reads the header and the dictionary sections only: packed ids and their offsets, the id hash
 * table, packed sorted terms and their offsets, document lengths, list offsets and list CRC-32s
 * (each checked against its section CRC). A posting list is read when a search scores its term, by
 * a positioned read, checked against its own CRC, and kept in the partial index's bounded cache
 * ({@link LexicalIndex.partial}): the machinery, scoring and statistics of the team index's
 * PostgreSQL reader, so rankings are those of the loaded index. Document frequencies come from the
 * list offsets, so the query terms a search leaves out (too common, past the work bound) are never
 * read. Reads are synchronous: from the page cache a list of 500k entries (the work bound) is ~4 MB.
 *
 * The file is opened once: a writer replacing it (writeFileAtomic renames a new file over it) does
 * not change what this reader reads, so one reader never mixes two snapshots.
 */
import { fnv1a32 } from './fsUtil';
import { checkLexicalHeader, f32, i32, LEXICAL_MAGIC, LEXICAL_VERSION, LexicalCorruptError, LexicalIndex, u32 } from './lexicalIndex';
import { SectionFile } from './sectionFile';
import { crc32 } from './vectorCodec';
import { errMessage } from './errMessage';

/** Posting entries a reader keeps between searches, per snapshot (8 bytes each: 32 MB). */
export const READER_HELD_POSTINGS = 4_000_000;

/**
 * Packed UTF-8 strings with byte offsets, decoded one at a time, and compared without decoding when
 * their bytes sort as JavaScript sorts the strings. UTF-8 byte order is code point order, which is
 * JavaScript's (UTF-16 code unit) order unless the strings hold both characters above U+FFFF (4-byte
 * sequences, lead byte F0-F4) and characters U+E000-U+FFFF (lead byte EE or EF).
 */
class PackedStrings {
  /** True when byte order is the strings' JavaScript order (see above). */
  private readonly byteOrdered: boolean;

  constructor(
    private readonly bytes: Buffer,
    private readonly offsets: Uint32Array,
  ) {
    const astral = [0xf0, 0xf1, 0xf2, 0xf3, 0xf4].some((b) => bytes.includes(b));
    this.byteOrdered = !astral || !(bytes.includes(0xee) || bytes.includes(0xef));
  }

  get count(): number {
    return this.offsets.length - 1;
  }

  at(i: number): string {
    return this.bytes.toString('utf8', this.offsets[i], this.offsets[i + 1]);
  }

  /** True when string `a` sorts after string `b` (JavaScript order). */
  after(a: number, b: number): boolean {
    if (!this.byteOrdered) return this.at(a) > this.at(b);
    return this.bytes.compare(this.bytes, this.offsets[b], this.offsets[b + 1], this.offsets[a], this.offsets[a + 1]) > 0;
  }

  /** Position of `s` in strings sorted in JavaScript order, or -1. */
  find(s: string): number {
    let lo = 0;
    let hi = this.count - 1;
    // A lone surrogate has no UTF-8 form: such a string is compared decoded.
    if (this.byteOrdered && !/[\uD800-\uDFFF]/.test(s)) {
      const key = Buffer.from(s, 'utf8');
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const c = this.bytes.compare(key, 0, key.length, this.offsets[mid], this.offsets[mid + 1]);
        if (c === 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.at(mid);
      if (t === s) return mid;
      if (t < s) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  static check(bytes: Buffer, offsets: Uint32Array, count: number, what: string): PackedStrings {
    if (offsets.length !== count + 1 || offsets[0] !== 0 || offsets[count] !== bytes.length) throw new LexicalCorruptError(`${what} offsets do not match`);
    for (let i = 0; i < count; i++) if (offsets[i]! > offsets[i + 1]!) throw new LexicalCorruptError(`${what} offsets do not match`);
    return new PackedStrings(bytes, offsets);
  }
}

export class LexicalSnapshotReader {
  /** The partial index searches run on (postings arrive through {@link fetch}). */
  readonly index: LexicalIndex;

  private constructor(
    readonly file: SectionFile,
    readonly meta: Record<string, unknown>,
    private readonly ids: PackedStrings,
    private readonly idHash: Uint32Array,
    private readonly terms: PackedStrings,
    private readonly listOffsets: Uint32Array,
    private readonly listCrcs: Uint32Array,
    lengths: Float32Array,
    maxHeld: number,
  ) {
    this.index = LexicalIndex.partial({ count: ids.count, idOf: (d) => ids.at(d), after: (a, b) => ids.after(a, b) }, lengths, (id) => this.locate(id), {
      postings: { df: (term) => this.df(term), read: (term) => this.read(term) },
      maxEntries: maxHeld,
    });
  }

  /**
   * Opens `path`; throws {@link LexicalCorruptError} for a file that is not a sound snapshot (ENOENT
   * when missing). `maxHeldPostings`: entries kept between reads (default {@link READER_HELD_POSTINGS}).
   */
  static async open(path: string, opts: { maxHeldPostings?: number } = {}): Promise<LexicalSnapshotReader> {
    let file: SectionFile;
    try {
      file = await SectionFile.open(path, LEXICAL_MAGIC, LEXICAL_VERSION, 'lexical index');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      throw new LexicalCorruptError(errMessage(err));
    }
    try {
      const h = checkLexicalHeader(file.header);
      const [ids, idOffsets, idHash, terms, termOffsets, lengths, listOffsets, listCrcs] = await Promise.all(
        ['ids', 'idOffsets', 'idHash', 'terms', 'termOffsets', 'lengths', 'listOffsets', 'listCrcs'].map((s) => file.section(s)),
      );
      const offsets = u32(listOffsets!);
      const lens = f32(lengths!);
      const crcs = u32(listCrcs!);
      const table = u32(idHash!);
      if (lens.length !== h.docs || offsets.length !== h.terms + 1 || crcs.length !== h.terms || offsets[h.terms] !== h.postings)
        throw new LexicalCorruptError('counts do not match');
      if (table.length < 2 * h.docs || (table.length & (table.length - 1)) !== 0) throw new LexicalCorruptError('bad id table');
      if (file.length('docs') !== h.postings * 4 || file.length('tfs') !== h.postings * 4) throw new LexicalCorruptError('posting sizes do not add up');
      for (let i = 0; i < h.terms; i++) if (offsets[i]! > offsets[i + 1]!) throw new LexicalCorruptError('posting sizes do not add up');
      return new LexicalSnapshotReader(
        file,
        h.meta,
        PackedStrings.check(ids!, u32(idOffsets!), h.docs, 'id'),
        table,
        PackedStrings.check(terms!, u32(termOffsets!), h.terms, 'term'),
        offsets,
        crcs,
        lens,
        opts.maxHeldPostings ?? READER_HELD_POSTINGS,
      );
    } catch (err) {
      file.close();
      if (err instanceof LexicalCorruptError) throw err;
      throw new LexicalCorruptError(errMessage(err));
    }
  }

  /** Documents in the snapshot. */
  get documentCount(): number {
    return this.ids.count;
  }

  /** Document number → id. */
  idOf(d: number): string {
    return this.ids.at(d);
  }

  /** The document of an id, through the stored hash table (no map over all ids). */
  locate(id: string): number | undefined {
    const mask = this.idHash.length - 1;
    for (let h = fnv1a32(id) & mask, probes = 0; probes <= mask; h = (h + 1) & mask, probes++) {
      const slot = this.idHash[h]!;
      if (slot === 0) return undefined;
      const d = slot - 1;
      if (d < this.ids.count && this.ids.at(d) === id) return d;
    }
    return undefined;
  }

  /** Documents containing `term`, from the list offsets. */
  df(term: string): number {
    const t = this.terms.find(term);
    return t < 0 ? 0 : this.listOffsets[t + 1]! - this.listOffsets[t]!;
  }

  /** The posting list of `term` read from the file and checked against its CRC (null: no such term). */
  read(term: string): { docs: Int32Array; tfs: Float32Array } | null {
    const t = this.terms.find(term);
    if (t < 0) return null;
    const a = this.listOffsets[t]! * 4;
    const n = this.listOffsets[t + 1]! * 4 - a;
    let docs: Buffer;
    let tfs: Buffer;
    try {
      docs = this.file.rangeSync('docs', a, n);
      tfs = this.file.rangeSync('tfs', a, n);
    } catch (err) {
      throw new LexicalCorruptError(errMessage(err));
    }
    if (crc32(tfs, crc32(docs)) !== this.listCrcs[t]) throw new LexicalCorruptError(`the postings of "${term}" fail their checksum; run \`groundwork index\` to rebuild the index`);
    return { docs: i32(docs), tfs: f32(tfs) };
  }

  close(): void {
    this.file.close();
  }
}
