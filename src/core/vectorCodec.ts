/**
 * Binary on-disk format for one vector shard, plugged into vectra as its `IndexCodec`, plus the typed
 * errors of the vector store.
 *
 * vectra's default JSON codec spends ~20 characters per float (~9 KB per 384-d chunk) and cannot save
 * more than ~58k such chunks at all (V8's string limit). This codec stores Float32 vectors and only the
 * three strings retrieval needs (chunk id, path, content hash; never the chunk text), so a 384-d item
 * costs ~1.6 KB, and decoding is a bounds check, a CRC and typed-array views over the read buffer.
 */
import * as zlib from 'node:zlib';
import type { IndexData, IndexItem, MetadataTypes } from 'vectra/lib/types';
import type { DocumentCatalog, IndexCodec } from 'vectra/lib/codecs';

// ---------------------------------------------------------------------------------------------------
// Errors

/** Base class of every error the vector store throws on purpose; `instanceof` it to tell them apart. */
export class VectorStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An index file is unreadable: truncated, bad checksum, foreign bytes, missing, or internally
 * inconsistent. The caller is expected to rebuild the whole index (and say so in its log).
 */
export class IndexCorruptError extends VectorStoreError {
  /** The file (or folder) that failed, when known. */
  readonly filePath: string | undefined;
  /** Short machine-friendly reason, e.g. `truncated`, `checksum`, `magic`, `missing`. */
  readonly reason: string;
  /** Human-readable detail, without the path. */
  readonly detail: string;
  constructor(reason: string, detail: string, filePath?: string, options?: { cause?: unknown }) {
    super(`${filePath ? `${filePath}: ` : ''}vector index is corrupt (${reason}): ${detail}`, options);
    this.reason = reason;
    this.detail = detail;
    this.filePath = filePath;
  }
  /** The same error with the file path filled in (the codec never knows which file it decodes). */
  withPath(filePath: string): IndexCorruptError {
    if (this.filePath) return this;
    const Ctor = this.constructor as typeof IndexCorruptError;
    return new Ctor(this.reason, this.detail, filePath, { cause: this.cause });
  }
}

/**
 * The files are intact but were written with another format version, dimension count or shard count.
 * A subclass of {@link IndexCorruptError} because the remedy is the same: rebuild.
 */
export class IndexMismatchError extends IndexCorruptError {}

/** A vector whose length differs from the store's dimensions. Nothing is written when this is thrown. */
export class DimensionMismatchError extends VectorStoreError {
  constructor(
    readonly expected: number,
    readonly actual: number,
    context: string,
  ) {
    super(`vector has ${actual} dimensions, expected ${expected} (${context})`);
  }
}

/** A vector containing NaN or ±Infinity (it would poison every score). Nothing is written. */
export class InvalidVectorError extends VectorStoreError {}

// ---------------------------------------------------------------------------------------------------
// Checksum

let crcTable: Int32Array | undefined;
function crc32Js(data: Uint8Array, initial: number): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = initial ^ -1;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * CRC-32 (IEEE) of `data`; with `initial`, the CRC of what came before continued over `data` (so a
 * file written in parts is checked without joining them). Uses `zlib.crc32` (native, ~4 GB/s here; Node ≥ 20.15) and falls back to a
 * table-driven JS loop on older runtimes.
 */
export function crc32(data: Uint8Array, initial = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, value?: number) => number }).crc32;
  return native ? native(data, initial) : crc32Js(data, initial);
}

// ---------------------------------------------------------------------------------------------------
// Codec

/** First four bytes of a shard file: "GWVS" (Groundwork Vector Shard). */
export const SHARD_MAGIC = 0x53565747; // 'G' 'W' 'V' 'S' read as a little-endian u32
/** Version of the shard layout below; bump on any change (older files then raise IndexMismatchError). */
export const SHARD_FORMAT_VERSION = 1;
const HEADER_BYTES = 32;
const TRAILER_BYTES = 4;

