/**
 * The vector store's scoring matrix, kept inside WebAssembly memory so a SIMD kernel
 * (src/core/wasm/dot.wat, compiled to dot.wasm at build time) can score every row in one call.
 *
 * Measured on this machine kind (docs/benchmarks.md): the plain-JS loop with four accumulators took
 * ~27 ms at 100k × 384; the shared notes measured a SIMD kernel of this shape at ~7.6 ms.
 * When the .wasm file is missing or the runtime lacks SIMD, {@link DotKernel.tryLoad} returns
 * undefined and the store keeps its JavaScript loop.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resolveWasmDir } from './assets';

const PAGE = 65536;

interface Exports {
  memory: WebAssembly.Memory;
  dots16: (mat: number, q: number, rows: number, dims: number, out: number) => void;
  dotsAt: (mat: number, q: number, idx: number, n: number, dims: number, out: number) => void;
  dotsI8: (mat: number, q: number, rows: number, dims: number, out: number) => void;
  quantI8: (src: number, rows: number, dims: number, dst: number, scales: number) => void;
}

let compiled: WebAssembly.Module | null | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(readFileSync(path.join(resolveWasmDir(), 'dot.wasm')));
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * The float32 matrix, and optionally (`codes`) an int8 copy of it for the store's pre-filter
 * (vectorStore.ts): `capacity × dimensions` floats at offset 0, then `capacity × dimensions` int8
 * codes, then working memory for queries and scores.
 */
export class DotKernel {
  private view = new Float32Array(0);
  private codeView = new Int8Array(0);
  private floats = 0;

  private constructor(
    private readonly exports: Exports,
    readonly dimensions: number,
    /** True when the kernel keeps int8 codes of the rows (see {@link quantizeRows}). */
    readonly hasCodes: boolean,
  ) {}

  /**
   * A kernel for `dimensions`-d vectors, or undefined when SIMD scoring is unavailable. `codes`: also
   * keep int8 codes of the rows (needs the int8 functions of the module; without them, no codes).
   */
  static tryLoad(dimensions: number, opts: { codes?: boolean } = {}): DotKernel | undefined {
    if (dimensions % 16 !== 0) return undefined;
    const mod = compile();
    if (!mod) return undefined;
    try {
      const instance = new WebAssembly.Instance(mod, {});
      const exports = instance.exports as unknown as Exports;
      const codes = Boolean(opts.codes) && typeof exports.dotsAt === 'function' && typeof exports.dotsI8 === 'function' && typeof exports.quantI8 === 'function';
      return new DotKernel(exports, dimensions, codes);
    } catch {
      return undefined;
    }
  }

  /** The matrix: `capacity × dimensions` floats at offset 0. Re-read after any call that may grow memory. */
  get matrix(): Float32Array {
    if (this.view.buffer !== this.exports.memory.buffer || this.view.length !== this.floats) {
      this.view = new Float32Array(this.exports.memory.buffer, 0, this.floats);
    }
    return this.view;
  }

  /** The int8 codes (`capacity × dimensions`, right after the matrix); empty without codes. Re-read like {@link matrix}. */
  get codes(): Int8Array {
    const n = this.hasCodes ? this.floats : 0;
    if (this.codeView.buffer !== this.exports.memory.buffer || this.codeView.length !== n) {
      this.codeView = new Int8Array(this.exports.memory.buffer, this.floats * 4, n);
    }
    return this.codeView;
  }

  /** Byte offset of the working memory after the matrix (and the codes). */
  private get scratchOffset(): number {
    return align16(this.floats * 4 + (this.hasCodes ? this.floats : 0));
  }

  private ensureBytes(bytes: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) this.exports.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Makes room for `rows` rows, keeping the rows already there (the matrix grows in place; the codes move up). */
  reserve(rows: number): void {
    const floats = rows * this.dimensions;
    if (floats > this.floats) {
      this.ensureBytes(floats * (this.hasCodes ? 5 : 4));
      if (this.hasCodes) new Uint8Array(this.exports.memory.buffer).copyWithin(floats * 4, this.floats * 4, this.floats * 5);
      this.floats = floats;
    }
  }

