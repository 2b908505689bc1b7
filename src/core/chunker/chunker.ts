/**
 * Splits source files into retrieval chunks that follow the code's own structure.
 *
 * Files with a tree-sitter grammar are cut at declaration boundaries: a chunk is a whole top-level
 * declaration with its doc comments and decorators when it fits the budget, small neighbours are
 * packed together, and an oversized declaration is split at its children's boundaries, each piece
 * carrying a `header` (path and enclosing signatures) so it reads on its own. Markdown is cut at
 * headings; everything else (and grammar files the parser could not make sense of) at blank lines.
 *
 * Invariants every path keeps (the property tests check them on real files):
 * - every non-blank line of the file is in exactly one chunk, except an over-long line, which is cut
 *   into several chunks that share its line range (`@<part>` ids);
 * - a chunk's `text` is exactly its lines (joined by `\n`), or one piece of an over-long line;
 * - no chunk's text is longer than the budget.
 * Coverage holds by construction: every level of the algorithm partitions a line range into
 * contiguous sub-ranges, so a wrong or partial syntax tree can only move boundaries, never lose lines.
 */
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import { resolveWasmDir } from '../assets';
import { DEFAULT_CHUNK_CHARS, MAX_CHUNK_CHARS, MIN_CHUNK_CHARS } from '../defaults';
import { grammarWasmFor, languageForPath } from '../languages';
import type { ChunkFileResult } from '../types';
import { addKeywordSymbols, chunkBlocks, materialize, mergeSmallPieces, type Ctx } from './emission';
import { initRuntime, loadGrammar } from './grammars';
import { chunkMarkdown } from './markdown';
import { SourceLines } from './sourceLines';
import { chunkSyntaxTree, errorShare } from './syntaxWalk';
import { errMessage } from '../errMessage';
import { IndexError } from '../indexError';

/**
 * The parser runtime itself (web-tree-sitter.wasm) is missing or broken: no file can be chunked, so
 * an index run stops with this message instead of marking every file unreadable. A missing grammar
 * is not this: that language falls back to blank-line blocks.
 */
export class ChunkerUnavailableError extends IndexError {
  constructor(reason: string) {
    super(
      `Groundwork cannot parse source files: ${reason.replace(/\.?\s*$/, '.')} Reinstall Groundwork (for a checkout: npm ci && npm run build), or set GROUNDWORK_WASM_DIR to a folder that has web-tree-sitter.wasm and the grammars.`,
    );
    this.name = 'ChunkerUnavailableError';
  }
}

/**
 * Version of the chunking rules. Stored with the index: bump it whenever the chunks produced for
 * the same input change (boundaries, header format, symbols, ids), so indexes get rebuilt.
 */
export const CHUNKER_VERSION = 3;

/** Default budget in characters (the index's {@link DEFAULT_CHUNK_CHARS}); see {@link ChunkerOptions.maxChars}. */
export const DEFAULT_MAX_CHARS = DEFAULT_CHUNK_CHARS;
/** Smallest budget accepted (defaults.ts {@link MIN_CHUNK_CHARS}): below this most declarations degrade into line soup. */
export const MIN_MAX_CHARS = MIN_CHUNK_CHARS;
/** Largest budget accepted (defaults.ts {@link MAX_CHUNK_CHARS}); far beyond any embedding model's input window. */
export const MAX_MAX_CHARS = MAX_CHUNK_CHARS;

/** Options for {@link Chunker}. */
export interface ChunkerOptions {
  /**
   * Chunk budget in characters of chunk text (the header is not counted).
   *
   * Default {@link DEFAULT_MAX_CHARS} (800, about 200-250 tokens of code: well inside a 512-token
   * embedding window with room for the header; it had the best MRR@10 on the dev set, see
   * docs/evaluation.md). Accepted range {@link MIN_MAX_CHARS}–{@link MAX_MAX_CHARS} (64–100,000, the
   * same for the CLI and the setting); useful range roughly 400–4,000. Smaller budgets give more, narrower
   * chunks (more precise citations, more embedding calls, more declarations split into pieces);
   * larger ones keep whole classes together but dilute the embedding and may exceed the model's
   * window (the excess is truncated by the embedder, i.e. not searchable).
   */
  maxChars?: number;
  /** Folder holding web-tree-sitter.wasm and the grammar .wasm files; default {@link resolveWasmDir}. */
  wasmDir?: string;
}

/** Above this size we do not parse: the tree costs memory and time and such files are generated. */
const MAX_PARSE_CHARS = 2_000_000;
/**
 * A tree whose ERROR nodes cover more than this share of the file's characters is not trusted.
 * Tree-sitter recovers locally from most errors (a construct the grammar does not know yet, a
 * template placeholder, a half-written function): the ERROR node is then just one more node that
 * is packed or line-split like any other, and because chunking partitions lines, nothing is lost.
 * When a large share of the file is unparsed the boundaries are arbitrary (the file is probably not
 * in this language at all), and blank-line blocks are the better guess.
 */
const MAX_ERROR_SHARE = 0.2;

/**
 * Chunks files for the index. One instance holds one tree-sitter parser; grammars are loaded on
 * first use and shared process-wide. Call {@link Chunker.dispose} when done.
 *
 * Calls may overlap (`Promise.all` over files): they only wait while loading, and each parse and
 * walk runs synchronously.
 */
