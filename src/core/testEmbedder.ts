/**
 * A deterministic TEST embedder: feature hashing of code terms into a fixed number of dimensions,
 * L2-normalised. It has no semantic knowledge (synonyms do not meet), so it is only for exercising
 * the vector path in tests and benchmarks without downloading a model. Real embedders live in
 * src/providers.
 */
import { fnv1a32 } from './fsUtil';
import { codeTerms } from './tokenize';
import type { Embedder } from './types';

export class HashingTestEmbedder implements Embedder {
  readonly id: string;
  /** Number of `embed` calls and texts seen, so tests can assert what was (not) re-embedded. */
  calls = 0;
  textsEmbedded = 0;

  constructor(readonly dimensions = 64) {
    this.id = `test-hashing-${dimensions}`;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    this.calls++;
    this.textsEmbedded += texts.length;
    return texts.map((t) => this.vector(t));
  }

  /** Queries and documents are hashed alike (no model, so no markers); counted as one `embed` call. */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [v] = await this.embed([text], signal);
    return v!;
  }

  private vector(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    for (const term of codeTerms(text)) {
      const h = fnv1a32(term);
      const slot = (h >>> 1) % this.dimensions;
      v[slot] = (v[slot] ?? 0) + (h & 1 ? 1 : -1);
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
    return v;
  }
}
