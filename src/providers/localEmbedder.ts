/**
 * Embeddings computed on this machine with transformers.js + onnxruntime-node, from model files in
 * a local folder. Nothing leaves the machine, and nothing is downloaded unless {@link downloadModel}
 * is called explicitly.
 *
 * The model runs in a worker thread (src/providers/localEmbedderWorker.ts, bundled on its own as
 * `localEmbedderWorker.js` next to the main bundles): inference is CPU-bound (~30-150 ms per chunk
 * on two cores) and must never stall the extension host or the CLI's event loop. This side only
 * posts batches of texts, awaits vectors and handles cancellation; it never imports transformers.js.
 *
 * Model folder layout (what transformers.js reads from `env.localModelPath`):
 *   <cacheDir>/<modelId>/config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Embedder } from '../core/types';
import { documentPrefixTag, prefixesFor, type EmbeddingPrefixes } from './embeddingPrefixes';
import type { DownloadWorkerInit, EmbedWorkerInit, LocalDtype, MainToWorker, Pooling, WorkerFailure, WorkerToMain } from './localEmbedderWorker';

export type { LocalDtype, Pooling } from './localEmbedderWorker';

/**
 * Default model. `Xenova/bge-small-en-v1.5`: 384-d vectors, int8 ONNX ~34 MB, and the best
 * published natural-language → code retrieval of the small models (MTEB code nDCG@10 84.5 vs 69.7
 * for all-MiniLM-L6-v2 and 60.0 for BM25), at ~68 ms per ~200-token chunk int8 on two cores
 * (see /work/shared/notes/dependencies.md). `Xenova/all-MiniLM-L6-v2` (~23 MB, ~2× faster) is the
 * lighter alternative.
 */
export const DEFAULT_LOCAL_MODEL = 'Xenova/bge-small-en-v1.5';

/** Where models come from when {@link downloadModel} is given no `remoteHost`. */
export const DEFAULT_REMOTE_HOST = 'https://huggingface.co/';

/** Environment variable naming the worker script; wins over the search next to the bundle. */
export const WORKER_SCRIPT_ENV = 'GROUNDWORK_EMBED_WORKER';

/** File name of the bundled worker (scripts/build.mjs). */
export const WORKER_SCRIPT_NAME = 'localEmbedderWorker.js';

/** Options for {@link LocalEmbedder.open} and {@link downloadModel}. */
export interface LocalEmbedderOptions {
  /** Hugging Face model id (also the folder under `cacheDir`). Default {@link DEFAULT_LOCAL_MODEL}. */
  modelId?: string;
  /** Folder that holds models as `<cacheDir>/<modelId>/…`. Default {@link defaultModelCacheDir}. */
  cacheDir?: string;
  /**
   * Which ONNX file to load. Default `q8` (onnx/model_quantized.onnx: int8 weights, ~4× smaller and
   * ~2× faster than fp32 on CPU, with near-identical retrieval quality for these models).
   */
  dtype?: LocalDtype;
  /**
   * Texts per inference call. Default 16, range 1-256. Larger batches amortise per-call overhead
   * but pad every text to the longest in the batch; texts are sorted by length before batching so
   * padding stays small. Cancellation takes effect between batches.
   */
  batchSize?: number;
  /**
   * Tokens kept per text; longer texts are truncated. Default 512, range 8-8192, and never more than
   * the model's `max_position_embeddings` (512 for BERT-family models).
   */
  maxTokens?: number;
  /**
   * How token vectors become one text vector. Default: from the model's `1_Pooling/config.json` when
   * present, otherwise `cls` for bge / mxbai-embed / arctic-embed models and `mean` for the rest
   * (MiniLM, e5, gte, nomic). The wrong choice silently degrades retrieval, so set it for unknown models.
   */
  pooling?: Pooling;
  /** L2-normalise vectors. Default true; the index scores by dot product and requires unit vectors. */
  normalize?: boolean;
  /** ONNX Runtime intra-op threads. Default: ORT's choice (one per physical core). */
  threads?: number;
  /** Path of the bundled worker script; default: found next to the running bundle (see {@link resolveWorkerScript}). */
  workerScript?: string;
  /**
   * What the user should do to get the model, appended to {@link ModelUnavailableError} messages
   * (front ends know their command names), e.g. `Run "Groundwork: Download Embedding Model".`
   */
  downloadHint?: string;
}

