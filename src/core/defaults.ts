/**
 * Defaults shared by the engine and the front ends' settings, in a module with no imports so the
 * extension can read them without loading the engine.
 */

/**
 * Default chunk budget in characters (~20 lines of code). Chosen on the dev set: MRR@10 was 0.741,
 * 0.801, 0.727, 0.688, 0.703, 0.694 and 0.635 at 600, 800, 1000, 1200, 1500, 2500 and 4000
 * characters (first round), 0.722 / 0.750 / 0.703 / 0.671 at 600 / 800 / 1000 / 1500 with the final
 * scorer; see docs/evaluation.md.
 */
export const DEFAULT_CHUNK_CHARS = 800;

/**
 * The chunk budgets accepted, by the chunker, the CLI's `--chunk-chars` and the `groundwork.chunkChars`
 * setting alike: below 64 most declarations degrade into line soup; 100,000 is far beyond any
 * embedding model's input window. Budgets of 600-1,500 were measured (above); outside roughly
 * 400-4,000 chunks are either fragments or longer than the embedder reads.
 */
export const MIN_CHUNK_CHARS = 64;
export const MAX_CHUNK_CHARS = 100_000;

/** Files larger than this are skipped as `too-large` (1 MB). */
export const DEFAULT_MAX_FILE_BYTES = 1_048_576;
