// @ts-check
/**
 * Deterministic pseudo-random numbers (mulberry32, a 32-bit generator) for benchmarks, tests and the
 * tiny test model (scripts/makeTinyModel.mjs), so generated data, query sets and model weights are
 * identical on every run and failures reproduce. Not for secrets. Plain JavaScript so the Node
 * scripts can import it unbundled; random.d.mts types it for TypeScript.
 *
 * @param {number} seed
 * @returns {() => number} uniform numbers in [0, 1)
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