/** The model's files are not in the cache folder (and nothing is downloaded implicitly). */
export class ModelUnavailableError extends Error {
  constructor(
    readonly modelId: string,
    /** Folder where the files should be. */
    readonly modelDir: string,
    /** Files (relative to `modelDir`) that are missing. */
    readonly missing: string[],
    hint?: string,
  ) {
    super(
      `The local embedding model "${modelId}" is not available: ${missing.join(', ')} not found in ${modelDir}. ` +
        `${hint ? `${hint} ` : ''}` +
        `To install it by hand, copy those files from https://huggingface.co/${modelId} (same folder layout) into ${modelDir}. ` +
        'Until then search works lexical-only.',
    );
    this.name = 'ModelUnavailableError';
  }
}

/** Why the local embedder could not load or run. */
export type LocalEmbedderErrorKind = 'runtime-unavailable' | 'load-failed' | 'embed-failed' | 'worker-exited';

/** The runtime or the model failed (not a missing model: that is {@link ModelUnavailableError}). */
export class LocalEmbedderError extends Error {
  constructor(
    readonly kind: LocalEmbedderErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'LocalEmbedderError';
  }
}

/** Why a download failed: the hub lacks the model/file, cannot be reached, was cancelled, or something else. */
export type ModelDownloadErrorKind = 'not-found' | 'unreachable' | 'aborted' | 'failed';

