/**
 * Worker-thread side of {@link LocalEmbedder} (src/providers/localEmbedder.ts): loads a
 * transformers.js model from a local folder and turns batches of texts into pooled, L2-normalised
 * vectors; in download mode it fetches a model's files into that folder instead.
 *
 * Everything expensive lives here so the caller's thread (the VS Code extension host, the CLI's
 * event loop) never blocks: importing transformers.js loads onnxruntime-node's native library
 * (~45 MB), and inference is CPU-bound for tens of milliseconds per chunk.
 *
 * scripts/build.mjs bundles this file on its own (dist/localEmbedderWorker.js, out/localEmbedderWorker.js)
 * with transformers.js inlined and `onnxruntime-node` / `onnxruntime-common` left to resolve from
 * node_modules at run time. The main side imports only the protocol types below (`import type`),
 * so none of this reaches the main bundles.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { AutoConfig, AutoModel, AutoTokenizer, env, ModelFileNotFoundError, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';

/** How token vectors become one text vector. `cls`: the first token (bge); `mean`: masked average (MiniLM, e5). */
export type Pooling = 'cls' | 'mean';

/**
 * Which ONNX file of the model to load, as transformers.js names them: `fp32` → onnx/model.onnx,
 * `q8` → onnx/model_quantized.onnx, `int8`/`uint8`/`fp16`/`q4` → onnx/model_<dtype>.onnx.
 */
export type LocalDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4';

/** `workerData` for an embedding worker. */
export interface EmbedWorkerInit {
  mode: 'embed';
  modelId: string;
  /** Folder holding `<modelId>/config.json` etc.; becomes `env.localModelPath`. */
  cacheDir: string;
  dtype: LocalDtype;
  pooling: Pooling;
  maxTokens: number;
  normalize: boolean;
  /** ONNX Runtime intra-op threads; undefined leaves ORT's default (one per physical core). */
  threads?: number;
  /**
   * Whether ONNX Runtime's idle pool threads spin-wait for work (`session.intra_op.allow_spinning`);
   * undefined leaves ORT's default (spinning).
   */
  spinning?: boolean;
}

/** `workerData` for a download worker. */
export interface DownloadWorkerInit {
  mode: 'download';
  modelId: string;
  cacheDir: string;
  dtype: LocalDtype;
  /** Base URL of the model hub (or a mirror); transformers.js' `env.remoteHost`. */
  remoteHost: string;
}

export type WorkerInit = EmbedWorkerInit | DownloadWorkerInit;

/** Messages from the main thread. */
export type MainToWorker = { type: 'embed'; id: number; texts: string[] };

/** Why the worker failed, in a form that survives postMessage (class identity does not). */
export interface WorkerFailure {
  /**
   * `model-missing`: files absent locally (downloads disabled). `not-found`: the hub answered
   * 401/403/404. `unreachable`: no connection to the hub. `failed`: anything else.
   */
  kind: 'model-missing' | 'not-found' | 'unreachable' | 'failed';
  message: string;
  /** HTTP status when the hub answered with an error. */
  status?: number;
  /** Network error code (ECONNREFUSED, ENOTFOUND, …) found in the error's cause chain. */
  code?: string;
}

/** What one batch cost in tokens (for diagnostics and benchmarks). */
export interface TokenCounts {
  /** Real tokens (special tokens included, padding not), after truncation. */
  tokens: number;
  /** Tokens the model computed: batch size × the longest text's length. */
  padded: number;
  /** Texts cut at `maxTokens`. */
  truncated: number;
}

/** Messages to the main thread. */
export type WorkerToMain =
  | { type: 'ready'; dimensions: number; threadId: number; loadMs: number }
  | { type: 'vectors'; id: number; vectors: Float32Array[]; ms: number; tokens: TokenCounts }
  | { type: 'failed'; id?: number; failure: WorkerFailure }
  | { type: 'progress'; file: string; loaded: number; total: number }
  | { type: 'downloaded' };

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/** Turns whatever transformers.js or onnxruntime threw into a {@link WorkerFailure}. */
function describeFailure(err: unknown): WorkerFailure {
  if (err instanceof ModelFileNotFoundError) {
    const status = typeof err.status === 'number' ? err.status : undefined;
    return { kind: status === undefined ? 'model-missing' : 'not-found', message: err.message, status };
  }
  // fetch() reports network failures as `TypeError: fetch failed` with the socket error as cause.
  let code: string | undefined;
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error) messages.push(e.message);
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && !code) code = c;
  }
  const message = messages.join(': ') || String(err);
  if (code && NETWORK_CODES.has(code)) return { kind: 'unreachable', message, code };
  return { kind: 'failed', message, code };
}

