/** Fetches a local model's files into the model folder, in a worker that alone may reach the network. */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_REMOTE_HOST, requiredModelFiles, resolveOptions, resolveWorkerScript, type LocalEmbedderOptions } from './localModel';
import { ModelDownloadError } from './localModelErrors';
import type { DownloadWorkerInit, WorkerFailure, WorkerToMain } from './localEmbedderWorker';

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
      return new ModelDownloadError(
        'unreachable',
        `Could not reach ${host} (${f.code ?? 'network error'}): this machine may be offline or not allowed to reach it. ${manual}`,
        undefined,
        f.code,
      );
    default:
      return new ModelDownloadError('failed', `Downloading "${modelId}" from ${host} failed: ${f.message}. ${manual}`, f.status, f.code);
  }
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
