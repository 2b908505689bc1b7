/**
 * How much of a result list the vectors could speak for: a question asked while the embedding phase
 * runs is answered by keywords for the files that have no vectors yet (retrieval.ts fuses them by
 * their lexical rank alone), and the front ends say so.
 */
import type { SearchableIndex } from './indexStore';

export interface VectorCoverage {
  /**
   * `off`: no embedding model (keyword search by choice or for lack of a model); `keyword`: vectors
   * are on but none of the hits' files has one yet; `partial`: some have, the rest were ranked by
   * keywords; `hybrid`: every hit's file has vectors.
   */
  mode: 'off' | 'keyword' | 'partial' | 'hybrid';
  /** Hits whose file has vectors, of `hits`. */
  withVectors: number;
  hits: number;
}

/** The coverage of `hits` (anything with a `path`) by the index's vectors. */
export function vectorCoverage(index: Pick<SearchableIndex, 'vectors' | 'embedder'>, hits: ReadonlyArray<{ path: string }>): VectorCoverage {
  const v = index.vectors;
  if (!v || !index.embedder) return { mode: 'off', withVectors: 0, hits: hits.length };
  if (v.count === 0) return { mode: 'keyword', withVectors: 0, hits: hits.length };
  const withVectors = v.hasPath ? hits.filter((h) => v.hasPath!(h.path)).length : hits.length;
  const mode = withVectors === hits.length ? 'hybrid' : withVectors === 0 ? 'keyword' : 'partial';
  return { mode, withVectors, hits: hits.length };
}

/** A short label for a result list: "keyword search", "hybrid search", "hybrid for 4 of 10 results". */
export function coverageLabel(c: VectorCoverage): string {
  if (c.mode === 'hybrid') return 'hybrid search';
  if (c.mode === 'off') return 'keyword search';
  if (c.mode === 'keyword') return 'keyword search (vectors are still being computed; the files found are embedded next)';
  return `hybrid search for ${c.withVectors} of ${c.hits} results, keywords for the rest (vectors are still being computed)`;
}

/** A sentence for an answer searched while vectors are being computed (undefined when vectors covered it all, or are off). */
export function coverageNote(c: VectorCoverage): string | undefined {
  if (c.mode === 'keyword') return 'Keyword search: vectors are still being computed. The files this question found are embedded next.';
  if (c.mode === 'partial') return `Semantic search covered ${c.withVectors} of ${c.hits} results; the others were ranked by keywords (vectors are still being computed).`;
  return undefined;
}