/**
 * Pools `[batch, seq, hidden]` token vectors into one vector per text (honouring the attention
 * mask, so padding never counts) and L2-normalises them. A `[batch, hidden]` output (a model that
 * pools inside the graph) is taken as is.
 */
function poolAndNormalise(hidden: Float32Array, dims: readonly number[], mask: ArrayLike<bigint | number>, pooling: Pooling, normalize: boolean): Float32Array[] {
  const out: Float32Array[] = [];
  if (dims.length === 2) {
    const [batch = 0, size = 0] = dims;
    for (let b = 0; b < batch; b++) out.push(finish(hidden.slice(b * size, (b + 1) * size), normalize));
    return out;
  }
  const [batch = 0, seq = 0, size = 0] = dims;
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(size);
    if (pooling === 'cls') {
      v.set(hidden.subarray(b * seq * size, b * seq * size + size));
    } else {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (Number(mask[b * seq + s] ?? 0) === 0) continue;
        count++;
        const base = (b * seq + s) * size;
        for (let k = 0; k < size; k++) v[k]! += hidden[base + k]!;
      }
      if (count > 0) for (let k = 0; k < size; k++) v[k]! /= count;
    }
    out.push(finish(v, normalize));
  }
  return out;
}

function finish(v: Float32Array, normalize: boolean): Float32Array {
  if (!normalize) return v;
  let sum = 0;
  for (let k = 0; k < v.length; k++) sum += v[k]! * v[k]!;
  const norm = Math.sqrt(sum);
  // An all-zero vector stays zero rather than becoming NaN.
  if (norm > 0) for (let k = 0; k < v.length; k++) v[k]! /= norm;
  return v;
}

/** Real and padded token counts of one tokenized batch, from its attention mask. */
function countTokens(mask: Tensor, maxTokens: number): TokenCounts {
  const [batch = 0, seq = 0] = mask.dims;
  const data = mask.data as ArrayLike<bigint | number>;
  let tokens = 0;
  let truncated = 0;
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let s = 0; s < seq; s++) if (Number(data[b * seq + s] ?? 0) !== 0) n++;
    tokens += n;
    if (n >= maxTokens) truncated++;
  }
  return { tokens, padded: batch * seq, truncated };
}

/**
 * ONNX Runtime session options: intra-op threads, and spinning switched off when asked (idle pool
 * threads then sleep instead of burning CPU between operators, which matters on a busy machine).
 */
function sessionOptions(init: EmbedWorkerInit): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  if (init.threads) opts.intraOpNumThreads = init.threads;
  if (init.spinning !== undefined) {
    const flag = init.spinning ? '1' : '0';
    // onnxruntime-node flattens `extra` into session config keys (session.intra_op.allow_spinning).
    opts.extra = { session: { intra_op: { allow_spinning: flag }, inter_op: { allow_spinning: flag } } };
  }
  return opts;
}

/** The single hidden-state tensor of a model's outputs: `last_hidden_state` when present. */
function hiddenOutput(outputs: Record<string, Tensor>): Tensor {
  const named = outputs.last_hidden_state ?? outputs.token_embeddings ?? outputs.sentence_embedding;
  const t = named ?? Object.values(outputs).find((x) => x.dims.length === 3 || x.dims.length === 2);
  if (!t) throw new Error(`the model returned no hidden-state output (outputs: ${Object.keys(outputs).join(', ')})`);
  // fp16 models answer in float16; pooling runs in float32.
  return t.type === 'float32' ? t : t.to('float32');
}

class EmbedRunner {
  private tokenizer!: PreTrainedTokenizer;
  private model!: PreTrainedModel;

  constructor(private readonly init: EmbedWorkerInit) {}

