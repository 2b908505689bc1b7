/**
 * The one top-k selection of the engine, shared by the two rankers that score every candidate: BM25
 * (lexicalIndex.ts, one score per touched document) and the vector store (vectorStore.ts, one dot
 * product per live row).
 *
 * Order: higher score first; equal scores by `keys[index]` ascending (chunk ids), so a ranking never
 * depends on the order in which documents or rows were added: two indexes of the same files rank ties
 * the same way. With distinct keys this is a strict total order, so the kept set and its sorted order
 * are unique whatever the heap's internal order.
 *
 * A bounded binary min-heap in two typed arrays whose root is the worst kept entry: O(n log k) for n
 * pushes, no allocation per push.
 */
/** Tie-break order given directly: true when index `a`'s key sorts after index `b`'s (keys never built). */
export type KeyAfter = (a: number, b: number) => boolean;

export class TopK {
  private readonly scores: Float64Array;
  private readonly indices: Int32Array;
  private readonly after: KeyAfter;
  private n = 0;

  /**
   * @param capacity how many entries to keep (k); 0 keeps none.
   * @param keys the tie-break key of each index (a chunk id), or the order of those keys as a function
   *   (the vector store compares packed ids without building them); used only when two scores are equal.
   */
  constructor(
    readonly capacity: number,
    keys: ArrayLike<string> | KeyAfter,
  ) {
    this.scores = new Float64Array(capacity);
    this.indices = new Int32Array(capacity);
    this.after = typeof keys === 'function' ? keys : (a, b) => keys[a]! > keys[b]!;
  }

  /** Entries kept so far (at most {@link capacity}). */
  get size(): number {
    return this.n;
  }

  /** "(sa, ia) ranks below (sb, ib)": lower score, or the same score and a larger key. */
  private worse(sa: number, ia: number, sb: number, ib: number): boolean {
    return sa < sb || (sa === sb && this.after(ia, ib));
  }

  /** Offers one candidate; it is kept when fewer than `capacity` are kept or it beats the worst kept one. */
  push(score: number, index: number): void {
    const hs = this.scores;
    const hi = this.indices;
    if (this.n < this.capacity) {
      // Sift up from the new leaf.
      let i = this.n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, index, hs[parent]!, hi[parent]!)) break;
        hs[i] = hs[parent]!;
        hi[i] = hi[parent]!;
        i = parent;
      }
      hs[i] = score;
      hi[i] = index;
    } else if (this.n > 0 && this.worse(hs[0]!, hi[0]!, score, index)) {
      // Replace the root (the worst kept entry) and sift it down.
      const size = this.n;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        let c = l;
        if (r < size && this.worse(hs[r]!, hi[r]!, hs[l]!, hi[l]!)) c = r;
        if (!this.worse(hs[c]!, hi[c]!, score, index)) break;
        hs[i] = hs[c]!;
        hi[i] = hi[c]!;
        i = c;
      }
      hs[i] = score;
      hi[i] = index;
    }
  }

  /** The kept entries as `[index, score]`, in no particular order. */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.n; i++) out.push([this.indices[i]!, this.scores[i]!]);
    return out;
  }

  /** The kept entries as `[index, score]`, best first (score descending, then key ascending). */
  sorted(): Array<[number, number]> {
    return this.entries().sort(([ia, sa], [ib, sb]) => (this.worse(sa, ia, sb, ib) ? 1 : this.worse(sb, ib, sa, ia) ? -1 : 0));
  }
}
