/**
 * Search that survives a failing embedding endpoint: when the query cannot be embedded (timeout,
 * 413, 5xx, an outage), the same search runs on keywords alone and says why, instead of failing.
 */
import { errMessage } from './errMessage';
import { search, type SearchHit } from './retrieval';
import type { SearchableIndex } from './indexStore';

export interface ResilientSearchResult {
  hits: SearchHit[];
  /** Set when vectors could not be used for this query: the one-line reason. */
  lexicalFallback?: string;
}

export async function searchWithFallback(index: SearchableIndex, query: string, opts: NonNullable<Parameters<typeof search>[2]> = {}): Promise<ResilientSearchResult> {
  try {
    return { hits: await search(index, query, opts) };
  } catch (err) {
    // Only the vector half can fail on the network; an abort or a keyword-only search is rethrown.
    if (opts.signal?.aborted || opts.mode === 'lexical' || !index.vectors) throw err;
    const hits = await search(index, query, { ...opts, mode: 'lexical' });
    return { hits, lexicalFallback: `the query could not be embedded (${errMessage(err).split('\n')[0]}); results are keyword-only` };
  }
}