export class Chunker {
  /** Effective budget in characters. */
  readonly maxChars: number;
  private readonly wasmDirOption: string | undefined;
  private wasmDir: string | undefined;
  private parser: Parser | undefined;
  private disposed = false;

  constructor(opts: ChunkerOptions = {}) {
    const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
    if (!Number.isInteger(maxChars) || maxChars < MIN_MAX_CHARS || maxChars > MAX_MAX_CHARS) {
      throw new RangeError(`maxChars must be an integer from ${MIN_MAX_CHARS} to ${MAX_MAX_CHARS}, got ${maxChars}`);
    }
    this.maxChars = maxChars;
    this.wasmDirOption = opts.wasmDir;
  }

  /**
   * Chunks one file.
   *
   * @param filePath Path as the index stores it (workspace-relative, `/` separators); used in ids
   *   and headers and, when `language` is omitted, to detect the language.
   * @param text File contents; a BOM is dropped and CRLF/CR line breaks count as one break.
   * @param language Language id overriding detection (see languages.ts).
   * @throws Error when the tree-sitter runtime cannot start (wasm files missing). Per-file problems
   *   (grammar load or parse failure, too many syntax errors) fall back to blank-line blocks with
   *   `method: 'fallback'` and a `fallbackReason` instead.
   */
  async chunkFile(filePath: string, text: string, language?: string): Promise<ChunkFileResult> {
    if (this.disposed) throw new Error('Chunker used after dispose()');
    const lang = language ?? languageForPath(filePath);
    const lines = new SourceLines(text);
    const ctx: Ctx = { path: filePath, language: lang, lines, budget: this.maxChars, pieces: [], pendingSymbols: [] };
    const last = lines.count - 1;
    const wasm = grammarWasmFor(lang);
    if (wasm) {
      let reason: string;
      if (lines.text.length > MAX_PARSE_CHARS) {
        reason = `file has more than ${MAX_PARSE_CHARS} characters`;
      } else {
        const parser = await this.ready();
        reason = await this.trySyntax(ctx, parser, wasm);
        const cppWasm = grammarWasmFor('cpp');
        if (reason && lang === 'c' && cppWasm && /\.h$/i.test(filePath)) {
          // .h is shared by C and C++; the C++ grammar reads C too, so give C++ headers a second
          // chance. Their chunks are then labelled cpp.
          ctx.pieces = [];
          ctx.pendingSymbols = [];
          if (!(await this.trySyntax(ctx, parser, cppWasm))) {
            ctx.language = 'cpp';
            reason = '';
          }
        }
        if (!reason) return { chunks: materialize(ctx, mergeSmallPieces(ctx)), method: 'syntax' };
      }
      ctx.pieces = [];
      ctx.pendingSymbols = [];
      chunkBlocks(ctx, 0, last, '');
      addKeywordSymbols(ctx, ctx.pieces);
      return { chunks: materialize(ctx, ctx.pieces), method: 'fallback', fallbackReason: reason };
    }
    if (lang === 'markdown') {
      chunkMarkdown(ctx);
      return { chunks: materialize(ctx, mergeSmallPieces(ctx)), method: 'markdown' };
    }
    chunkBlocks(ctx, 0, last, '');
    addKeywordSymbols(ctx, ctx.pieces);
    return { chunks: materialize(ctx, ctx.pieces), method: 'blocks' };
  }

  /** Frees the parser. Grammars stay cached for other instances. Safe to call twice. */
  dispose(): void {
    this.disposed = true;
    this.parser?.delete();
    this.parser = undefined;
  }

  /** Syntax-chunks into ctx; returns '' on success or why the file must fall back. */
  private async trySyntax(ctx: Ctx, parser: Parser, wasmFile: string): Promise<string> {
    let grammar: Language;
    try {
      grammar = await loadGrammar(path.join(this.wasmDir ?? '', wasmFile));
    } catch (err) {
      return `grammar ${wasmFile} failed to load: ${errMessage(err)}`;
    }
    if (this.disposed || !this.parser) throw new Error('Chunker disposed while chunking');
    // Everything from here to tree.delete() is synchronous, so overlapping calls cannot interleave
    // between setLanguage and parse.
    parser.setLanguage(grammar);
    const tree = parser.parse(ctx.lines.text);
    if (!tree) return 'parse failed';
    try {
      const root = tree.rootNode;
      if (root.hasError) {
        const share = errorShare(root, ctx.lines.text.length);
        if (share > MAX_ERROR_SHARE) return `syntax errors cover ${Math.round(share * 100)}% of the file`;
      }
      chunkSyntaxTree(ctx, root);
      return '';
    } catch (err) {
      // A bug in the walk must not cost the file its place in the index.
      return `syntax chunking failed: ${errMessage(err)}`;
    } finally {
      // WASM memory is not garbage-collected.
      tree.delete();
    }
  }

  private async ready(): Promise<Parser> {
    try {
      this.wasmDir ??= this.wasmDirOption ?? resolveWasmDir();
      await initRuntime(this.wasmDir);
    } catch (err) {
      throw new ChunkerUnavailableError(errMessage(err));
    }
    if (this.disposed) throw new Error('Chunker disposed while chunking');
    this.parser ??= new Parser();
    return this.parser;
  }
}
