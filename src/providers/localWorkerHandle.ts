/** One embedding worker thread with a loaded model, and the requests waiting on it (used by localEmbedder.ts). */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LocalEmbedderError, ModelUnavailableError } from './localModelErrors';
import type { ResolvedOptions } from './localModel';
import type { EmbedWorkerInit, MainToWorker, WorkerFailure, WorkerToMain } from './localEmbedderWorker';

/** Counters for diagnostics and benchmarks. */
export interface LocalEmbedderStats {
  /** Batches posted to the worker. */
  batchesSent: number;
  /** Batches the worker answered (including answers discarded after a cancel). */
  batchesDone: number;
  /** Texts embedded (answers delivered to a caller; a text repeated within one call counts once). */
  textsEmbedded: number;
  /** Worker-side inference time summed over answered batches, in ms. */
  inferenceMs: number;
  /** Real tokens of the answered batches (special tokens included, padding not), after truncation. */
  tokens: number;
  /** Tokens the model computed for them (batch size × the longest text's length): `padded / tokens - 1` is the padding overhead. */
  paddedTokens: number;
  /** Texts that were cut at `maxTokens`. */
  truncated: number;
  /** Texts not sent because the same text came earlier in the same `embed` call. */
  duplicatesSkipped: number;
}

/** Fresh counters. */
export function newStats(): LocalEmbedderStats {
  return { batchesSent: 0, batchesDone: 0, textsEmbedded: 0, inferenceMs: 0, tokens: 0, paddedTokens: 0, truncated: 0, duplicatesSkipped: 0 };
}

interface Pending {
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
}

/** One worker thread with a loaded model, and the requests waiting on it. */
export class WorkerHandle {
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
      this.failAll(new LocalEmbedderError('runtime-unavailable', `The local embedding runtime (onnxruntime-node for ${process.platform}-${process.arch}) failed: ${err.message}`));
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
      this.stats.tokens += m.tokens.tokens;
      this.stats.paddedTokens += m.tokens.padded;
      this.stats.truncated += m.tokens.truncated;
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

export function embedWorkerInit(o: ResolvedOptions): EmbedWorkerInit {
  return {
    mode: 'embed',
    modelId: o.modelId,
    cacheDir: o.cacheDir,
    dtype: o.dtype,
    pooling: o.pooling,
    maxTokens: o.maxTokens,
    normalize: o.normalize,
    threads: o.threads,
    spinning: o.spinning,
  };
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

export function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError');
}
