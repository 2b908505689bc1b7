/**
 * Shared engine types. Everything in src/core is plain TypeScript + Node: no `vscode`, no network SDK.
 */

/** A contiguous, 1-based inclusive line range of one file, with the text an index stores for it. */
export interface Chunk {
  /** Stable within one index: `<path>#L<start>-L<end>#<hash8>` (plus `@<part>` for split long lines). */
  id: string;
  /** Workspace-relative path with `/` separators. With several roots: `<rootName>/<path>`. */
  path: string;
  /** Language id (e.g. `typescript`, `python`, `markdown`, `text`). */
  language: string;
  /** 1-based first line. */
  startLine: number;
  /** 1-based last line, inclusive. */
  endLine: number;
  /** Names of the declarations this chunk defines (functions, classes, methods, headings). */
  symbols: string[];
  /**
   * Context that makes a piece of a split declaration read on its own: the path and the enclosing
   * signatures (e.g. `src/a.ts › class Foo › method bar(x)`). Empty for top-level chunks.
   */
  header: string;
  /** The exact source text of the lines (or, for an over-long line, the piece of it). */
  text: string;
  /** Hex SHA-256 (first 16 chars) of `header + "\n" + text`: the embedding cache key. */
  hash: string;
}

/** How a file was chunked. */
export type ChunkMethod = 'syntax' | 'markdown' | 'blocks' | 'fallback';

export interface ChunkFileResult {
  chunks: Chunk[];
  method: ChunkMethod;
  /** Set when a grammar exists but the parse failed or had errors and we fell back to blocks. */
  fallbackReason?: string;
}

/**
 * Turns text into vectors. Real implementations live in src/providers; tests use a test embedder.
 * Documents and queries are embedded by different methods because retrieval models are trained with
 * different markers for each (e.g. bge's query instruction, e5's `query: ` / `passage: `); the
 * implementation applies its model's markers, callers pass plain text.
 */
export interface Embedder {
  /** Identifies the model (and its document marker); stored in the manifest so a change rebuilds the vectors. */
  readonly id: string;
  readonly dimensions: number;
  /** Embeds documents (indexed chunks): one vector per text, L2-normalised, each of length `dimensions`. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Embeds one search query: an L2-normalised vector of length `dimensions`, comparable with {@link embed}'s. */
  embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array>;
}

/** A small logging port; front ends adapt it (stderr for the CLI, an output channel in VS Code). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
