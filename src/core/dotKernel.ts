/**
 * The vector store's scoring matrix, kept inside WebAssembly memory so a SIMD kernel
 * (src/core/wasm/dot.wat, compiled to dot.wasm at build time) can score every row in one call.
 *
 * Measured on this machine kind (docs/benchmarks.md): the plain-JS loop with four accumulators took
 * ~27 ms at 100k × 384; the shared notes measured a SIMD kernel of this shape at ~7.6 ms.
 * When the .wasm file is missing or the runtime lacks SIMD, {@link DotKernel.tryLoad} returns
 * undefined and the store keeps its JavaScript loop. With `codes`, the float kernel also holds the
 * int8 codes and per-row bound terms of the store's exact pre-filter (`bounds`, `scoreRows`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resolveWasmDir } from './assets';

const PAGE = 65536;

interface Exports {
  memory: WebAssembly.Memory;
  dots16: (mat: number, q: number, rows: number, dims: number, out: number) => void;
  dotsAt: (mat: number, q: number, idx: number, n: number, dims: number, out: number) => void;
  quantF32: (src: number, rows: number, dims: number, dst: number, scales: number, norms: number, errs: number) => void;
  boundsI8: (mat: number, q: number, rows: number, dims: number, scales: number, cn: number, ce: number, t: number, fa: number, eb: number, lo: number, hi: number) => void;
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
 * The float32 matrix, and optionally (`codes`) what the store's exact int8 pre-filter needs
 * (vectorStore.ts): in WebAssembly memory, `capacity × dimensions` floats at offset 0, then
 * `capacity × dimensions` int8 codes, then three float32 values per row (the codes' scale and the
 * two terms of the row's error bound), then working memory for queries and scores.
 */
export class DotKernel {
  private view = new Float32Array(0);
  private codeView = new Int8Array(0);
  private rowViews: [Float32Array, Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];
  /** Rows reserved. */
  private cap = 0;

  private constructor(
    private readonly exports: Exports,
    readonly dimensions: number,
    /** True when the kernel keeps int8 codes of the rows (see {@link quantizeRows}). */
    readonly hasCodes: boolean,
  ) {}

  /**
   * A kernel for `dimensions`-d vectors, or undefined when SIMD scoring is unavailable. `codes`: also
   * keep int8 codes of the rows (when the module has the functions for them).
   */
  static tryLoad(dimensions: number, opts: { codes?: boolean } = {}): DotKernel | undefined {
    if (dimensions % 16 !== 0) return undefined;
    const mod = compile();
    if (!mod) return undefined;
    try {
      const instance = new WebAssembly.Instance(mod, {});
      const exports = instance.exports as unknown as Exports;
      const codes = Boolean(opts.codes) && typeof exports.dotsAt === 'function' && typeof exports.boundsI8 === 'function' && typeof exports.quantF32 === 'function';
      return new DotKernel(exports, dimensions, codes);
    } catch {
      return undefined;
    }
  }

  /** Bytes per reserved row: the float row, and with codes the code row and three floats. */
  private get rowBytes(): number {
    return this.dimensions * 4 + (this.hasCodes ? this.dimensions + 12 : 0);
  }

  /** Start of the codes, and of the per-row scale, code norm and code error arrays, for `cap` rows. */
  private regions(cap: number): { codes: number; scale: number; norm: number; err: number; end: number } {
    const codes = cap * this.dimensions * 4;
    const scale = codes + (this.hasCodes ? cap * this.dimensions : 0);
    const norm = scale + (this.hasCodes ? cap * 4 : 0);
    const err = norm + (this.hasCodes ? cap * 4 : 0);
    return { codes, scale, norm, err, end: align16(err + (this.hasCodes ? cap * 4 : 0)) };
  }

  /** The matrix: `capacity × dimensions` floats at offset 0. Re-read after any call that may grow memory. */
  get matrix(): Float32Array {
    const floats = this.cap * this.dimensions;
    if (this.view.buffer !== this.exports.memory.buffer || this.view.length !== floats) {
      this.view = new Float32Array(this.exports.memory.buffer, 0, floats);
    }
    return this.view;
  }

  /** The int8 codes (`capacity × dimensions`); empty without codes. Re-read like {@link matrix}. */
  get codes(): Int8Array {
    const n = this.hasCodes ? this.cap * this.dimensions : 0;
    if (this.codeView.buffer !== this.exports.memory.buffer || this.codeView.length !== n) {
      this.codeView = new Int8Array(this.exports.memory.buffer, this.regions(this.cap).codes, n);
    }
    return this.codeView;
  }

  /**
   * Per row (`capacity` each; empty without codes): the codes' scale (code × scale ≈ value), and the
   * store's two error-bound terms (vectorStore.ts, `codeRows`). Re-read like {@link matrix}.
   */
  get rowValues(): { scale: Float32Array; norm: Float32Array; err: Float32Array } {
    const n = this.hasCodes ? this.cap : 0;
    if (this.rowViews[0].buffer !== this.exports.memory.buffer || this.rowViews[0].length !== n) {
      const at = this.regions(this.cap);
      const buf = this.exports.memory.buffer;
      this.rowViews = [new Float32Array(buf, at.scale, n), new Float32Array(buf, at.norm, n), new Float32Array(buf, at.err, n)];
    }
    return { scale: this.rowViews[0], norm: this.rowViews[1], err: this.rowViews[2] };
  }

