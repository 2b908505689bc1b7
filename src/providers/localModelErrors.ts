/** The typed errors of the local embedder and the model download, each with a message the user can act on. */
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
