// @ts-check
/**
 * File-level retrieval metrics, the one implementation behind `groundwork eval`, the extension's
 * Run Retrieval Evaluation (both through evaluation.ts) and `npm run eval` (scripts/evaluate.mjs,
 * which scores the public `eval --json` output with it). Ranks count distinct files (two chunks of
 * the same file are one rank), so a chunk retriever and a whole-file baseline are comparable.
 * Plain JavaScript so the Node script can import it unbundled; metrics.d.mts types it.
 */

/**
 * The paths in first-seen order, each once.
 * @param {readonly string[]} paths
 * @returns {string[]}
 */
export function distinctPaths(paths) {
  /** @type {string[]} */
  const out = [];
  for (const p of paths) if (!out.includes(p)) out.push(p);
  return out;
}

/**
 * Share of the expected files found among the first k distinct files of a result list.
 * @param {readonly string[]} paths
 * @param {readonly string[]} expected
 * @param {number} k
 */
export function recallAt(paths, expected, k) {
  const top = new Set(distinctPaths(paths).slice(0, k));
  return expected.filter((e) => top.has(e)).length / expected.length;
}

/**
 * 1 / rank of the first expected file among the first 10 distinct files, 0 when none is there.
 * @param {readonly string[]} paths
 * @param {readonly string[]} expected
 */
export function reciprocalRankAt10(paths, expected) {
  const first = distinctPaths(paths)
    .slice(0, 10)
    .findIndex((p) => expected.includes(p));
  return first >= 0 ? 1 / (first + 1) : 0;
}

/**
 * Mean recall@1/5/10 and MRR@10 over the queries that carry `expected` (others are not counted).
 * @param {ReadonlyArray<{ id: string; expected?: readonly string[] }>} queries
 * @param {ReadonlyArray<{ id: string; hits: ReadonlyArray<{ path: string }> }>} results
 */
export function fileMetrics(queries, results) {
  const byId = new Map(results.map((r) => [r.id, r]));
  let n = 0;
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let mrr = 0;
  for (const q of queries) {
    if (!q.expected?.length) continue;
    n++;
    const paths = distinctPaths((byId.get(q.id)?.hits ?? []).map((h) => h.path));
    r1 += recallAt(paths, q.expected, 1);
    r5 += recallAt(paths, q.expected, 5);
    r10 += recallAt(paths, q.expected, 10);
    mrr += reciprocalRankAt10(paths, q.expected);
  }
  const d = n || 1;
  return { queries: n, recallAt1: r1 / d, recallAt5: r5 / d, recallAt10: r10 / d, mrrAt10: mrr / d };
}
