/**
 * Embeddings computed on this machine with transformers.js + onnxruntime-node, from model files in
 * a local folder. Nothing leaves the machine, and nothing is downloaded unless `downloadModel`
 * (modelDownload.ts) is called explicitly.
 *
 * The model runs in a worker thread (src/providers/localEmbedderWorker.ts, bundled on its own as
 * `localEmbedderWorker.js` next to the main bundles): inference is CPU-bound (~30-150 ms per chunk
 * on two cores) and must never stall the extension host or the CLI's event loop. This side only
 * posts batches of texts, awaits vectors and handles cancellation; it never imports transformers.js.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Embedder } from '../core/types';
import { documentPrefixTag, type EmbeddingPrefixes, markDocuments, markQuery, prefixesFor } from './embeddingPrefixes';
import type { LocalDtype, Pooling } from './localEmbedderWorker';
import { defaultPooling, readJson, requiredModelFiles, resolveOptions, resolveWorkerScript, type LocalEmbedderOptions, type ResolvedOptions } from './localModel';
import { LocalEmbedderError, ModelUnavailableError } from './localModelErrors';
import { abortReason, embedWorkerInit, WorkerHandle, type LocalEmbedderStats } from './localWorkerHandle';

/**
 * {@link Embedder} running a local ONNX model in a worker thread.
 *
 * Vectors are pooled as the model was trained (CLS or masked mean) and L2-normalised. `embed()`
 * sorts texts by length, sends batches of `batchSize` one at a time, and restores input order. A
 * cancelled call rejects immediately with the signal's reason; the worker finishes only the batch
 * it is running. If the worker dies, pending calls reject and the next call starts a new one.
 */
export class LocalEmbedder implements Embedder {
  /**
   * `local:<modelId>`, plus `#doc:<marker>` for models whose documents get a marker (see
   * embeddingPrefixes.ts); stored in the index manifest so a model change rebuilds the vectors.
   */
  readonly id: string;
  readonly dimensions: number;
  readonly modelId: string;
  /** Folder the model was loaded from. */
  readonly modelDir: string;
  readonly pooling: Pooling;
  readonly dtype: LocalDtype;
  readonly batchSize: number;
  readonly maxTokens: number;
  /** Milliseconds the first worker took to load the model (tokenizer + ONNX session + one probe). */
  readonly loadMs: number;
  /** The model's query and document markers (from its id; empty for models without any). */
  readonly prefixes: EmbeddingPrefixes;
  /** Counters since open. */
  readonly stats: LocalEmbedderStats;
  private handle: WorkerHandle | undefined;
  private closed = false;
  private threadOfWorker: number;

  private constructor(
    private readonly options: ResolvedOptions,
    first: WorkerHandle,
    info: { dimensions: number; threadId: number; loadMs: number },
    stats: LocalEmbedderStats,
  ) {
    this.prefixes = prefixesFor(options.modelId);
    this.id = `local:${options.modelId}${documentPrefixTag(this.prefixes)}`;
    this.dimensions = info.dimensions;
    this.modelId = options.modelId;
    this.modelDir = options.modelDir;
    this.pooling = options.pooling;
    this.dtype = options.dtype;
    this.batchSize = options.batchSize;
    this.maxTokens = options.maxTokens;
    this.loadMs = info.loadMs;
    this.stats = stats;
    this.handle = first;
    this.threadOfWorker = info.threadId;
  }

  /** `threadId` of the worker running the model (never the caller's thread); changes if the worker is restarted. */
  get workerThreadId(): number {
    return this.threadOfWorker;
  }

  /**
   * Loads the model from `<cacheDir>/<modelId>` in a new worker thread, with remote models disabled.
   *
   * @throws ModelUnavailableError when model files are missing (nothing is downloaded; see {@link downloadModel}).
   * @throws LocalEmbedderError when the runtime or the model fails to load.
   */
  static async open(opts: LocalEmbedderOptions = {}, signal?: AbortSignal): Promise<LocalEmbedder> {
    signal?.throwIfAborted();
    const base = resolveOptions(opts);
    const missing = requiredModelFiles(base.dtype).filter((f) => !fs.existsSync(path.join(base.modelDir, ...f.split('/'))));
    if (missing.length) throw new ModelUnavailableError(base.modelId, base.modelDir, missing, base.downloadHint);
    // Positions beyond the model's table fail inside ONNX Runtime with an index error; truncate first.
    const maxPositions = readJson(path.join(base.modelDir, 'config.json'))?.max_position_embeddings;
    const options: ResolvedOptions = {
      ...base,
      maxTokens: typeof maxPositions === 'number' && maxPositions > 0 ? Math.min(base.maxTokens, maxPositions) : base.maxTokens,
      pooling: base.pooling ?? defaultPooling(base.modelId, base.modelDir),
      workerScript: resolveWorkerScript(base.workerScript),
    };
    const stats: LocalEmbedderStats = { batchesSent: 0, batchesDone: 0, textsEmbedded: 0, inferenceMs: 0 };
    let embedder: LocalEmbedder | undefined;
    const handle = new WorkerHandle(options.workerScript, embedWorkerInit(options), stats, (h) => embedder?.forget(h));
    const onAbort = (): void => void handle.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await handle.ready;
      signal?.throwIfAborted();
      embedder = new LocalEmbedder(options, handle, info, stats);
      return embedder;
    } catch (err) {
      await handle.terminate();
      if (signal?.aborted) throw abortReason(signal);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Embeds documents (with the model's document marker): one unit vector per text, in input order. */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.embedTexts(markDocuments(this.prefixes, texts), signal);
  }

  /** Embeds one search query, with the model's query marker (bge's instruction, `query: `, …). */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [v] = await this.embedTexts([markQuery(this.prefixes, text)], signal);
    return v!;
  }

  private async embedTexts(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    if (this.closed) throw new LocalEmbedderError('worker-exited', 'The local embedder was closed.');
    if (texts.length === 0) return [];
    // Sorting by length keeps texts of similar length in one batch, so little compute goes to padding.
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
    const out: Float32Array[] = new Array(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const idx = order.slice(start, start + this.batchSize);
      const vectors = await this.worker().request(idx.map((i) => texts[i]!), signal);
      if (vectors.length !== idx.length) {
        throw new LocalEmbedderError('embed-failed', `The embedding worker returned ${vectors.length} vectors for ${idx.length} texts.`);
      }
      idx.forEach((i, k) => (out[i] = vectors[k]!));
      this.stats.textsEmbedded += idx.length;
    }
    return out;
  }

  /** Stops the worker; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const h = this.handle;
    this.handle = undefined;
    await h?.terminate();
  }

  /** The live worker, restarting one when the previous died (its load cost is paid again). */
  private worker(): WorkerHandle {
    // close() may land between two batches of one embed() call; never start a worker after it.
    if (this.closed) throw new LocalEmbedderError('worker-exited', 'The local embedder was closed.');
    if (!this.handle) {
      const handle = new WorkerHandle(this.options.workerScript, embedWorkerInit(this.options), this.stats, (h) => this.forget(h));
      this.handle = handle;
      // Requests posted before 'ready' queue in the worker behind the load, so there is no need to
      // wait here; a failed load rejects them, and the broken worker is stopped.
      handle.ready.then(
        (info) => (this.threadOfWorker = info.threadId),
        () => void handle.terminate(),
      );
    }
    return this.handle;
  }

  private forget(h: WorkerHandle): void {
    if (this.handle === h) this.handle = undefined;
  }
}
