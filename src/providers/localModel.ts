/**
 * The local model's folder and options, shared by the embedder (localEmbedder.ts) and the download
 * (modelDownload.ts): defaults, the per-user cache folder, the files a model needs, its pooling, and
 * where the bundled worker script is.
 *
 * Model folder layout (what transformers.js reads from `env.localModelPath`):
 *   <cacheDir>/<modelId>/config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalEmbedderError } from './localModelErrors';
import type { LocalDtype, Pooling } from './localEmbedderWorker';

/**
 * Default model. `Xenova/bge-small-en-v1.5`: 384-d vectors, int8 ONNX ~34 MB, and the best
 * published natural-language → code retrieval of the small models (MTEB code nDCG@10 84.5 vs 69.7
 * for all-MiniLM-L6-v2 and 60.0 for BM25), at ~68 ms per ~200-token chunk int8 on two cores
 * (see /work/shared/notes/dependencies.md). `Xenova/all-MiniLM-L6-v2` (~23 MB, ~2× faster) is the
 * lighter alternative.
 */
export const DEFAULT_LOCAL_MODEL = 'Xenova/bge-small-en-v1.5';

/** Default worker count (fewer on a one-core machine); see {@link LocalEmbedderOptions.workers}. */
export const DEFAULT_WORKERS = 2;

/** Where models come from when `downloadModel` is given no `remoteHost`. */
export const DEFAULT_REMOTE_HOST = 'https://huggingface.co/';

/** Environment variable naming the worker script; wins over the search next to the bundle. */
export const WORKER_SCRIPT_ENV = 'GROUNDWORK_EMBED_WORKER';

/** File name of the bundled worker (scripts/build.mjs). */
export const WORKER_SCRIPT_NAME = 'localEmbedderWorker.js';

/** Options for `LocalEmbedder.open` and `downloadModel`. */
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
   * Most texts per inference call (a batch). Default 16, range 1-256. Larger batches amortise
   * per-call overhead; texts are sorted by estimated length and cut into batches of similar length
   * (`maxLengthRatio`), so padding stays small. Cancellation takes effect between batches. Measured
   * with fixed batches (docs/benchmarks.md, bench:embed): 8 → 33% padding, 16 → 52%, 32 → 74%.
   */
  batchSize?: number;
  /**
   * A batch's longest text is at most this many times its shortest (in estimated tokens, plus a few
   * tokens of slack); a longer text starts a new batch. Default 1.25, range ≥ 1; `Infinity` gives
   * fixed batches of `batchSize` in length order. Measured (bench:embed): padding 41% → 14%, −16%
   * CPU per chunk.
   */
  maxLengthRatio?: number;
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
  /**
   * ONNX Runtime intra-op threads per worker. Default: the machine's cores divided among the
   * workers (at least 1); 0 leaves it to ONNX Runtime (one per physical core, pinned to cores),
   * which measured 28-45% slower per chunk than an explicit count on a busy 2-core machine
   * (docs/benchmarks.md).
   */
  threads?: number;
  /**
   * Whether ONNX Runtime's idle threads spin-wait for work. Default: ORT's choice (spinning). Off
   * helped 2 threads in one worker on a busy machine (−33% vs −11% with spinning) and changed
   * nothing measurable for 1-thread workers.
   */
  spinning?: boolean;
  /**
   * Worker threads, each with its own copy of the model (~100 MB of memory each for bge-small int8),
   * taking batches in turn. Default {@link DEFAULT_WORKERS} (1 on a one-core machine), range 1-16.
   * With length-grouped batches, 2 workers × 1 thread measured −40% wall and −58% CPU per chunk
   * against one worker with ONNX Runtime's default threads on 2 cores (docs/benchmarks.md).
   */
  workers?: number;
  /** Path of the bundled worker script; default: found next to the running bundle (see {@link resolveWorkerScript}). */
  workerScript?: string;
  /**
   * What the user should do to get the model, appended to `ModelUnavailableError` messages
   * (front ends know their command names), e.g. `Run "Groundwork: Download Embedding Model".`
   */
  downloadHint?: string;
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
  throw new LocalEmbedderError('runtime-unavailable', `Cannot find ${WORKER_SCRIPT_NAME} (looked at ${candidates.join(', ')}). Run "npm run build", or set ${WORKER_SCRIPT_ENV}.`);
}

export interface ResolvedOptions {
  modelId: string;
  cacheDir: string;
  modelDir: string;
  dtype: LocalDtype;
  batchSize: number;
  maxLengthRatio: number;
  maxTokens: number;
  pooling: Pooling;
  normalize: boolean;
  threads?: number;
  spinning?: boolean;
  workers: number;
  workerScript: string;
  downloadHint?: string;
}

export function resolveOptions(opts: LocalEmbedderOptions): Omit<ResolvedOptions, 'workerScript' | 'pooling'> & { pooling?: Pooling; workerScript?: string } {
  const modelId = opts.modelId ?? DEFAULT_LOCAL_MODEL;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(modelId) || modelId.split('/').some((p) => p === '..' || p === '.')) {
    // The id becomes a path under cacheDir and part of a URL; refuse anything that could escape either.
    throw new RangeError(`Invalid model id "${modelId}": expected "<owner>/<name>" with letters, digits, ".", "_" or "-".`);
  }
  const cacheDir = path.resolve(opts.cacheDir ?? defaultModelCacheDir());
  const cores = Math.max(1, os.availableParallelism());
  const workers = clampInt(opts.workers ?? Math.min(DEFAULT_WORKERS, cores), 1, 16);
  return {
    modelId,
    cacheDir,
    modelDir: path.join(cacheDir, ...modelId.split('/')),
    dtype: opts.dtype ?? 'q8',
    batchSize: clampInt(opts.batchSize ?? 16, 1, 256),
    maxLengthRatio: opts.maxLengthRatio === undefined || Number.isNaN(opts.maxLengthRatio) ? 1.25 : Math.max(1, opts.maxLengthRatio),
    maxTokens: clampInt(opts.maxTokens ?? 512, 8, 8192),
    pooling: opts.pooling,
    normalize: opts.normalize ?? true,
    // 0 leaves the count to ONNX Runtime (which then also pins its threads to cores).
    threads: opts.threads === 0 ? undefined : clampInt(opts.threads ?? Math.floor(cores / workers), 1, 64),
    spinning: opts.spinning,
    workers,
    workerScript: opts.workerScript,
    downloadHint: opts.downloadHint,
  };
}

export function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function clampInt(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(n)));
}
