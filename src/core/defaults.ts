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

/** Files larger than this are skipped as `too-large` (1 MB). */
export const DEFAULT_MAX_FILE_BYTES = 1_048_576;