/** {@link downloadModel} failed; the message says where from, why, and the manual alternative. */
export class ModelDownloadError extends Error {
  constructor(
    readonly kind: ModelDownloadErrorKind,
    message: string,
    /** HTTP status when the hub answered with an error. */
    readonly status?: number,
    /** Network error code (ECONNREFUSED, ENOTFOUND, …) when the hub could not be reached. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

/**
 * The per-user cache folder for models: `$XDG_CACHE_HOME` or `~/.cache` on Linux,
 * `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows, each + `/groundwork/models`. Models are
 * shared across workspaces, and a cache folder is what backup tools and cleaners expect to be
 * re-creatable.
 */
export function defaultModelCacheDir(): string {
  const home = os.homedir();
  let base: string;
  if (process.platform === 'win32') base = process.env.LOCALAPPDATA || path.join(home, 'AppData', 'Local');
  else if (process.platform === 'darwin') base = path.join(home, 'Library', 'Caches');
  else base = process.env.XDG_CACHE_HOME || path.join(home, '.cache');
  return path.join(base, 'groundwork', 'models');
}

/** The ONNX file transformers.js loads for `dtype` (relative to the model folder). */
export function onnxFileFor(dtype: LocalDtype): string {
  const suffix = dtype === 'fp32' ? '' : dtype === 'q8' ? '_quantized' : `_${dtype}`;
  return `onnx/model${suffix}.onnx`;
}

/** Files a text-embedding model needs locally for `dtype`. */
export function requiredModelFiles(dtype: LocalDtype): string[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnxFileFor(dtype)];
}

/**
 * The pooling a model was trained with: sentence-transformers' `1_Pooling/config.json` when the
 * folder has one, otherwise a rule by model family (CLS for bge, mxbai-embed and arctic-embed;
 * mean for MiniLM, mpnet, e5, gte, nomic and the rest).
 */
export function defaultPooling(modelId: string, modelDir?: string): Pooling {
  if (modelDir) {
    const cfg = readJson(path.join(modelDir, '1_Pooling', 'config.json'));
    if (cfg?.pooling_mode_cls_token === true) return 'cls';
    if (cfg?.pooling_mode_mean_tokens === true) return 'mean';
  }
  return /(^|[/_-])bge[-_]|mxbai-embed|arctic-embed/i.test(modelId) ? 'cls' : 'mean';
}

/**
 * Finds the bundled worker script: `opts.workerScript`, else `$GROUNDWORK_EMBED_WORKER`, else
 * `localEmbedderWorker.js` next to the running bundle or up to two folders above it (dist/cli.js →
 * dist/, out/test/unit/x.test.js → out/), the same search src/core/assets.ts does for wasm.
 *
 * @throws LocalEmbedderError (`runtime-unavailable`) naming every place looked at.
 */
export function resolveWorkerScript(explicit?: string): string {
  const given = explicit ?? process.env[WORKER_SCRIPT_ENV];
  if (given) {
    if (fs.existsSync(given)) return path.resolve(given);
    throw new LocalEmbedderError('runtime-unavailable', `The embedding worker script ${given} does not exist.`);
  }
  const candidates = [__dirname, path.join(__dirname, '..'), path.join(__dirname, '..', '..')].map((d) => path.join(d, WORKER_SCRIPT_NAME));
  const found = candidates.find((f) => fs.existsSync(f));
  if (found) return found;
  throw new LocalEmbedderError(
    'runtime-unavailable',
    `Cannot find ${WORKER_SCRIPT_NAME} (looked at ${candidates.join(', ')}). Run "npm run build", or set ${WORKER_SCRIPT_ENV}.`,
  );
}

interface ResolvedOptions {
  modelId: string;
  cacheDir: string;
  modelDir: string;
  dtype: LocalDtype;
  batchSize: number;
  maxTokens: number;
  pooling: Pooling;
  normalize: boolean;
  threads?: number;
  workerScript: string;
  downloadHint?: string;
}

function resolveOptions(opts: LocalEmbedderOptions): Omit<ResolvedOptions, 'workerScript' | 'pooling'> & { pooling?: Pooling; workerScript?: string } {
  const modelId = opts.modelId ?? DEFAULT_LOCAL_MODEL;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(modelId) || modelId.split('/').some((p) => p === '..' || p === '.')) {
    // The id becomes a path under cacheDir and part of a URL; refuse anything that could escape either.
    throw new RangeError(`Invalid model id "${modelId}": expected "<owner>/<name>" with letters, digits, ".", "_" or "-".`);
  }
  const cacheDir = path.resolve(opts.cacheDir ?? defaultModelCacheDir());
  return {
    modelId,
    cacheDir,
    modelDir: path.join(cacheDir, ...modelId.split('/')),
    dtype: opts.dtype ?? 'q8',
    batchSize: clampInt(opts.batchSize ?? 16, 1, 256),
    maxTokens: clampInt(opts.maxTokens ?? 512, 8, 8192),
    pooling: opts.pooling,
    normalize: opts.normalize ?? true,
    threads: opts.threads === undefined ? undefined : clampInt(opts.threads, 1, 64),
    workerScript: opts.workerScript,
    downloadHint: opts.downloadHint,
  };
}

/** Counters for diagnostics and benchmarks. */
export interface LocalEmbedderStats {
  /** Batches posted to the worker. */
  batchesSent: number;
  /** Batches the worker answered (including answers discarded after a cancel). */
  batchesDone: number;
  /** Texts embedded (answers delivered to a caller). */
  textsEmbedded: number;
  /** Worker-side inference time summed over answered batches, in ms. */
  inferenceMs: number;
}

interface Pending {
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
}

/** One worker thread with a loaded model, and the requests waiting on it. */
class WorkerHandle {
  readonly worker: Worker;
  readonly ready: Promise<{ dimensions: number; threadId: number; loadMs: number }>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;
  private loading = true;
  private settleReady!: { resolve: (info: { dimensions: number; threadId: number; loadMs: number }) => void; reject: (e: Error) => void };