  /** Scores rows [0, rows) against `query`; the returned view is valid until the next call. */
  score(query: Float32Array, rows: number): Float32Array {
    const qOff = this.scratchOffset;
    const outOff = qOff + this.dimensions * 4;
    this.ensureBytes(outOff + rows * 4);
    new Float32Array(this.exports.memory.buffer, qOff, this.dimensions).set(query);
    this.exports.dots16(0, qOff, rows, this.dimensions, outOff);
    return new Float32Array(this.exports.memory.buffer, outOff, rows);
  }

  /**
   * Quantises rows [first, first + n) of the matrix into their int8 codes (the codes and scales of
   * {@link quantizeRow}, bit for bit) and writes the scales into `scales[first..first + n)`.
   */
  quantizeRows(first: number, n: number, scales: Float32Array): void {
    if (!this.hasCodes) throw new Error('this kernel keeps no int8 codes');
    if ((first + n) * this.dimensions > this.floats) throw new RangeError(`rows up to ${first + n} are past the reserved matrix`);
    if (n <= 0) return;
    const dims = this.dimensions;
    const scalesOff = this.scratchOffset;
    this.ensureBytes(scalesOff + n * 4);
    this.exports.quantI8(first * dims * 4, n, dims, this.floats * 4 + first * dims, scalesOff);
    scales.set(new Float32Array(this.exports.memory.buffer, scalesOff, n), first);
  }

  /**
   * Working views for one pre-filtered query over `rows` rows: the int8 scores of the codes against
   * `q16` (computed here), and a row list of the same length for {@link scoreRows}. Valid until the
   * next call of this kernel.
   */
  scoreCodes(q16: Int16Array, rows: number): { ints: Int32Array; list: Int32Array } {
    if (!this.hasCodes) throw new Error('this kernel keeps no int8 codes');
    const dims = this.dimensions;
    const { q16Off, intsOff, listOff, outOff } = this.prefilterLayout(rows);
    this.ensureBytes(outOff + rows * 4);
    new Int16Array(this.exports.memory.buffer, q16Off, dims).set(q16);
    this.exports.dotsI8(this.floats * 4, q16Off, rows, dims, intsOff);
    return { ints: new Int32Array(this.exports.memory.buffer, intsOff, rows), list: new Int32Array(this.exports.memory.buffer, listOff, rows) };
  }

  /**
   * Float32 scores of the first `n` rows of the list {@link scoreCodes} returned (for `rows` rows),
   * bit for bit what {@link score} gives those rows. Valid until the next call of this kernel.
   */
  scoreRows(query: Float32Array, rows: number, n: number): Float32Array {
    const { qOff, listOff, outOff } = this.prefilterLayout(rows);
    if (n > rows) throw new RangeError(`${n} rows listed, room for ${rows}`);
    this.ensureBytes(outOff + rows * 4);
    new Float32Array(this.exports.memory.buffer, qOff, this.dimensions).set(query);
    this.exports.dotsAt(0, qOff, listOff, n, this.dimensions, outOff);
    return new Float32Array(this.exports.memory.buffer, outOff, n);
  }

  private prefilterLayout(rows: number): { qOff: number; q16Off: number; intsOff: number; listOff: number; outOff: number } {
    const qOff = this.scratchOffset;
    const q16Off = align16(qOff + this.dimensions * 4);
    const intsOff = align16(q16Off + this.dimensions * 2);
    const listOff = intsOff + rows * 4;
    return { qOff, q16Off, intsOff, listOff, outOff: listOff + rows * 4 };
  }
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/**
 * The int8 variant: a `capacity × dimensions` matrix of int8 codes at offset 0 of WebAssembly memory,
 * scored against an int16 query (the int8-quantised query, widened once per query) by `dotsI8`.
 * Four times less memory than {@link DotKernel} (384 MB instead of 1.5 GB at 1M × 384).
 */
export class Int8Kernel {
  private view = new Int8Array(0);
  private bytes = 0;

