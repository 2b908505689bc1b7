import { strict as assert } from 'node:assert';
import { DotKernel, Int8Kernel } from '../../src/core/dotKernel';
import { seededRandom } from '../../src/core/random.mjs';

// The WebAssembly SIMD kernels (src/core/wasm/dot.wat, compiled by scripts/build.mjs into out/wasm)
// against a brute-force dot product in plain JavaScript, at the dimensions the store uses them for:
// 16 (the smallest the kernel takes) and 384 (the bge-small / MiniLM models).

/** Float64 dot product of float32 values: the exact reference the float32 kernel rounds towards. */
function dot(m: Float32Array, row: number, q: Float32Array): { value: number; magnitude: number } {
  let value = 0;
  let magnitude = 0;
  const o = row * q.length;
  for (let j = 0; j < q.length; j++) {
    value += m[o + j]! * q[j]!;
    magnitude += Math.abs(m[o + j]! * q[j]!);
  }
  return { value, magnitude };
}

describe('SIMD dot kernels (WebAssembly) against brute force', () => {
  for (const dims of [16, 384]) {
    it(`float32, ${dims}-d: every row's score equals the brute-force dot product up to float32 rounding`, () => {
      const kernel = DotKernel.tryLoad(dims);
      assert.ok(kernel, 'the SIMD kernel must load in the test build (out/wasm/dot.wasm)');
      const rand = seededRandom(dims);
      const q = new Float32Array(dims).map(() => rand() * 2 - 1);
      // Row counts that are not multiples of anything the kernel may unroll by; the matrix grows in
      // between, so the view must be re-read after reserve() (memory may move).
      let filled = 0;
      for (const rows of [1, 3, 37, 1000]) {
        kernel.reserve(rows);
        const m = kernel.matrix;
        for (let i = filled * dims; i < rows * dims; i++) m[i] = rand() * 2 - 1;
        // A few special rows: all zeros, the query itself, its negation, huge and tiny values.
        if (filled === 0) m.fill(0, 0, dims);
        filled = rows;
        if (rows === 1000) {
          m.set(q, 1 * dims);
          m.set(
            q.map((x) => -x),
            2 * dims,
          );
          m.set(
            q.map((x) => x * 1e6),
            3 * dims,
          );
          m.set(
            q.map((x) => x * 1e-6),
            4 * dims,
          );
        }
        const scores = kernel.score(q, rows);
        assert.equal(scores.length, rows);
        for (let r = 0; r < rows; r++) {
          const { value, magnitude } = dot(kernel.matrix, r, q);
          // Float32 accumulation: error bounded by ~dims · 2^-24 of the sum of |terms|.
          const tolerance = magnitude * dims * 2 ** -23 + 1e-30;
          assert.ok(Math.abs(scores[r]! - value) <= tolerance, `row ${r}: kernel ${scores[r]} vs brute force ${value} (tolerance ${tolerance})`);
        }
        assert.equal(scores[0], 0);
      }
    });

    it(`int8, ${dims}-d: integer dot products equal brute force exactly`, () => {
      const kernel = Int8Kernel.tryLoad(dims);
      assert.ok(kernel, 'the SIMD int8 kernel must load in the test build');
      const rand = seededRandom(1000 + dims);
      const rows = 257;
      kernel.reserve(rows);
      const codes = kernel.matrix;
      for (let i = 0; i < rows * dims; i++) codes[i] = Math.round(rand() * 254) - 127;
      // Extremes: a row of -128 (the one int8 value without a positive twin) and a row of 127.
      codes.fill(-128, 0, dims);
      codes.fill(127, dims, 2 * dims);
      const q = new Int16Array(dims).map(() => Math.round(rand() * 254) - 127);
      q[0] = -127;
      q[dims - 1] = 127;
      const scores = kernel.score(q, rows);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < dims; j++) s += codes[r * dims + j]! * q[j]!;
        assert.equal(scores[r], s, `row ${r}`);
      }
    });
  }

  it('declines dimensions that are not a multiple of 16 (the store keeps its JavaScript loop)', () => {
    assert.equal(DotKernel.tryLoad(19), undefined);
    assert.equal(Int8Kernel.tryLoad(24), undefined);
  });
});