  private ensureBytes(bytes: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) this.exports.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /**
   * Makes room for `rows` rows, keeping the rows already there: the matrix grows in place, the
   * regions after it move up (the highest first, so none overwrites one not yet moved).
   */
  reserve(rows: number): void {
    if (rows <= this.cap) return;
    this.ensureBytes(rows * this.rowBytes + 16);
    if (this.hasCodes && this.cap > 0) {
      const from = this.regions(this.cap);
      const to = this.regions(rows);
      const mem = new Uint8Array(this.exports.memory.buffer);
      mem.copyWithin(to.err, from.err, from.err + this.cap * 4);
      mem.copyWithin(to.norm, from.norm, from.norm + this.cap * 4);
      mem.copyWithin(to.scale, from.scale, from.scale + this.cap * 4);
      mem.copyWithin(to.codes, from.codes, from.codes + this.cap * this.dimensions);
    }
    this.cap = rows;
  }

  /** Scores rows [0, rows) against `query`; the returned view is valid until the next call. */
  score(query: Float32Array, rows: number): Float32Array {
    const qOff = this.regions(this.cap).end;
    const outOff = qOff + this.dimensions * 4;
    this.ensureBytes(outOff + rows * 4);
    new Float32Array(this.exports.memory.buffer, qOff, this.dimensions).set(query);
    this.exports.dots16(0, qOff, rows, this.dimensions, outOff);
    return new Float32Array(this.exports.memory.buffer, outOff, rows);
  }

  /**
   * Quantises rows [first, first + n) of the matrix into int8 codes with their scales and bound terms
   * ({@link rowValues}): `norm` ≥ scale × ‖codes‖ and `err` ≥ ‖row − scale × codes‖ (`quantF32` in
   * dot.wat, in float32 lanes with the rounding accounted for; ~6× faster than `quantI8`, whose codes
   * must match the JavaScript `quantizeRow` bit for bit, which these need not).
   */
  quantizeRows(first: number, n: number): void {
    if (!this.hasCodes) throw new Error('this kernel keeps no int8 codes');
    if (first + n > this.cap) throw new RangeError(`rows up to ${first + n} are past the ${this.cap} reserved`);
    if (n <= 0) return;
    const dims = this.dimensions;
    const at = this.regions(this.cap);
    this.exports.quantF32(first * dims * 4, n, dims, at.codes + first * dims, at.scale + first * 4, at.norm + first * 4, at.err + first * 4);
  }

  /**
   * For one pre-filtered query over rows [0, rows): each row's interval [lo, hi] around its int8
   * score (`boundsI8` in dot.wat, with the query's codes `q16`, scale `t` and bound factors `fa`, `eb`),
   * and a row list for {@link scoreRows}. The views are valid until the next call of this kernel.
   */
  bounds(q16: Int16Array, rows: number, t: number, fa: number, eb: number): { lo: Float64Array; hi: Float64Array; list: Int32Array } {
    if (!this.hasCodes) throw new Error('this kernel keeps no int8 codes');
    if (rows > this.cap) throw new RangeError(`${rows} rows, ${this.cap} reserved`);
    const dims = this.dimensions;
    const L = this.prefilterLayout(rows);
    this.ensureBytes(L.end);
    const buf = this.exports.memory.buffer;
    new Int16Array(buf, L.q16, dims).set(q16);
    const at = this.regions(this.cap);
    this.exports.boundsI8(at.codes, L.q16, rows, dims, at.scale, at.norm, at.err, t, fa, eb, L.lo, L.hi);
    return { lo: new Float64Array(buf, L.lo, rows), hi: new Float64Array(buf, L.hi, rows), list: new Int32Array(buf, L.list, rows) };
  }

  /**
   * float32 scores of the first `n` rows of the list {@link bounds} returned (for the same `rows`),
   * bit for bit what {@link score} gives those rows. Valid until the next call of this kernel.
   */
  scoreRows(query: Float32Array, rows: number, n: number): Float32Array {
    if (n > rows) throw new RangeError(`${n} rows listed, room for ${rows}`);
    const L = this.prefilterLayout(rows);
    this.ensureBytes(L.end);
    new Float32Array(this.exports.memory.buffer, L.q, this.dimensions).set(query);
    this.exports.dotsAt(0, L.q, L.list, n, this.dimensions, L.out);
    return new Float32Array(this.exports.memory.buffer, L.out, n);
  }

  private prefilterLayout(rows: number): { q: number; q16: number; lo: number; hi: number; list: number; out: number; end: number } {
    const q = this.regions(this.cap).end;
    const q16 = align16(q + this.dimensions * 4);
    const lo = align16(q16 + this.dimensions * 2);
    const hi = lo + rows * 8;
    const list = hi + rows * 8;
    const out = list + rows * 4;
    return { q, q16, lo, hi, list, out, end: out + rows * 4 };
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