  private constructor(
    private readonly exports: Exports,
    readonly dimensions: number,
  ) {}

  /** A kernel for `dimensions`-d codes, or undefined when SIMD scoring is unavailable. */
  static tryLoad(dimensions: number): Int8Kernel | undefined {
    if (dimensions % 16 !== 0) return undefined;
    const mod = compile();
    if (!mod) return undefined;
    try {
      const instance = new WebAssembly.Instance(mod, {});
      const exports = instance.exports as unknown as Exports;
      if (typeof exports.dotsI8 !== 'function' || typeof exports.quantI8 !== 'function') return undefined;
      return new Int8Kernel(exports, dimensions);
    } catch {
      return undefined;
    }
  }

  /** The codes: `capacity × dimensions` int8 at offset 0. Re-read after any call that may grow memory. */
  get matrix(): Int8Array {
    if (this.view.buffer !== this.exports.memory.buffer || this.view.length !== this.bytes) {
      this.view = new Int8Array(this.exports.memory.buffer, 0, this.bytes);
    }
    return this.view;
  }

  private ensureBytes(bytes: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) this.exports.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Makes room for `rows` rows, keeping the rows already there. */
  reserve(rows: number): void {
    const bytes = rows * this.dimensions;
    if (bytes > this.bytes) {
      this.ensureBytes(bytes);
      this.bytes = bytes;
    }
  }

  /** Integer dot products of rows [0, rows) with `query` (int8 values in int16 lanes); valid until the next call. */
  score(query: Int16Array, rows: number): Int32Array {
    const qOff = align16(this.bytes);
    const outOff = align16(qOff + this.dimensions * 2);
    this.ensureBytes(outOff + rows * 4);
    new Int16Array(this.exports.memory.buffer, qOff, this.dimensions).set(query);
    this.exports.dotsI8(0, qOff, rows, this.dimensions, outOff);
    return new Int32Array(this.exports.memory.buffer, outOff, rows);
  }

  /**
   * Working memory after the codes (where queries and scores go later, so only between queries):
   * `bytes` bytes at the returned offset, 16-byte aligned. Views over it ({@link bytesAt}) stay valid
   * until memory grows, i.e. until the next {@link reserve}, {@link score} or scratch call.
   */
  scratch(bytes: number): number {
    const off = align16(this.bytes);
    this.ensureBytes(off + bytes);
    return off;
  }

  /** A byte view of WebAssembly memory (see {@link scratch}). */
  bytesAt(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, offset, length);
  }

  /**
   * Quantises `rows` float32 rows at byte `src` of this kernel's memory (a {@link scratch} area) into
   * the codes of rows [firstRow, firstRow + rows), writing each row's scale as a float32 at byte
   * `scales`. Same codes and scales as {@link quantizeRow}, bit for bit.
   */
  quantize(src: number, rows: number, firstRow: number, scales: number): void {
    if ((firstRow + rows) * this.dimensions > this.bytes) throw new RangeError(`rows up to ${firstRow + rows} are past the reserved codes`);
    this.exports.quantI8(src, rows, this.dimensions, firstRow * this.dimensions, scales);
  }
}

/**
 * Writes the int8 codes of `v` at `codes[off..off + dims)` and returns the row's scale: codes are
 * round(v / scale) with scale = max |v| / 127, so the largest component uses the full range. The
 * reference the WebAssembly `quantI8` matches bit for bit (test/unit/vectorStore.test.ts).
 */
export function quantizeRow(v: Float32Array, codes: Int8Array, off: number, dims: number): number {
  let max = 0;
  for (let j = 0; j < dims; j++) max = Math.max(max, Math.abs(v[j]!));
  if (max === 0) {
    codes.fill(0, off, off + dims);
    return 0;
  }
  const inv = 127 / max;
  for (let j = 0; j < dims; j++) codes[off + j] = Math.round(v[j]! * inv);
  return max / 127;
}