  constructor(
    script: string,
    private readonly init: EmbedWorkerInit,
    private readonly stats: LocalEmbedderStats,
    private readonly onExit: (h: WorkerHandle) => void,
  ) {
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    // A rejected ready promise is handled by whoever awaits it; keep it from counting as unhandled
    // when nobody does (a worker restarted by embed() is not awaited).
    this.ready.catch(() => undefined);
    this.worker = new Worker(script, { workerData: init });
    // One handler from the start: requests posted before 'ready' queue in the worker behind the
    // load, and their answers must not be missed.
    this.worker.on('message', (m: WorkerToMain) => this.onMessage(m));
    this.worker.on('error', (err) => {
      // An error event means an uncaught exception ended the worker; before 'ready' it is almost
      // always the native runtime failing to load (wrong platform build, no node_modules/onnxruntime-node).
      this.failAll(
        new LocalEmbedderError(
          'runtime-unavailable',
          `The local embedding runtime (onnxruntime-node for ${process.platform}-${process.arch}) failed: ${err.message}`,
        ),
      );
    });
    this.worker.once('exit', (code) => {
      this.failAll(new LocalEmbedderError('worker-exited', this.closing ? 'The local embedder was closed.' : `The embedding worker exited unexpectedly (code ${code}).`));
      this.onExit(this);
    });
    this.updateRef();
  }

  private onMessage(m: WorkerToMain): void {
    if (m.type === 'ready') {
      this.loading = false;
      this.updateRef();
      this.settleReady.resolve(m);
    } else if (m.type === 'vectors') {
      this.stats.batchesDone++;
      this.stats.inferenceMs += m.ms;
      this.take(m.id)?.resolve(m.vectors);
    } else if (m.type === 'failed') {
      if (m.id === undefined) {
        // The model failed to load: nothing this worker was asked will succeed.
        this.failAll(loadError(m.failure, this.init));
      } else {
        this.stats.batchesDone++;
        this.take(m.id)?.reject(new LocalEmbedderError('embed-failed', `Local embedding failed: ${m.failure.message}`));
      }
    }
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.updateRef();
    return p;
  }

  private failAll(err: Error): void {
    this.loading = false;
    this.settleReady.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.updateRef();
  }

  /** Posts one batch; the promise rejects at once when `signal` aborts (the worker finishes the batch regardless). */
  request(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const id = this.nextId++;
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.updateRef();
        reject(abortReason(signal));
      };
      this.pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stats.batchesSent++;
      this.worker.postMessage({ type: 'embed', id, texts } satisfies MainToWorker);
      this.updateRef();
    });
  }

  /**
   * The worker must never hold the process open by itself (a CLI run that forgets close() still
   * exits), but while a caller awaits the load or an answer it must, or the process could end
   * mid-request.
   */
  private updateRef(): void {
    if (this.loading || this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  async terminate(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

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
    const p = this.prefixes.document;
    return this.embedTexts(p ? texts.map((t) => p + t) : texts, signal);
  }

  /** Embeds one search query, with the model's query marker (bge's instruction, `query: `, …). */
  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const [v] = await this.embedTexts([this.prefixes.query + text], signal);
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

function embedWorkerInit(o: ResolvedOptions): EmbedWorkerInit {
  return { mode: 'embed', modelId: o.modelId, cacheDir: o.cacheDir, dtype: o.dtype, pooling: o.pooling, maxTokens: o.maxTokens, normalize: o.normalize, threads: o.threads };
}

/** Progress of {@link downloadModel}, per file. */
export interface DownloadProgress {
  /** File within the model folder, e.g. `onnx/model_quantized.onnx`. */
  file: string;
  loadedBytes: number;
  /** 0 when the server did not say. */
  totalBytes: number;
}

/** Options for {@link downloadModel}. */
export interface DownloadModelOptions extends Pick<LocalEmbedderOptions, 'modelId' | 'cacheDir' | 'dtype' | 'workerScript'> {
  /** Hub base URL (or a mirror serving `<model>/resolve/<revision>/<file>`). Default {@link DEFAULT_REMOTE_HOST}. */
  remoteHost?: string;
  signal?: AbortSignal;
}

/**
 * Fetches a model's files (config, tokenizer, the ONNX file for `dtype`) into `<cacheDir>/<modelId>`
 * and checks the model opens. Files already present are kept, so an interrupted download resumes
 * per file. Remote access is enabled only inside the worker this call starts.
 *
 * @returns The model folder and the files now present.
 * @throws ModelDownloadError: `not-found` (the hub answered 401/403/404: wrong id, or gated),
 *   `unreachable` (no connection), `aborted`, or `failed`.
 */
export async function downloadModel(opts: DownloadModelOptions = {}, onProgress?: (p: DownloadProgress) => void): Promise<{ modelDir: string; files: string[] }> {
  const base = resolveOptions(opts);
  const remoteHost = opts.remoteHost ?? DEFAULT_REMOTE_HOST;
  const host = displayHost(remoteHost);
  const manual = `To install it by hand, copy ${requiredModelFiles(base.dtype).join(', ')} from ${remoteHost.replace(/\/?$/, '/')}${base.modelId} into ${base.modelDir}. Until then search works lexical-only.`;
  const signal = opts.signal;
  if (signal?.aborted) throw new ModelDownloadError('aborted', 'The model download was cancelled.');
  const init: DownloadWorkerInit = { mode: 'download', modelId: base.modelId, cacheDir: base.cacheDir, dtype: base.dtype, remoteHost };
  const worker = new Worker(resolveWorkerScript(base.workerScript), { workerData: init });
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new ModelDownloadError('aborted', 'The model download was cancelled; files already complete are kept.'));
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: WorkerToMain) => {
        if (m.type === 'progress') onProgress?.({ file: m.file, loadedBytes: m.loaded, totalBytes: m.total });
        else if (m.type === 'downloaded') resolve();
        else if (m.type === 'failed') reject(downloadError(m.failure, base.modelId, host, manual));
      });
      worker.once('error', (err) => reject(new ModelDownloadError('failed', `Downloading "${base.modelId}" failed: ${err.message}. ${manual}`)));
      worker.once('exit', (code) => reject(new ModelDownloadError('failed', `The download worker exited (code ${code}) before finishing. ${manual}`)));
    });
  } finally {
    await worker.terminate();
    removePartialFiles(base.modelDir);
  }
  const files = requiredModelFiles(base.dtype);
  const missing = files.filter((f) => !fs.existsSync(path.join(base.modelDir, ...f.split('/'))));
  if (missing.length) {
    throw new ModelDownloadError('failed', `The download of "${base.modelId}" finished without ${missing.join(', ')}. ${manual}`);
  }
  return { modelDir: base.modelDir, files };
}

