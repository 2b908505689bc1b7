/**
 * Query and document prefixes of the embedding models Groundwork knows. Retrieval-tuned models were
 * trained with a marker telling a search query from a passage; leaving it out measurably lowers
 * retrieval quality, and putting the query marker on documents does too.
 *
 * - bge English v1.5 models (`BAAI/bge-{small,base,large}-en-v1.5`, `Xenova/…`): the query gets the
 *   instruction "Represent this sentence for searching relevant passages: "; passages get nothing
 *   (model card, "Using Sentence-Transformers"/"For retrieval task"). bge-m3 uses no instruction.
 * - nomic-embed-text (v1, v1.5, v2): `search_query: ` / `search_document: ` (model card: "the text
 *   prompt *must* include a task instruction prefix").
 * - e5 (`intfloat/e5-*`, `multilingual-e5-*`, v1 and v2): `query: ` / `passage: ` (model card:
 *   "otherwise you will see a performance degradation"). e5-mistral and other instruct variants use
 *   a different prompt format and get none.
 * - Anything else (all-MiniLM, gte, OpenAI's text-embedding-3-*): no prefixes.
 */

export interface EmbeddingPrefixes {
  /** Prepended to a search query. */
  query: string;
  /** Prepended to every indexed document (chunk). */
  document: string;
}

export const BGE_QUERY_INSTRUCTION = 'Represent this sentence for searching relevant passages: ';

const NONE: EmbeddingPrefixes = Object.freeze({ query: '', document: '' });

/**
 * The prefixes for a model id (a Hugging Face id such as `Xenova/bge-small-en-v1.5`, or a served model
 * name such as `nomic-embed-text:latest` or `text-embedding-3-small`). Matching is on the model's
 * name, case-insensitive, ignoring the organisation and any `:tag`.
 */
export function prefixesFor(modelId: string): EmbeddingPrefixes {
  const name = (modelId.split('/').pop() ?? modelId).split(':')[0]!.toLowerCase();
  if (/bge-(small|base|large)-en/.test(name)) {
    return { query: BGE_QUERY_INSTRUCTION, document: '' };
  }
  if (name.includes('nomic-embed-text')) return { query: 'search_query: ', document: 'search_document: ' };
  if (/(^|[-_.])e5-(small|base|large)/.test(name) && !name.includes('mistral') && !name.includes('instruct')) {
    return { query: 'query: ', document: 'passage: ' };
  }
  return NONE;
}

/**
 * Suffix for an embedder id when documents get a prefix, so an index built before prefixes were
 * applied (vectors of un-prefixed passages) is recognised as another embedder and re-embedded rather
 * than mixed with prefixed ones. Empty when documents are embedded as they are.
 */
export function documentPrefixTag(p: EmbeddingPrefixes): string {
  return p.document ? `#doc:${p.document.trim()}` : '';
}

/** Documents as the model expects them (its document marker, if any, in front of each). */
export function markDocuments(p: EmbeddingPrefixes, texts: string[]): string[] {
  return p.document ? texts.map((t) => p.document + t) : texts;
}

/** A search query as the model expects it (its query marker in front). */
export function markQuery(p: EmbeddingPrefixes, text: string): string {
  return p.query + text;
}