/** The only metadata a stored item carries. */
export interface ChunkVectorMetadata {
  /** Workspace-relative path of the file the chunk came from. */
  path: string;
  /** Content hash of the chunk (the embedding cache key). */
  hash: string;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Float32 values starting at byte `off`: a zero-copy view when aligned on a little-endian host. */
function f32At(buf: Uint8Array, off: number, n: number): Float32Array {
  if (LITTLE_ENDIAN && (buf.byteOffset + off) % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset + off, n);
  const dv = new DataView(buf.buffer, buf.byteOffset + off, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

function f64At(buf: Uint8Array, off: number, n: number): Float64Array {
  if (LITTLE_ENDIAN && (buf.byteOffset + off) % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset + off, n);
  const dv = new DataView(buf.buffer, buf.byteOffset + off, n * 8);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
  return out;
}

function checkString(s: unknown, what: string, id: string): string {
  if (typeof s !== 'string') throw new VectorStoreError(`item ${id}: ${what} must be a string`);
  // NUL separates the strings on disk; it cannot occur in paths, ids built from paths, or hex hashes.
  if (s.includes('\0')) throw new VectorStoreError(`item ${id}: ${what} contains a NUL character`);
  return s;
}

/**
 * Checks length and finiteness of a vector. Exported so every entry point (store, cache, codec) rejects
 * bad vectors the same way, before anything is written.
 */
export function validateVector(v: ArrayLike<number>, dimensions: number, context: string): void {
  if (!v || typeof v.length !== 'number') throw new InvalidVectorError(`not a vector (${context})`);
  if (v.length !== dimensions) throw new DimensionMismatchError(dimensions, v.length, context);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    // x - x is NaN for NaN and ±Infinity and 0 otherwise; one comparison per element.
    if (x - x !== 0) throw new InvalidVectorError(`vector has a non-finite value at ${i} (${context})`);
  }
}

/**
 * Byte offset of the first float32 vector in an encoded shard (see the layout below), read from its
 * header; row `i` starts at `offset + i × dimensions × 4`. Lets a reader fetch single rows with
 * positioned reads instead of decoding the whole shard.
 */
export function shardVectorOffset(header: Uint8Array): number {
  if (header.length < HEADER_BYTES) throw new IndexCorruptError('truncated', `${header.length} header bytes, need ${HEADER_BYTES}`);
  const dv = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const count = dv.getUint32(12, true);
  return align8(HEADER_BYTES + dv.getUint32(24, true) + dv.getUint32(28, true)) + count * 8;
}

/** Where the parts of an encoded shard are (see {@link BinaryVectorCodec} for the layout). */
export interface ShardLayout {
  count: number;
  /** IndexData.version. */
  dataVersion: number;
  configLen: number;
  stringLen: number;
  /** Offsets of the norms, the float32 vectors and the CRC trailer; the file is `crcOff + 4` bytes. */
  normsOff: number;
  vecOff: number;
  crcOff: number;
}

/** Bytes of the fixed header, the least a reader must read to learn the layout. */
export const SHARD_HEADER_BYTES = HEADER_BYTES;

/**
 * Checks the header of a shard of `fileSize` bytes (magic, format version, dimensions, the length the
 * header promises) and returns its layout. `header` needs only the first {@link SHARD_HEADER_BYTES}.
 * @throws IndexCorruptError (`truncated`, `magic`, `trailing-bytes`) or IndexMismatchError
 *   (`format-version`, `dimensions`), without a path.
 */
export function shardLayout(header: Uint8Array, fileSize: number, dims: number): ShardLayout {
  if (fileSize < HEADER_BYTES + TRAILER_BYTES || header.length < HEADER_BYTES) {
    throw new IndexCorruptError('truncated', `${fileSize} bytes is shorter than the ${HEADER_BYTES + TRAILER_BYTES}-byte minimum`);
  }
  const dv = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  if (dv.getUint32(0, true) !== SHARD_MAGIC) throw new IndexCorruptError('magic', 'not a Groundwork vector shard');
  const version = dv.getUint16(4, true);
  if (version !== SHARD_FORMAT_VERSION) throw new IndexMismatchError('format-version', `shard format ${version}, this build reads ${SHARD_FORMAT_VERSION}`);
  const fileDims = dv.getUint32(8, true);
  if (fileDims !== dims) throw new IndexMismatchError('dimensions', `shard has ${fileDims} dimensions, expected ${dims}`);
  const count = dv.getUint32(12, true);
  const dataVersion = dv.getFloat64(16, true);
  const configLen = dv.getUint32(24, true);
  const stringLen = dv.getUint32(28, true);
  const normsOff = align8(HEADER_BYTES + configLen + stringLen);
  const vecOff = normsOff + count * 8;
  const crcOff = vecOff + count * dims * 4;
  const expected = crcOff + TRAILER_BYTES;
  if (fileSize < expected) throw new IndexCorruptError('truncated', `${fileSize} bytes, header promises ${expected} (${count} items)`);
  if (fileSize > expected) throw new IndexCorruptError('trailing-bytes', `${fileSize} bytes, header promises ${expected}`);
  return { count, dataVersion, configLen, stringLen, normsOff, vecOff, crcOff };
}

/** Parses the metadata_config JSON of a shard whose checksum passed. @throws IndexCorruptError `config`. */
export function parseShardConfig(bytes: Buffer, from: number, to: number): IndexData['metadata_config'] {
  let metadataConfig: IndexData['metadata_config'];
  try {
    metadataConfig = JSON.parse(bytes.toString('utf8', from, to)) as IndexData['metadata_config'];
  } catch (err) {
    throw new IndexCorruptError('config', 'metadata_config is not valid JSON', undefined, { cause: err });
  }
  if (!metadataConfig || typeof metadataConfig !== 'object') throw new IndexCorruptError('config', 'metadata_config is not an object');
  return metadataConfig;
}

/**
 * Walks the string block `b[from..to)` of a shard with `count` items (`id \0 path \0 hash`, items
 * joined by \0) and calls `item(k, idFrom, idTo, pathFrom, pathTo, hashFrom, hashTo)` with byte
 * ranges, building no strings. Accepts exactly the blocks whose `split('\0')` has `3 × count` parts.
 * @throws IndexCorruptError `strings` when the block has another number of parts.
 */
export function walkShardStrings(
  b: Buffer,
  from: number,
  to: number,
  count: number,
  item: (k: number, idFrom: number, idTo: number, pathFrom: number, pathTo: number, hashFrom: number, hashTo: number) => void,
): void {
  if (count === 0) return;
  const fields = count * 3;
  const bounds = new Int32Array(6);
  let p = from;
  for (let f = 0; f < fields; f++) {
    let end = b.indexOf(0, p);
    if (end < 0 || end > to) end = to;
    const last = f === fields - 1;
    if (last ? end !== to : end >= to) {
      // Fewer parts than 3 × count (a field ran into the end), or more (a NUL in the last one).
      let parts = 1;
      for (let i = from; i < to; i++) if (b[i] === 0) parts++;
      throw new IndexCorruptError('strings', `${parts} strings for ${count} items (expected ${fields})`);
    }
    const slot = (f % 3) * 2;
    bounds[slot] = p;
    bounds[slot + 1] = end;
    if (slot === 4) item((f / 3) | 0, bounds[0]!, bounds[1]!, bounds[2]!, bounds[3]!, bounds[4]!, bounds[5]!);
    p = end + 1;
  }
}

/**
 * vectra `IndexCodec` writing one shard as a compact, checksummed binary file.
 *
 * Layout (little-endian):
 * ```
 *  0  u32  magic "GWVS"           16  f64  IndexData.version
 *  4  u16  format version (1)     24  u32  bytes of metadata_config JSON
 *  6  u16  reserved (0)           28  u32  bytes of the string block
 *  8  u32  dimensions             32  metadata_config JSON, then the string block: for each item
 * 12  u32  item count                 `id \0 path \0 hash`, items joined by \0 (UTF-8)
 *     zero padding to a multiple of 8
 *     f64[count]         norms (vectra's precomputed L2 norm)
 *     f32[count × dims]  vectors, row-major
 *     u32                CRC-32 of every byte before it
 * ```
 * The total length is fully determined by the header, so truncation and trailing garbage are detected
 * before the checksum; the checksum catches everything else. Deserialised vectors are `Float32Array`
 * views over the input buffer (typed as `number[]` for vectra, which only indexes them), so values
 * round-trip bit-exactly and decoding copies nothing.
 */
export class BinaryVectorCodec implements IndexCodec {
  /** File extension vectra appends to the default index name. */
  readonly extension = '.gwv';

  /**
   * @param dimensions Length every vector must have; a file with another value raises
   *   {@link IndexMismatchError} and serialising a wrong-length vector raises {@link DimensionMismatchError}.
   */
  constructor(readonly dimensions: number) {
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 65536) {
      throw new VectorStoreError(`dimensions must be an integer in 1..65536, got ${dimensions}`);
    }
  }

  serializeIndex(data: IndexData): Buffer {
    const dims = this.dimensions;
    const items = data.items;
    const count = items.length;
    const strings: string[] = new Array<string>(count * 3);
    for (let i = 0; i < count; i++) {
      const item = items[i]!;
      const id = checkString(item.id, 'id', String(item.id));
      if (item.metadataFile) throw new VectorStoreError(`item ${id}: external metadata files are not supported`);
      const md = item.metadata as Record<string, MetadataTypes> | undefined;
      if (!md) throw new VectorStoreError(`item ${id}: metadata { path, hash } is required`);
      for (const key of Object.keys(md)) {
        if (key !== 'path' && key !== 'hash') throw new VectorStoreError(`item ${id}: unsupported metadata key "${key}"`);
      }
      strings[i * 3] = id;
      strings[i * 3 + 1] = checkString(md.path, 'metadata.path', id);
      strings[i * 3 + 2] = checkString(md.hash, 'metadata.hash', id);
      if (!item.vector || item.vector.length !== dims) {
        throw new DimensionMismatchError(dims, item.vector ? item.vector.length : 0, `item ${id}`);
      }
    }
    const config = Buffer.from(JSON.stringify(data.metadata_config ?? {}), 'utf8');
    const stringBlock = Buffer.from(strings.join('\0'), 'utf8');
    const normsOff = align8(HEADER_BYTES + config.length + stringBlock.length);
    const vecOff = normsOff + count * 8;
    const crcOff = vecOff + count * dims * 4;
    // Buffer.alloc: zero-filled (deterministic padding) and never from the shared pool, so offset 0.
    const out = Buffer.alloc(crcOff + TRAILER_BYTES);
    out.writeUInt32LE(SHARD_MAGIC, 0);
    out.writeUInt16LE(SHARD_FORMAT_VERSION, 4);
    out.writeUInt16LE(0, 6);
    out.writeUInt32LE(dims, 8);
    out.writeUInt32LE(count, 12);
    out.writeDoubleLE(data.version, 16);
    out.writeUInt32LE(config.length, 24);
    out.writeUInt32LE(stringBlock.length, 28);
    config.copy(out, HEADER_BYTES);
    stringBlock.copy(out, HEADER_BYTES + config.length);
    if (LITTLE_ENDIAN) {
      const norms = new Float64Array(out.buffer, out.byteOffset + normsOff, count);
      const vecs = new Float32Array(out.buffer, out.byteOffset + vecOff, count * dims);
      for (let i = 0; i < count; i++) {
        const item = items[i]!;
        norms[i] = item.norm;
        vecs.set(item.vector, i * dims);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const item = items[i]!;
        out.writeDoubleLE(item.norm, normsOff + i * 8);
        for (let j = 0; j < dims; j++) out.writeFloatLE(item.vector[j]!, vecOff + (i * dims + j) * 4);
      }
    }
    out.writeUInt32LE(crc32(out.subarray(0, crcOff)), crcOff);
    return out;
  }

  deserializeIndex(input: Buffer): IndexData {
    const dims = this.dimensions;
    const { count, dataVersion, configLen, stringLen, normsOff, vecOff, crcOff } = shardLayout(input, input.length, dims);
    if (crc32(input.subarray(0, crcOff)) !== input.readUInt32LE(crcOff)) {
      throw new IndexCorruptError('checksum', 'CRC-32 mismatch');
    }
    // The checksum passed, so from here on a failure means a writer bug, still reported as corrupt.
    const metadataConfig = parseShardConfig(input, HEADER_BYTES, HEADER_BYTES + configLen);
    const strings = count === 0 ? [] : input.toString('utf8', HEADER_BYTES + configLen, HEADER_BYTES + configLen + stringLen).split('\0');
    if (strings.length !== count * 3) {
      throw new IndexCorruptError('strings', `${strings.length} strings for ${count} items (expected ${count * 3})`);
    }
    // Views need 8-byte alignment of the norms; a pooled or sliced Buffer may not have it, so copy once.
    let buf: Uint8Array = input;
    if (LITTLE_ENDIAN && input.byteOffset % 8 !== 0) {
      buf = new Uint8Array(input.length);
      buf.set(input);
    }
    const norms = f64At(buf, normsOff, count);
    const vectors = f32At(buf, vecOff, count * dims);
    const items: IndexItem[] = new Array<IndexItem>(count);
    for (let i = 0; i < count; i++) {
      items[i] = {
        id: strings[i * 3]!,
        metadata: { path: strings[i * 3 + 1]!, hash: strings[i * 3 + 2]! },
        // vectra types vectors as number[] but only reads .length and [i]; a view avoids 384 boxed
        // doubles (~3 KB) per item and keeps the bytes exact.
        vector: vectors.subarray(i * dims, (i + 1) * dims) as unknown as number[],
        norm: norms[i]!,
      };
    }
    return { version: dataVersion, metadata_config: metadataConfig, items };
  }

  // vectra's LocalDocumentIndex stores catalogs and metadata through the codec; the vector store never
  // does, but the interface requires them, so they are plain JSON.

  serializeCatalog(catalog: DocumentCatalog): Buffer {
    return Buffer.from(JSON.stringify(catalog), 'utf8');
  }

  deserializeCatalog(buffer: Buffer): DocumentCatalog {
    return JSON.parse(buffer.toString('utf8')) as DocumentCatalog;
  }

  serializeMetadata(metadata: Record<string, MetadataTypes>): Buffer {
    return Buffer.from(JSON.stringify(metadata), 'utf8');
  }

  deserializeMetadata(buffer: Buffer): Record<string, MetadataTypes> {
    return JSON.parse(buffer.toString('utf8')) as Record<string, MetadataTypes>;
  }
}
