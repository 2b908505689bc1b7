/**
 * Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure-style, Ollama,
 * LM Studio, vLLM, llama.cpp, TEI).
 *
 * Two traps this guards against: the `openai` client asks for base64 when `encoding_format` is
 * omitted and decodes the reply as Float32, so a server that answers floats anyway yields silently
 * corrupted vectors of a quarter of the length; and a model swapped behind the same URL changes the
 * dimension under an existing index. Hence `encoding_format: 'float'` always, and every vector is
 * checked before it reaches the index.
 */
import type { Embedder } from '../core/types';
import { documentPrefixTag, type EmbeddingPrefixes, markDocuments, markQuery, prefixesFor } from './embeddingPrefixes';
import { withRetries } from './errors';
import { createEndpoint, type OpenAIEndpoint, type OpenAIEndpointOptions } from './openaiChat';

/** Options for {@link OpenAIEmbedder}. */
export interface OpenAIEmbedderOptions extends OpenAIEndpointOptions {
  /** Embedding model id, e.g. `text-embedding-3-small`, `nomic-embed-text`. */
  model: string;
  /**
   * Expected vector length. When the index already exists pass the dimension it holds, so a model
   * change is caught; otherwise {@link OpenAIEmbedder.create} discovers it with one probe call.
   */
  dimensions?: number;
  /** Texts per request. Default 64, range 1-2048 (OpenAI's per-request input limit). */
  batchSize?: number;
}

/** Why a successful HTTP response still could not be used. */
export type EmbeddingErrorKind = 'dimension-mismatch' | 'not-floats' | 'count-mismatch';

/** A reply from the embedding endpoint that would corrupt the index; the message says what to do. */
export class EmbeddingResponseError extends Error {
  constructor(
    readonly kind: EmbeddingErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EmbeddingResponseError';
  }
}

/** {@link Embedder} over an OpenAI-compatible endpoint; vectors are L2-normalised for dot-product search. */
export class OpenAIEmbedder implements Embedder {
  /** `openai:<model>@<host>`; stored in the index manifest so a change of model or server forces a rebuild. */
  readonly id: string;
  readonly dimensions: number;
  readonly batchSize: number;
  /** Query and document markers of the served model, recognised by its name (see embeddingPrefixes.ts). */
  readonly prefixes: EmbeddingPrefixes;
  private readonly endpoint: OpenAIEndpoint;

  /**
   * Use {@link OpenAIEmbedder.create} unless `dimensions` is known: the constructor cannot make the
   * probe call that discovers it. `endpoint` lets `create` reuse the client it probed with.
   */
  constructor(
    private readonly options: OpenAIEmbedderOptions & { dimensions: number },
    endpoint?: OpenAIEndpoint,
  ) {
    if (!Number.isInteger(options.dimensions) || options.dimensions <= 0) {
      throw new RangeError(`dimensions must be a positive integer (got ${options.dimensions}).`);
    }
    this.endpoint = endpoint ?? createEndpoint(options, options.model);
    this.dimensions = options.dimensions;
    this.batchSize = Math.max(1, Math.min(2048, Math.floor(options.batchSize ?? 64)));
    this.prefixes = prefixesFor(options.model);
    this.id = `openai:${options.model}@${this.endpoint.host}${documentPrefixTag(this.prefixes)}`;
  }

  /** Builds an embedder, embedding the text "dimension probe" once when `dimensions` is not given. */
  static async create(options: OpenAIEmbedderOptions, signal?: AbortSignal): Promise<OpenAIEmbedder> {
    const endpoint = createEndpoint(options, options.model);
    if (options.dimensions !== undefined) return new OpenAIEmbedder({ ...options, dimensions: options.dimensions }, endpoint);
    const [probe] = await requestBatch(endpoint, options.model, ['dimension probe'], undefined, signal);
    if (!probe || probe.length === 0) {
      throw new EmbeddingResponseError('not-floats', `The embedding endpoint at ${endpoint.info.displayURL} returned an empty vector for model "${options.model}".`);
    }
    return new OpenAIEmbedder({ ...options, dimensions: probe.length }, endpoint);
  }

  /** Embeds documents (with the model's document marker) in batches of `batchSize`, one request at a time, preserving input order. */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.embedTexts(markDocuments(this.prefixes, texts), signal);
  }

  /** Embeds one search query, with the model's query marker. */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [v] = await this.embedTexts([markQuery(this.prefixes, text)], signal);
    return v!;
  }

  private async embedTexts(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const batch = texts.slice(start, start + this.batchSize);
      const raw = await requestBatch(this.endpoint, this.options.model, batch, this.dimensions, signal);
      for (const v of raw) out.push(normalise(v));
    }
    return out;
  }
}

/**
 * One `/embeddings` request with retries; returns raw vectors in input order after checking count,
 * order indices, number type and (when `expectedDims` is given) length.
 */
async function requestBatch(endpoint: OpenAIEndpoint, model: string, batch: string[], expectedDims: number | undefined, signal: AbortSignal | undefined): Promise<number[][]> {
  const { client, info, policy, timeoutMs } = endpoint;
  const response = await withRetries(info, policy, timeoutMs, signal, (s) => client.embeddings.create({ model, input: batch, encoding_format: 'float' }, { signal: s }));
  const where = `The embedding endpoint at ${info.displayURL}`;
  const data: unknown = response?.data;
  if (!Array.isArray(data) || data.length !== batch.length) {
    const got = Array.isArray(data) ? data.length : 'no';
    throw new EmbeddingResponseError('count-mismatch', `${where} returned ${got} vectors for ${batch.length} texts.`);
  }
  const ordered: (number[] | undefined)[] = new Array(batch.length);
  for (let pos = 0; pos < data.length; pos++) {
    const item = data[pos] as { index?: unknown; embedding?: unknown } | undefined;
    // Servers may answer out of order; `index` says which input each vector belongs to. Missing
    // indices (some minimal servers omit them) fall back to the position.
    const index = typeof item?.index === 'number' ? item.index : pos;
    if (!Number.isInteger(index) || index < 0 || index >= batch.length || ordered[index] !== undefined) {
      throw new EmbeddingResponseError('count-mismatch', `${where} returned an invalid or duplicate index ${String(item?.index)}.`);
    }
    ordered[index] = checkVector(item?.embedding, expectedDims, where);
  }
  return ordered as number[][];
}

function checkVector(embedding: unknown, expectedDims: number | undefined, where: string): number[] {
  if (typeof embedding === 'string') {
    throw new EmbeddingResponseError(
      'not-floats',
      `${where} returned base64 strings, not floats, although encoding_format "float" was requested. Use a server that honours encoding_format (or upgrade it).`,
    );
  }
  if (!Array.isArray(embedding)) {
    throw new EmbeddingResponseError('not-floats', `${where} returned something other than an array of floats (${typeof embedding}).`);
  }
  if (expectedDims !== undefined && embedding.length !== expectedDims) {
    throw new EmbeddingResponseError(
      'dimension-mismatch',
      `${where} returned ${embedding.length}-d vectors but the index holds ${expectedDims}-d ones; run Groundwork: Rebuild Index (the embedding model or server has changed).`,
    );
  }
  for (const x of embedding) {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new EmbeddingResponseError('not-floats', `${where} returned a vector containing ${JSON.stringify(x)}, not finite floats.`);
    }
  }
  return embedding as number[];
}

/** L2-normalises into a Float32Array (the index scores by dot product). An all-zero vector stays zero. */
function normalise(v: number[]): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}
