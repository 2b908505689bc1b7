/**
 * Embeddings computed on this machine with transformers.js + onnxruntime-node, from model files in
 * a local folder. Nothing leaves the machine, and nothing is downloaded unless `downloadModel`
 * (modelDownload.ts) is called explicitly.
 *
 * The model runs in worker threads (src/providers/localEmbedderWorker.ts, bundled on its own as
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
import { abortReason, embedWorkerInit, newStats, WorkerHandle, type LocalEmbedderStats } from './localWorkerHandle';

/** Tokens a batch's shortest text may be exceeded by regardless of maxLengthRatio (short texts vary a lot relatively). */
const LENGTH_SLACK_TOKENS = 8;

/**
 * A cheap estimate of a text's WordPiece token count, for grouping texts of similar length: BERT
 * tokenizers drop whitespace, make each punctuation character a token and split words into pieces
 * of a few characters, so whitespace-heavy code has far fewer tokens than its length suggests.
 */
export function estimateTokens(text: string): number {
  let n = 2; // [CLS] and [SEP]
  for (const m of text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)) n += m[0].length > 1 ? 1 + (m[0].length >> 2) : 1;
  return n;
}

/**
 * {@link Embedder} running a local ONNX model in worker threads.
 *
 * Vectors are pooled as the model was trained (CLS or masked mean) and L2-normalised. `embed()`
 * embeds each distinct text of a call once, sorts the distinct texts by estimated token count, cuts
 * them into batches of at most `batchSize` texts of similar length (`maxLengthRatio`), sends them
 * with one in flight per worker (`workers` of them), and restores input order. A cancelled
 * call rejects immediately with the signal's reason; each worker finishes only the batch it is
 * running. If a worker dies, its pending calls reject and the next batch for it starts a new one.
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
  /** Worker threads running the model. */
  readonly workers: number;
  /** Milliseconds the first worker took to load the model (tokenizer + ONNX session + one probe). */
  readonly loadMs: number;
  /** The model's query and document markers (from its id; empty for models without any). */
  readonly prefixes: EmbeddingPrefixes;
  /** Counters since open, over all workers. */
  readonly stats: LocalEmbedderStats;
  /** One slot per worker; undefined after a worker died, until the next batch restarts it. */
  private readonly handles: Array<WorkerHandle | undefined>;
  private closed = false;
  private threadOfWorker: number;

  private constructor(
    private readonly options: ResolvedOptions,
    handles: WorkerHandle[],
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
    this.workers = options.workers;
    this.loadMs = info.loadMs;
    this.stats = stats;
    this.handles = handles;
    this.threadOfWorker = info.threadId;
  }

  /** `threadId` of the (first) worker running the model (never the caller's thread); changes if that worker is restarted. */
  get workerThreadId(): number {
    return this.threadOfWorker;
  }

  /**
   * Loads the model from `<cacheDir>/<modelId>` in new worker threads, with remote models disabled.
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
    const stats = newStats();
    let embedder: LocalEmbedder | undefined;
    const handles = Array.from({ length: options.workers }, () => new WorkerHandle(options.workerScript, embedWorkerInit(options), stats, (h) => embedder?.forget(h)));
    const stopAll = (): Promise<unknown> => Promise.all(handles.map((h) => h.terminate()));
    const onAbort = (): void => void stopAll();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const infos = await Promise.all(handles.map((h) => h.ready));
      signal?.throwIfAborted();
      embedder = new LocalEmbedder(options, handles, infos[0]!, stats);
      return embedder;
    } catch (err) {
      await stopAll();
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
    // Each distinct text is embedded once (repeated license headers, generated boilerplate).
    const distinct: string[] = [];
    const slotOf = new Map<string, number>();
    const slots = texts.map((t) => {
      let slot = slotOf.get(t);
      if (slot === undefined) {
        slot = distinct.length;
        slotOf.set(t, slot);
        distinct.push(t);
      }
      return slot;
    });
    this.stats.duplicatesSkipped += texts.length - distinct.length;
    // Texts sorted by (estimated) token count, cut into batches whose longest text is at most
    // maxLengthRatio × its shortest: every text of a batch is padded to the longest, so similar
    // lengths waste little compute on padding.
    const sizes = distinct.map(estimateTokens);
    const order = distinct.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]!);
    const batches: number[][] = [];
    let current: number[] = [];
    for (const i of order) {
      const first = current[0];
      if (current.length >= this.batchSize || (first !== undefined && sizes[i]! > sizes[first]! * this.options.maxLengthRatio + LENGTH_SLACK_TOKENS)) {
        batches.push(current);
        current = [];
      }
      current.push(i);
    }
    if (current.length) batches.push(current);
    const vectors: Float32Array[] = new Array(distinct.length);
    let next = 0;
    let failed = false;
    // One batch in flight per worker; a worker takes the next batch when it answers.
    const drive = async (slot: number): Promise<void> => {
      while (next < batches.length && !failed) {
        signal?.throwIfAborted();
        const idx = batches[next++]!;
        const got = await this.worker(slot).request(
          idx.map((i) => distinct[i]!),
          signal,
        );
        if (got.length !== idx.length) {
          throw new LocalEmbedderError('embed-failed', `The embedding worker returned ${got.length} vectors for ${idx.length} texts.`);
        }
        idx.forEach((i, k) => (vectors[i] = got[k]!));
        this.stats.textsEmbedded += idx.length;
      }
    };
    const lanes = Math.min(this.handles.length, batches.length);
    await Promise.all(
      Array.from({ length: lanes }, (_, slot) =>
        drive(slot).catch((err: unknown) => {
          failed = true;
          throw err;
        }),
      ),
    );
    // A repeated text gets its own copy, so a caller changing one vector never changes another.
    const seen = new Uint8Array(distinct.length);
    return slots.map((slot) => {
      const v = vectors[slot]!;
      if (seen[slot]) return v.slice();
      seen[slot] = 1;
      return v;
    });
  }

  /** Stops the workers; pending calls reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const live = this.handles.filter((h): h is WorkerHandle => h !== undefined);
    this.handles.fill(undefined);
    await Promise.all(live.map((h) => h.terminate()));
  }

  /** The live worker of `slot`, restarting one when the previous died (its load cost is paid again). */
  private worker(slot: number): WorkerHandle {
    // close() may land between two batches of one embed() call; never start a worker after it.
    if (this.closed) throw new LocalEmbedderError('worker-exited', 'The local embedder was closed.');
    let handle = this.handles[slot];
    if (!handle) {
      const started = new WorkerHandle(this.options.workerScript, embedWorkerInit(this.options), this.stats, (h) => this.forget(h));
      handle = started;
      this.handles[slot] = started;
      // Requests posted before 'ready' queue in the worker behind the load, so there is no need to
      // wait here; a failed load rejects them, and the broken worker is stopped.
      started.ready.then(
        (info) => {
          if (slot === 0) this.threadOfWorker = info.threadId;
        },
        () => void started.terminate(),
      );
    }
    return handle;
  }

  private forget(h: WorkerHandle): void {
    const slot = this.handles.indexOf(h);
    if (slot >= 0) this.handles[slot] = undefined;
  }
}
