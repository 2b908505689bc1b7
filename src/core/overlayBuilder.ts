/**
 * Indexes the files of a working tree that differ from a shared snapshot (see overlayIndex.ts): the
 * same rules as the local index (ignore files, default excludes, secrets, size, binary/minified/
 * generated content), the same chunker and the same embedder, for just those files. Unsaved editor
 * contents take the place of the file on disk. Results are kept by content hash, so rebuilding the
 * overlay after one more edit chunks and embeds only that file.
 */
import { promises as fsp } from 'node:fs';
import type { FileEntry } from './catalog';
import { contentHash } from './catalog';
import type { Chunker } from './chunker/chunker';
import { classifyContent, classifyPath, newClassifyBatch, readSourceFile, realRootsOf, type DiscoveryOptions, type WorkspaceRoot } from './discovery';
import { DEFAULT_MAX_FILE_BYTES } from './defaults';
import { errMessage } from './errMessage';
import { languageForPath } from './languages';
import type { OverlayFile } from './overlayIndex';
import { findSecrets } from './secrets';
import type { Chunk, Embedder, Logger } from './types';
import { silentLogger } from './types';
import { embeddingText } from './workspaceIndex';

export interface OverlayChanges {
  /** Absolute paths that differ from the snapshot (changed, added, deleted, untracked). */
  paths: readonly string[];
  /** Unsaved editor contents by absolute path (they win over the file on disk). */
  unsaved?: ReadonlyMap<string, string>;
}

export interface OverlayBuilderOptions {
  roots: readonly WorkspaceRoot[];
  chunker: Chunker;
  options?: DiscoveryOptions;
  /** Embeds the overlay's chunks (the snapshot's embedder); absent: keywords only. */
  embedder?: Embedder;
  logger?: Logger;
}

export class OverlayBuilder {
  private readonly cache = new Map<string, OverlayFile>();
  private readonly logger: Logger;
  /** Why the last overlay's chunks have no vectors (an embedder failure), if so. */
  vectorsError?: string;

  constructor(private readonly o: OverlayBuilderOptions) {
    this.logger = o.logger ?? silentLogger;
  }

  /** The overlay for these changes: one entry per index path (null = deleted or not indexable). */
  async build(changes: OverlayChanges, signal?: AbortSignal): Promise<OverlayFile[]> {
    const options = this.o.options ?? {};
    const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const batch = newClassifyBatch(options);
    const within = await realRootsOf(this.o.roots);
    const out = new Map<string, OverlayFile>();
    const all = new Set([...changes.paths, ...(changes.unsaved?.keys() ?? [])]);
    for (const abs of all) {
      signal?.throwIfAborted();
      const info = await classifyPath(this.o.roots, abs, options, batch);
      if (!info) continue;
      if (info.ignoredBy) {
        out.set(info.path, { path: info.path, entry: null });
        continue;
      }
      const text = await this.textOf(abs, info.path, changes.unsaved?.get(abs), maxBytes, within, signal);
      if (text === undefined) {
        out.set(info.path, { path: info.path, entry: null });
        continue;
      }
      const hash = contentHash(text);
      const cached = this.cache.get(info.path);
      if (cached?.entry && cached.entry.contentHash === hash) {
        out.set(info.path, cached);
        continue;
      }
      let entry: FileEntry;
      try {
        const language = languageForPath(info.path);
        const r = await this.o.chunker.chunkFile(info.path, text, language);
        entry = {
          path: info.path,
          size: Buffer.byteLength(text),
          mtimeMs: Date.now(),
          contentHash: hash,
          language,
          method: r.method,
          fallbackReason: r.fallbackReason,
          chunks: r.chunks,
        };
      } catch (err) {
        this.logger.warn(`Could not chunk ${info.path} for the overlay: ${errMessage(err)}`);
        out.set(info.path, { path: info.path, entry: null });
        continue;
      }
      out.set(info.path, { path: info.path, entry });
    }
    await this.embed([...out.values()], signal);
    this.cache.clear();
    for (const [p, f] of out) this.cache.set(p, f);
    return [...out.values()];
  }

  /** The indexable text of a file, or undefined when it is gone or skipped by the content rules. */
  private async textOf(abs: string, indexPath: string, unsaved: string | undefined, maxBytes: number, within: string[], signal?: AbortSignal): Promise<string | undefined> {
    if (unsaved !== undefined) {
      const buf = Buffer.from(unsaved, 'utf8');
      if (buf.length > maxBytes) return undefined;
      const r = classifyContent(buf);
      if (!r.ok) return undefined;
      if ((await findSecrets(r.text, indexPath)).length) return undefined;
      return r.text;
    }
    const st = await fsp.stat(abs).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    const r = await readSourceFile(abs, maxBytes, { within, signal, displayPath: indexPath });
    return r.ok ? r.text : undefined;
  }

  /** Vectors for the entries that lack them (a failure leaves the overlay keyword-only, with a reason). */
  private async embed(files: OverlayFile[], signal?: AbortSignal): Promise<void> {
    const embedder = this.o.embedder;
    if (!embedder) return;
    const need: Array<{ f: OverlayFile; c: Chunk }> = [];
    for (const f of files) if (f.entry && !f.vectors) for (const c of f.entry.chunks) need.push({ f, c });
    if (!need.length) return;
    try {
      const vecs = await embedder.embed(
        need.map((x) => embeddingText(x.c)),
        signal,
      );
      const byFile = new Map<OverlayFile, Map<string, Float32Array>>();
      need.forEach((x, i) => {
        let m = byFile.get(x.f);
        if (!m) byFile.set(x.f, (m = new Map()));
        const v = vecs[i];
        if (v && v.length === embedder.dimensions) m.set(x.c.id, v);
      });
      for (const [f, m] of byFile) f.vectors = m;
      this.vectorsError = undefined;
    } catch (err) {
      if (signal?.aborted) throw err;
      this.vectorsError = errMessage(err);
      this.logger.warn(`The overlay's changed files are searched by keywords only: embedding them failed (${this.vectorsError}).`);
    }
  }
}
