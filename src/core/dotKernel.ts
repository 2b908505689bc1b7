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

export class DotKernel {
  private view = new Float32Array(0);
  private floats = 0;

  private constructor(
    private readonly exports: Exports,
    readonly dimensions: number,
  ) {}

  /** A kernel for `dimensions`-d vectors, or undefined when SIMD scoring is unavailable. */
  static tryLoad(dimensions: number): DotKernel | undefined {
    if (dimensions % 16 !== 0) return undefined;
    const mod = compile();
    if (!mod) return undefined;
    try {
      const instance = new WebAssembly.Instance(mod, {});
      return new DotKernel(instance.exports as unknown as Exports, dimensions);
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

  private ensureBytes(bytes: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) this.exports.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Makes room for `rows` rows, keeping the rows already there (growth happens in place). */
  reserve(rows: number): void {
    const floats = rows * this.dimensions;
    if (floats > this.floats) {
      this.ensureBytes(floats * 4);
      this.floats = floats;
    }
  }

  /** Scores rows [0, rows) against `query`; the returned view is valid until the next call. */
  score(query: Float32Array, rows: number): Float32Array {
    const qOff = align16(this.floats * 4);
    const outOff = qOff + this.dimensions * 4;
    this.ensureBytes(outOff + rows * 4);
    new Float32Array(this.exports.memory.buffer, qOff, this.dimensions).set(query);
    this.exports.dots16(0, qOff, rows, this.dimensions, outOff);
    return new Float32Array(this.exports.memory.buffer, outOff, rows);
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
