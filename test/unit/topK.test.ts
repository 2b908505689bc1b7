import { strict as assert } from 'node:assert';
import { TopK } from '../../src/core/topK';
import { seededRandom } from '../../src/core/random.mjs';

/** The reference: every candidate sorted by score descending, then key ascending, cut at k. */
function bruteForce(scores: number[], keys: string[], k: number): Array<[number, number]> {
  return scores
    .map((s, i): [number, number] => [i, s])
    .sort(([ia, sa], [ib, sb]) => sb - sa || (keys[ia]! < keys[ib]! ? -1 : keys[ia]! > keys[ib]! ? 1 : 0))
    .slice(0, k);
}

describe('TopK (the shared top-k heap of BM25 and the vector store)', () => {
  it('keeps exactly the brute-force top k, ties broken by key, whatever the push order', () => {
    const rand = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 300);
      // Few distinct scores, so most comparisons are ties and the key decides.
      const levels = 1 + Math.floor(rand() * 6);
      const scores = Array.from({ length: n }, () => Math.floor(rand() * levels) / levels);
      // Keys not in index order, so breaking ties by index instead of key would fail.
      const keys = Array.from({ length: n }, (_, i) => `c${((i * 7919) % 10007).toString().padStart(5, '0')}`);
      const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
      for (const k of [1, 2, 3, 10, n - 1, n, n + 5]) {
        if (k < 1) continue;
        const top = new TopK(Math.min(k, n), keys);
        for (const i of order) top.push(scores[i]!, i);
        const expected = bruteForce(scores, keys, k);
        assert.deepEqual(top.sorted(), expected, `n=${n} k=${k} round=${round}`);
        assert.deepEqual(
          top
            .entries()
            .map(([i]) => i)
            .sort((a, b) => a - b),
          expected.map(([i]) => i).sort((a, b) => a - b),
        );
        assert.equal(top.size, Math.min(k, n));
      }
    }
  });

  it('keeps scores exactly as pushed (float32 values and float64 sums alike)', () => {
    const keys = ['a', 'b', 'c'];
    const f32 = new Float32Array([0.1, 0.7, 0.3]);
    const top = new TopK(2, keys);
    top.push(f32[0]!, 0);
    top.push(f32[1]!, 1);
    top.push(0.1 + 0.2, 2);
    assert.deepEqual(top.sorted(), [
      [1, f32[1]],
      [2, 0.1 + 0.2],
    ]);
  });

  it('capacity 0 keeps nothing; negative and equal scores order correctly', () => {
    const none = new TopK(0, ['a']);
    none.push(1, 0);
    assert.deepEqual(none.sorted(), []);
    const keys = ['z', 'y', 'x', 'w'];
    const top = new TopK(3, keys);
    for (const [s, i] of [
      [-1, 0],
      [-1, 1],
      [-2, 2],
      [-1, 3],
    ] as const)
      top.push(s, i);
    assert.deepEqual(top.sorted(), [
      [3, -1],
      [1, -1],
      [0, -1],
    ]);
  });
});
