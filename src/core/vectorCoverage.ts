/**
 * How much of a result list the vectors could speak for: a question asked while the embedding phase
 * runs is answered by keywords for the files that have no vectors yet (retrieval.ts fuses them by
 * their lexical rank alone), and the front ends say so.
 */
import type { SearchableIndex } from './indexStore';

export interface VectorCoverage {
  /**
   * `keyword`: no vectors took part (none computed yet, or none configured); `hybrid`: every hit's
   * file has vectors; `partial`: some hits' files have vectors, the rest were ranked by keywords.
   */
  mode: 'keyword' | 'hybrid' | 'partial';
  /** Hits whose file has vectors, of `hits`. */
  withVectors: number;
  hits: number;
}

/** The coverage of `hits` (anything with a `path`) by the index's vectors. */
export function vectorCoverage(index: Pick<SearchableIndex, 'vectors' | 'embedder'>, hits: ReadonlyArray<{ path: string }>): VectorCoverage {
  const v = index.vectors;
  if (!v || !index.embedder || v.count === 0) return { mode: 'keyword', withVectors: 0, hits: hits.length };
  const withVectors = v.hasPath ? hits.filter((h) => v.hasPath!(h.path)).length : hits.length;
  const mode = withVectors === hits.length ? 'hybrid' : withVectors === 0 ? 'keyword' : 'partial';
  return { mode, withVectors, hits: hits.length };
}

/** A short label for a result list: "keyword search", "hybrid search", "hybrid for 4 of 10 results". */
export function coverageLabel(c: VectorCoverage): string {
  if (c.mode === 'hybrid') return 'hybrid search';
  if (c.mode === 'keyword') return 'keyword search';
  return `hybrid for ${c.withVectors} of ${c.hits} results, keywords for the rest (vectors are still being computed)`;
}
