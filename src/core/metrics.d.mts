/** Types of metrics.mjs (see there). */
export declare function distinctPaths(paths: readonly string[]): string[];
export declare function recallAt(paths: readonly string[], expected: readonly string[], k: number): number;
export declare function reciprocalRankAt10(paths: readonly string[], expected: readonly string[]): number;
export declare function fileMetrics(
  queries: ReadonlyArray<{ id: string; expected?: readonly string[] }>,
  results: ReadonlyArray<{ id: string; hits: ReadonlyArray<{ path: string }> }>,
): { queries: number; recallAt1: number; recallAt5: number; recallAt10: number; mrrAt10: number };