  async load(): Promise<number> {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = this.init.cacheDir;
    // No cache writes: everything is already local, and transformers.js' default cache folder is
    // relative to its own location (inside the extension or node_modules), not a user folder.
    env.useFSCache = false;
    this.tokenizer = await AutoTokenizer.from_pretrained(this.init.modelId);
    this.model = await AutoModel.from_pretrained(this.init.modelId, {
      dtype: this.init.dtype,
      device: 'cpu',
      session_options: sessionOptions(this.init),
    });
    // One probe gives the true output size (config.hidden_size can differ for models that project).
    const [probe] = (await this.embed(['dimension probe'])).vectors;
    return probe?.length ?? 0;
  }

  async embed(texts: string[]): Promise<{ vectors: Float32Array[]; tokens: TokenCounts }> {
    const enc = this.tokenizer(texts, { padding: true, truncation: true, max_length: this.init.maxTokens }) as Record<string, Tensor>;
    const outputs = (await this.model(enc)) as Record<string, Tensor>;
    const hidden = hiddenOutput(outputs);
    const mask = enc.attention_mask;
    if (!mask) throw new Error('the tokenizer returned no attention_mask');
    const vectors = poolAndNormalise(hidden.data as Float32Array, hidden.dims, mask.data as BigInt64Array, this.init.pooling, this.init.normalize);
    return { vectors, tokens: countTokens(mask, this.init.maxTokens) };
  }
}

async function download(init: DownloadWorkerInit, post: (m: WorkerToMain) => void): Promise<void> {
  // Remote access is switched on only in this worker, whose module state (transformers' global
  // `env`) is its own: an embedding worker in the same process keeps allowRemoteModels = false.
  env.allowRemoteModels = true;
  env.allowLocalModels = true;
  env.remoteHost = init.remoteHost.endsWith('/') ? init.remoteHost : `${init.remoteHost}/`;
  env.localModelPath = init.cacheDir;
  // Downloads land in the file cache, whose layout (<cacheDir>/<modelId>/<file>) is the layout
  // localModelPath reads, so the embedding worker finds them without a copy.
  env.cacheDir = init.cacheDir;
  env.useFSCache = true;
  const progress_callback = (p: { status: string; file?: string; loaded?: number; total?: number }): void => {
    if (p.status === 'progress' && p.file) post({ type: 'progress', file: p.file, loaded: p.loaded ?? 0, total: p.total ?? 0 });
  };
  // config.json first: it is a required file, so a wrong id or a gated model fails here with the
  // hub's status (the tokenizer treats tokenizer_config.json as optional and would fail obscurely).
  await AutoConfig.from_pretrained(init.modelId, { progress_callback });
  // Loading the model (not only fetching it) proves the downloaded graph opens in this runtime.
  await AutoModel.from_pretrained(init.modelId, { dtype: init.dtype, device: 'cpu', progress_callback });
  await AutoTokenizer.from_pretrained(init.modelId, { progress_callback });
}

function main(): void {
  const port = parentPort;
  if (!port) return;
  const init = workerData as WorkerInit;
  const post = (m: WorkerToMain, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  if (init.mode === 'download') {
    download(init, post).then(
      () => post({ type: 'downloaded' }),
      (err: unknown) => post({ type: 'failed', failure: describeFailure(err) }),
    );
    return;
  }
  const runner = new EmbedRunner(init);
  const started = performance.now();
  let loaded = false;
  // Requests run one at a time in arrival order (the main side sends one batch per message), so
  // the chain never rejects: each step reports its own failure.
  let chain: Promise<void> = runner.load().then(
    (dimensions) => {
      loaded = true;
      post({ type: 'ready', dimensions, threadId, loadMs: performance.now() - started });
    },
    (err: unknown) => post({ type: 'failed', failure: describeFailure(err) }),
  );
  port.on('message', (msg: MainToWorker) => {
    if (msg.type !== 'embed') return;
    chain = chain.then(async () => {
      const t0 = performance.now();
      try {
        if (!loaded) throw new Error('the model failed to load');
        const { vectors, tokens } = await runner.embed(msg.texts);
        post(
          { type: 'vectors', id: msg.id, vectors, ms: performance.now() - t0, tokens },
          vectors.map((v) => v.buffer as ArrayBuffer),
        );
      } catch (err) {
        post({ type: 'failed', id: msg.id, failure: describeFailure(err) });
      }
    });
  });
}

main();