function downloadError(f: WorkerFailure, modelId: string, host: string, manual: string): ModelDownloadError {
  switch (f.kind) {
    case 'not-found':
    case 'model-missing':
      return new ModelDownloadError(
        'not-found',
        `${host} has no model "${modelId}" or is refusing access to it (HTTP ${f.status ?? '404'}); check the model id (gated models need a token). ${manual} (${f.message})`,
        f.status,
      );
    case 'unreachable':
      return new ModelDownloadError('unreachable', `Could not reach ${host} (${f.code ?? 'network error'}): this machine may be offline or not allowed to reach it. ${manual}`, undefined, f.code);
    default:
      return new ModelDownloadError('failed', `Downloading "${modelId}" from ${host} failed: ${f.message}. ${manual}`, f.status, f.code);
  }
}

function loadError(f: WorkerFailure, init: EmbedWorkerInit): Error {
  const modelDir = path.join(init.cacheDir, ...init.modelId.split('/'));
  if (f.kind === 'model-missing' || f.kind === 'not-found') {
    // The up-front check passed but transformers.js wanted another file (e.g. external weights).
    const file = /locally at "([^"]+)"/.exec(f.message)?.[1];
    const missing = file ? [path.relative(modelDir, file).split(path.sep).join('/')] : ['a model file'];
    return new ModelUnavailableError(init.modelId, modelDir, missing);
  }
  return new LocalEmbedderError('load-failed', `The local embedding model "${init.modelId}" in ${modelDir} failed to load: ${f.message}`);
}

/** transformers.js writes downloads to `<file>.tmp.<pid>.<random>` then renames; a cancelled run leaves them behind. */
function removePartialFiles(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) removePartialFiles(p);
    else if (/\.tmp\.\d+\.[a-z0-9]+$/i.test(e.name)) fs.rmSync(p, { force: true });
  }
}

function displayHost(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError');
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function clampInt(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(n)));
}
