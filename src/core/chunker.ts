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
import { hash16 } from './hash';
import fs from 'node:fs';
import path from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { resolveWasmDir } from './assets';
import { grammarWasmFor, languageForPath } from './languages';
import type { Chunk, ChunkFileResult } from './types';

/**
 * Version of the chunking rules. Stored with the index: bump it whenever the chunks produced for
 * the same input change (boundaries, header format, symbols, ids), so indexes get rebuilt.
 */
export const CHUNKER_VERSION = 2;

/** Default budget in characters; see {@link ChunkerOptions.maxChars}. */
export const DEFAULT_MAX_CHARS = 800;
/** Smallest budget accepted: below this most declarations degrade into line soup. */
export const MIN_MAX_CHARS = 64;
/** Largest budget accepted; far beyond any embedding model's input window. */
export const MAX_MAX_CHARS = 100_000;

/** Options for {@link Chunker}. */
export interface ChunkerOptions {
  /**
   * Chunk budget in characters of chunk text (the header is not counted).
   *
   * Default {@link DEFAULT_MAX_CHARS} (800, about 200-250 tokens of code: well inside a 512-token
   * embedding window with room for the header; it had the best MRR@10 on the dev set, see
   * docs/evaluation.md). Accepted range {@link MIN_MAX_CHARS}–{@link MAX_MAX_CHARS}; useful range
   * roughly 400–4000. Smaller budgets give more, narrower
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
/** Recursion guard for pathological nesting; deeper ranges are line-split. */
const MAX_DEPTH = 48;
/** Cap per chunk: a generated file can declare thousands of names in one chunk. */
const MAX_SYMBOLS = 50;
/** Cap for one signature in a header. */
const MAX_SIGNATURE_CHARS = 160;
/** Cap for a whole header (path and signatures), reached only by deep nesting. */
const MAX_HEADER_CHARS = 400;
const HEADER_SEPARATOR = ' › ';

// ---------------------------------------------------------------------------------------------
// Runtime and grammar loading (process-wide: the WASM runtime is global and grammars are immutable)

let runtimeReady: Promise<void> | undefined;
const grammarCache = new Map<string, Promise<Language>>();

function initRuntime(wasmDir: string): Promise<void> {
  if (!runtimeReady) {
    runtimeReady = Parser.init({ locateFile: (file: string) => path.join(wasmDir, file) }).catch(
      (err: unknown) => {
        // Let a later call retry (e.g. after the build copied the files).
        runtimeReady = undefined;
        throw err;
      },
    );
  }
  return runtimeReady;
}

function loadGrammar(file: string): Promise<Language> {
  let pending = grammarCache.get(file);
  if (!pending) {
    // Reading the bytes ourselves avoids depending on how web-tree-sitter fetches paths in Node.
    pending = fs.promises.readFile(file).then((bytes) => Language.load(new Uint8Array(bytes)));
    // A failure stays cached: the file will not appear mid-run, and retrying per file is costly.
    grammarCache.set(file, pending);
  }
  return pending;
}

// ---------------------------------------------------------------------------------------------
// Lines

/** The file as lines: BOM stripped, every line break (CRLF, CR, LF) turned into `\n`. */
class SourceLines {
  readonly text: string;
  /** starts[i] = offset of line i; starts[count] = text.length + 1 (a virtual line after the end). */
  private readonly starts: Int32Array;
  private readonly blankFlags: Uint8Array;
  readonly count: number;

  constructor(raw: string) {
    let text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    // Editors count CRLF and a lone CR as one line break each; tree-sitter rows only count LF.
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    this.text = text;
    let count = 1;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
    this.count = count;
    this.starts = new Int32Array(count + 1);
    this.blankFlags = new Uint8Array(count);
    let line = 0;
    let blank = 1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.blankFlags[line] = blank;
        line++;
        this.starts[line] = i + 1;
        blank = 1;
      } else if (blank && c !== 32 && c !== 9 && c !== 11 && c !== 12) {
        blank = 0;
      }
    }
    this.blankFlags[line] = blank;
    this.starts[count] = text.length + 1;
  }

  start(line: number): number {
    return this.starts[line] ?? this.text.length;
  }

  /** Offset just past the last character of `line` (before its `\n`). */
  end(line: number): number {
    return (this.starts[line + 1] ?? this.text.length + 1) - 1;
  }

  isBlank(line: number): boolean {
    return this.blankFlags[line] === 1;
  }

  /** Characters of lines a..b joined by `\n` (what the chunk text would be). O(1). */
  size(a: number, b: number): number {
    return this.end(b) - this.start(a);
  }

  slice(a: number, b: number): string {
    return this.text.slice(this.start(a), this.end(b));
  }

  hasBlankBetween(a: number, b: number): boolean {
    for (let i = a + 1; i < b; i++) if (this.isBlank(i)) return true;
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Chunk emission

interface Ctx {
  readonly path: string;
  /** Language id put on the chunks. */
  language: string;
  lines: SourceLines;
  budget: number;
  pieces: Piece[];
  /** Names of a split declaration, given to the first piece emitted for it. */
  pendingSymbols: string[];
}

/** A chunk before materialisation: lines a..b (0-based), or one piece of an over-long line. */
interface Piece {
  a: number;
  b: number;
  header: string;
  symbols: string[];
  /** 1-based part number and text, for pieces of an over-long line. */
  part?: number;
  text?: string;
}

/**
 * Merges a small piece of a split declaration into its neighbour when together they fit: the tail
 * of a split function (`  }\n};`), or the few statements before a nested oversized function,
 * would otherwise be chunks of a few dozen characters. Only pieces of the same split merge
 * (headers equal, or one nested in the other), only when one of them is small (a quarter of the
 * budget at most), and the merged chunk keeps the header of the larger one, so the header still
 * describes most of the text. Top-level chunks (header '') never merge here: the packer already
 * merged what fits, and gluing a function's tail onto the next declaration would mislabel it.
 */
function mergeSmallPieces(ctx: Ctx): Piece[] {
  const { lines, budget } = ctx;
  const out: Piece[] = [];
  let cur: Piece | undefined;
  const nested = (outer: string, inner: string): boolean =>
    inner === outer || inner.startsWith(outer + HEADER_SEPARATOR);
  for (const p of ctx.pieces) {
    if (
      cur &&
      cur.part === undefined &&
      p.part === undefined &&
      cur.header &&
      p.header &&
      (nested(cur.header, p.header) || nested(p.header, cur.header)) &&
      lines.size(cur.a, p.b) <= budget
    ) {
      const curSize = lines.size(cur.a, cur.b);
      const nextSize = lines.size(p.a, p.b);
      if (Math.min(curSize, nextSize) * 4 <= budget) {
        const header = nextSize > curSize ? p.header : cur.header;
        cur = { a: cur.a, b: p.b, header, symbols: dedupe([...cur.symbols, ...p.symbols]) };
        continue;
      }
    }
    if (cur) out.push(cur);
    cur = p;
  }
  if (cur) out.push(cur);
  return out;
}

function materialize(ctx: Ctx, pieces: readonly Piece[]): Chunk[] {
  return pieces.map((p) => {
    const text = p.text ?? ctx.lines.slice(p.a, p.b);
    const hash = hash16(`${p.header}\n${text}`);
    const id = `${ctx.path}#L${p.a + 1}-L${p.b + 1}#${hash.slice(0, 8)}${p.part === undefined ? '' : `@${p.part}`}`;
    return {
      id,
      path: ctx.path,
      language: ctx.language,
      startLine: p.a + 1,
      endLine: p.b + 1,
      symbols: p.symbols,
      header: p.header,
      text,
      hash,
    };
  });
}

/**
 * Definitions in files without a grammar (Lua, Perl, Elixir, Kotlin, Swift, shell, a project's own
 * DSL…), found by the definition keywords most languages share at the start of a line:
 * `def name`, `function name`, `fn name`, `sub name`, `proc name`, `class Name`, `name() {` (shell).
 * Data and prose formats are left alone.
 */
const KEYWORD_DEFINITION =
  /^[ \t]*(?:(?:export|public|private|protected|internal|static|async|local|pub|override|open|final|abstract|inline|suspend)[ \t]+)*(?:def|defp|defmacro|defn|function|func|fun|fn|sub|proc|method|macro|class|module|struct|trait|interface|object|enum|protocol)[ \t]+([A-Za-z_$][\w$?!]*)/;
const SHELL_FUNCTION = /^[ \t]*(?:function[ \t]+)?([A-Za-z_][\w-]*)[ \t]*\(\)[ \t]*\{?/;
const NO_KEYWORD_SYMBOLS = new Set(['markdown', 'json', 'yaml', 'toml', 'ini', 'xml', 'csv', 'html', 'css', 'scss', 'sass', 'less', 'restructuredtext', 'asciidoc', 'latex', 'dotenv', 'sql']);

function addKeywordSymbols(ctx: Ctx, pieces: Piece[]): void {
  if (NO_KEYWORD_SYMBOLS.has(ctx.language)) return;
  for (const p of pieces) {
    if (p.text !== undefined) continue;
    const names: string[] = [];
    for (let i = p.a; i <= p.b && names.length < MAX_SYMBOLS; i++) {
      const line = ctx.lines.slice(i, i);
      const m = KEYWORD_DEFINITION.exec(line) ?? SHELL_FUNCTION.exec(line);
      if (m?.[1]) names.push(m[1]);
    }
    if (names.length) p.symbols = dedupe([...p.symbols, ...names]);
  }
}

function takeSymbols(ctx: Ctx, own: readonly string[]): string[] {
  if (ctx.pendingSymbols.length === 0) return dedupe(own);
  const all = dedupe([...ctx.pendingSymbols, ...own]);
  ctx.pendingSymbols = [];
  return all;
}

function dedupe(names: readonly string[]): string[] {
  const out = [...new Set(names)];
  return out.length > MAX_SYMBOLS ? out.slice(0, MAX_SYMBOLS) : out;
}

/** Emits lines a..b (trimmed of blank edge lines) as one chunk, falling back to a line split. */
function emit(ctx: Ctx, a: number, b: number, header: string, symbols: readonly string[]): void {
  const { lines } = ctx;
  while (a <= b && lines.isBlank(a)) a++;
  while (b >= a && lines.isBlank(b)) b--;
  if (a > b) return;
  if (lines.size(a, b) > ctx.budget) {
    lineSplit(ctx, a, b, header, symbols);
    return;
  }
  ctx.pieces.push({ a, b, header, symbols: takeSymbols(ctx, symbols) });
}

/**
 * Packs lines a..b into chunks within the budget, preferring to cut at a blank line in the second
 * half of a window; a line longer than the budget is cut by characters. `symbols` go to the first
 * chunk emitted.
 */
function lineSplit(ctx: Ctx, a: number, b: number, header: string, symbols: readonly string[]): void {
  const { lines, budget } = ctx;
  ctx.pendingSymbols.push(...symbols);
  let start = -1;
  let lastBlank = -1;
  for (let i = a; i <= b; i++) {
    if (lines.isBlank(i)) {
      if (start !== -1) lastBlank = i;
      continue;
    }
    if (lines.size(i, i) > budget) {
      if (start !== -1) emit(ctx, start, i - 1, header, []);
      start = -1;
      lastBlank = -1;
      charSplit(ctx, i, header);
      continue;
    }
    if (start === -1) {
      start = i;
    } else if (lines.size(start, i) > budget) {
      if (lastBlank > start && (lastBlank - start) * 2 >= i - start) {
        // Cut at the blank line; lines after it up to i-1 fit (they were inside a window that
        // fit), and line i may still not.
        emit(ctx, start, lastBlank - 1, header, []);
        start = lastBlank + 1;
        while (lines.isBlank(start)) start++;
        if (lines.size(start, i) > budget) {
          emit(ctx, start, i - 1, header, []);
          start = i;
        }
      } else {
        emit(ctx, start, i - 1, header, []);
        start = i;
      }
      lastBlank = -1;
    }
  }
  if (start !== -1) emit(ctx, start, b, header, []);
}

/** Cuts one over-long line into pieces of at most `budget` characters; ids get `@1`, `@2`, …. */
function charSplit(ctx: Ctx, line: number, header: string): void {
  const text = ctx.lines.slice(line, line);
  const budget = ctx.budget;
  let part = 1;
  let syms = takeSymbols(ctx, []);
  for (let pos = 0; pos < text.length; part++) {
    let end = Math.min(pos + budget, text.length);
    if (end < text.length) {
      // Prefer a cut after whitespace or punctuation in the last fifth of the window, so pieces
      // do not end mid-identifier; otherwise a hard cut.
      const floor = pos + Math.floor(budget * 0.8);
      for (let k = end; k > floor; k--) {
        const c = text.charCodeAt(k - 1);
        if (c === 32 || c === 9 || c === 44 || c === 59 || c === 41 || c === 125 || c === 93 || c === 62) {
          end = k;
          break;
        }
      }
      // Never separate a UTF-16 surrogate pair.
      const last = text.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff && end - 1 > pos) end--;
    }
    ctx.pieces.push({ a: line, b: line, header, symbols: syms, part, text: text.slice(pos, end) });
    syms = [];
    pos = end;
  }
}

/** Packs blank-line-separated blocks of lines a..b within the budget. */
function chunkBlocks(ctx: Ctx, a: number, b: number, header: string, fenceAware = false): void {
  const { lines, budget } = ctx;
  const blocks = blankLineBlocks(lines, a, b, fenceAware);
  let accStart = -1;
  let accEnd = -1;
  for (const [s, e] of blocks) {
    if (lines.size(s, e) > budget) {
      if (accStart !== -1) emit(ctx, accStart, accEnd, header, []);
      accStart = -1;
      lineSplit(ctx, s, e, header, []);
    } else if (accStart !== -1 && lines.size(accStart, e) <= budget) {
      accEnd = e;
    } else {
      if (accStart !== -1) emit(ctx, accStart, accEnd, header, []);
      accStart = s;
      accEnd = e;
    }
  }
  if (accStart !== -1) emit(ctx, accStart, accEnd, header, []);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Maximal runs of non-blank lines in a..b; with fenceAware, blank lines inside ``` fences do not cut. */
function blankLineBlocks(lines: SourceLines, a: number, b: number, fenceAware: boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  let fence = '';
  for (let i = a; i <= b; i++) {
    if (fenceAware) {
      const m = FENCE.exec(lines.slice(i, i));
      if (m?.[1]) {
        if (!fence) fence = m[1];
        else if (m[1][0] === fence[0] && m[1].length >= fence.length) fence = '';
      }
    }
    if (lines.isBlank(i) && !fence) {
      if (start !== -1) out.push([start, i - 1]);
      start = -1;
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) out.push([start, b]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Markdown

interface Heading {
  line: number;
  level: number;
  text: string;
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-{2,})[ \t]*$/;
const NOT_SETEXT_TEXT = /^ {0,3}([-*+>|#]|\d+[.)]|`{3}|~{3}|<)/;

function markdownHeadings(lines: SourceLines): Heading[] {
  const out: Heading[] = [];
  let fence = '';
  let i = 0;
  // YAML front matter is data, not a document section: skip it whole.
  if (lines.count > 1 && lines.slice(0, 0).trim() === '---') {
    for (let j = 1; j < lines.count; j++) {
      const t = lines.slice(j, j).trim();
      if (t === '---' || t === '...') {
        i = j + 1;
        break;
      }
    }
  }
  for (; i < lines.count; i++) {
    const line = lines.slice(i, i);
    const f = FENCE.exec(line);
    if (f?.[1]) {
      if (!fence) fence = f[1];
      else if (f[1][0] === fence[0] && f[1].length >= fence.length) fence = '';
      continue;
    }
    if (fence) continue;
    const atx = ATX_HEADING.exec(line);
    if (atx?.[1]) {
      out.push({ line: i, level: atx[1].length, text: (atx[2] ?? '').trim() });
      continue;
    }
    if (
      i + 1 < lines.count &&
      !lines.isBlank(i) &&
      (i === 0 || lines.isBlank(i - 1)) &&
      !NOT_SETEXT_TEXT.test(line)
    ) {
      const u = SETEXT_UNDERLINE.exec(lines.slice(i + 1, i + 1));
      if (u?.[1]) {
        out.push({ line: i, level: u[1][0] === '=' ? 1 : 2, text: line.trim() });
        i++;
      }
    }
  }
  return out;
}

/** Sections at headings, packed while small; an oversized section is cut at blank-line blocks. */
function chunkMarkdown(ctx: Ctx): void {
  const { lines, budget } = ctx;
  const headings = markdownHeadings(lines);
  interface Section {
    start: number;
    end: number;
    heading?: Heading;
    chain: string[];
  }
  const sections: Section[] = [];
  const first = headings[0];
  if (!first || first.line > 0) sections.push({ start: 0, end: (first?.line ?? lines.count) - 1, chain: [] });
  const stack: Heading[] = [];
  headings.forEach((h, k) => {
    while (stack.length && (stack[stack.length - 1]?.level ?? 0) >= h.level) stack.pop();
    stack.push(h);
    const next = headings[k + 1];
    sections.push({ start: h.line, end: (next?.line ?? lines.count) - 1, heading: h, chain: stack.map((s) => s.text) });
  });
  let accStart = -1;
  let accEnd = -1;
  let accSyms: string[] = [];
  const flush = (): void => {
    if (accStart !== -1) emit(ctx, accStart, accEnd, '', accSyms);
    accStart = -1;
    accSyms = [];
  };
  for (const s of sections) {
    if (s.end < s.start) continue;
    const syms = s.heading?.text ? [s.heading.text] : [];
    if (lines.size(s.start, s.end) > budget) {
      flush();
      const header = [ctx.path, ...s.chain.filter((t) => t)].join(HEADER_SEPARATOR);
      ctx.pendingSymbols.push(...syms);
      chunkBlocks(ctx, s.start, s.end, header, true);
      ctx.pendingSymbols = [];
    } else if (accStart !== -1 && lines.size(accStart, s.end) <= budget) {
      accEnd = s.end;
      accSyms.push(...syms);
    } else {
      flush();
      accStart = s.start;
      accEnd = s.end;
      accSyms = syms;
    }
  }
  flush();
}

// ---------------------------------------------------------------------------------------------
// Syntax trees: node classification

/** First line of a node (0-based). */
function firstLine(n: Node): number {
  return n.startPosition.row;
}

/** Last line of a node: a node ending at column 0 (Rust `///`, Go statement lists) ends on the line before. */
function lastLine(n: Node): number {
  const end = n.endPosition;
  return end.column === 0 && end.row > n.startPosition.row ? end.row - 1 : end.row;
}

function isComment(type: string): boolean {
  return type.includes('comment');
}

// `/** … */`, `/*! … */`, `/// …`, `//! …`: comments written to document the next declaration.
function isDocComment(text: string, n: Node): boolean {
  const head = text.slice(n.startIndex, n.startIndex + 4);
  return (head.startsWith('/**') && head !== '/**/') || head.startsWith('/*!') || head.startsWith('///') || head.startsWith('//!');
}

/** Nodes that belong to the declaration after them, even across a blank line. */
const ATTACHED_FORWARD = new Set(['decorator', 'attribute_item', 'attribute_list', 'annotation', 'marker_annotation']);

/** Declarations whose name is a symbol. */
const DECLARATIONS = new Set([
  // TypeScript / JavaScript
  'function_declaration', 'generator_function_declaration', 'function_signature', 'class_declaration',
  'abstract_class_declaration', 'interface_declaration', 'type_alias_declaration', 'enum_declaration',
  'method_definition', 'abstract_method_signature', 'internal_module', 'module', 'variable_declarator',
  'public_field_definition', 'field_definition', 'assignment_expression', 'class',
  // Python, C, C++, PHP
  'function_definition', 'class_definition', 'struct_specifier', 'union_specifier', 'enum_specifier',
  'class_specifier', 'type_definition', 'namespace_definition', 'declaration', 'field_declaration',
  'trait_declaration',
  // Go
  'method_declaration', 'type_spec', 'type_alias',
  // Rust
  'function_item', 'function_signature_item', 'struct_item', 'enum_item', 'union_item', 'trait_item',
  'impl_item', 'type_item', 'mod_item', 'macro_definition',
  // Java, C#
  'record_declaration', 'annotation_type_declaration', 'constructor_declaration', 'struct_declaration',
  'namespace_declaration', 'file_scoped_namespace_declaration', 'delegate_declaration',
  // Ruby
  'method', 'singleton_method',
]);

/** Declarations whose members' names are symbols of the chunk holding the whole declaration. */
const CONTAINERS = new Set([
  'class_declaration', 'abstract_class_declaration', 'class', 'class_definition', 'interface_declaration',
  'internal_module', 'module', 'impl_item', 'trait_item', 'mod_item', 'class_specifier', 'struct_specifier',
  'namespace_definition', 'namespace_declaration', 'file_scoped_namespace_declaration', 'struct_declaration',
  'record_declaration', 'enum_declaration', 'trait_declaration', 'annotation_type_declaration',
]);

/** Nodes looked through when searching for declarations (wrappers and class/namespace bodies). */
const TRANSPARENT = new Set([
  'export_statement', 'ambient_declaration', 'decorated_definition', 'template_declaration',
  'lexical_declaration', 'variable_declaration', 'expression_statement', 'type_declaration',
  'preproc_ifdef', 'preproc_if', 'preproc_else', 'preproc_elif', 'linkage_specification',
  'declaration_list', 'class_body', 'field_declaration_list', 'block', 'body_statement', 'interface_body',
  'enum_body', 'enum_body_declarations', 'statement_block', 'object_type',
]);

const FUNCTION_VALUES = new Set([
  'arrow_function', 'function_expression', 'function', 'generator_function', 'class', 'class_expression',
]);

/** `React.memo(function Item() {…})`, `forwardRef((props, ref) => …)`: a call whose argument is a function. */
function wrapsFunction(value: Node): boolean {
  if (value.type !== 'call_expression') return false;
  const args = value.childForFieldName('arguments');
  return !!args && args.namedChildren.some((a) => FUNCTION_VALUES.has(a.type));
}

function cleanName(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 120 ? t.slice(0, 120) : t;
}

/** Follows `declarator` fields (pointers, references, function declarators) to the declared name. */
function declaratorName(node: Node, requireFunction: boolean): string | null {
  let d = node.childForFieldName('declarator');
  let sawFunction = false;
  while (d) {
    if (d.type === 'function_declarator') sawFunction = true;
    // C++ reference declarators (`T& f()`) hold their inner declarator without a field name.
    const inner =
      d.childForFieldName('declarator') ??
      (d.type === 'reference_declarator' ? d.namedChildren.find((c) => c.type.endsWith('declarator')) ?? null : null);
    if (!inner) break;
    d = inner;
  }
  if (!d || (requireFunction && !sawFunction)) return null;
  return cleanName(d.text);
}

function declarationName(node: Node): string | null {
  switch (node.type) {
    case 'impl_item': {
      const t = node.childForFieldName('type');
      return t ? cleanName(t.text) : null;
    }
    case 'function_definition': {
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : declaratorName(node, false);
    }
    case 'declaration':
    case 'field_declaration':
      // Only prototypes (`int f(void);`, a method declared in a C++ class): plain variables and
      // fields are not worth a symbol.
      return declaratorName(node, true);
    case 'type_definition':
      return declaratorName(node, false);
    case 'variable_declarator':
    case 'public_field_definition':
    case 'field_definition': {
      const value = node.childForFieldName('value');
      if (!value || !(FUNCTION_VALUES.has(value.type) || wrapsFunction(value))) return null;
      const name = node.childForFieldName('name') ?? node.childForFieldName('property');
      return name ? cleanName(name.text) : null;
    }
    case 'assignment_expression': {
      // CommonJS style: `Runner.prototype.run = function () {}`, `exports.foo = () => {}`.
      const right = node.childForFieldName('right');
      const left = node.childForFieldName('left');
      if (!right || !left || !FUNCTION_VALUES.has(right.type)) return null;
      return cleanName(left.text);
    }
    case 'struct_specifier':
    case 'union_specifier':
    case 'enum_specifier':
    case 'class_specifier': {
      // `struct foo *p;` mentions a type; only a body defines it.
      if (!node.childForFieldName('body')) return null;
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : null;
    }
    default: {
      const name = node.childForFieldName('name');
      return name ? cleanName(name.text) : null;
    }
  }
}

/** Adds the names node declares; with members, also those of declarations nested in classes etc. */
function collectSymbols(node: Node, out: string[], members: boolean, depth = 0): void {
  if (out.length >= MAX_SYMBOLS || depth > 8 || !node.isNamed) return;
  const type = node.type;
  if (DECLARATIONS.has(type)) {
    const name = declarationName(node);
    if (name) out.push(name);
    // `struct point { … } origin;`, a nested C++ class (`class Row { … };` is a field declaration):
    // the type defined inline is the interesting name.
    if (!name && (type === 'declaration' || type === 'field_declaration')) {
      const inline = node.childForFieldName('type');
      if (inline) collectSymbols(inline, out, members, depth + 1);
    }
    if (members && CONTAINERS.has(type)) {
      for (const child of node.namedChildren) collectSymbols(child, out, members, depth + 1);
    }
    return;
  }
  if (TRANSPARENT.has(type) || (depth > 0 && type.endsWith('_body'))) {
    for (const child of node.namedChildren) collectSymbols(child, out, members, depth + 1);
  }
}

function symbolsOf(nodes: readonly Node[]): string[] {
  const out: string[] = [];
  for (const n of nodes) collectSymbols(n, out, true);
  return out;
}

/** Where a declaration's signature starts: after its leading comments, decorators and annotations. */
function signatureStart(node: Node): number {
  for (const child of node.children) {
    const t = child.type;
    if (isComment(t) || ATTACHED_FORWARD.has(t)) continue;
    if (t === 'modifiers') {
      // Java puts annotations inside `modifiers`; the signature starts at the first keyword.
      const keyword = child.children.find((m) => !ATTACHED_FORWARD.has(m.type) && !isComment(m.type));
      if (keyword) return keyword.startIndex;
      continue;
    }
    return child.startIndex;
  }
  return node.startIndex;
}

/**
 * One-line signature of `node`, whose body is `body`: `export class Foo extends Bar`,
 * `def save(self, item)`. `passed` are the nodes before the body on the way down from `node`; the
 * signature ends with the last of them that is not a comment (Ruby and Python keep comments
 * between the signature and the body).
 */
function signature(ctx: Ctx, node: Node, body: Node, passed: readonly Node[]): string {
  const from = signatureStart(node);
  let end = from;
  for (const n of passed) {
    if (!isComment(n.type) && n.startIndex >= from && n.endIndex > end) end = n.endIndex;
  }
  const to = Math.min(end > from ? end : body.startIndex, from + 4 * MAX_SIGNATURE_CHARS);
  if (to <= from) return '';
  let sig = ctx.lines.text
    .slice(from, to)
    // Comments between the name and the body (JSDoc on an argument, `// TODO`) are noise here.
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ')
    .replace(/(^|\s)\/\/[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  sig = sig.replace(/\s*[{:]$/, '').trim();
  if (sig.length > MAX_SIGNATURE_CHARS) sig = `${sig.slice(0, MAX_SIGNATURE_CHARS - 1)}…`;
  return sig;
}

// ---------------------------------------------------------------------------------------------
// Syntax trees: chunking

/** A contiguous line range holding whole sibling nodes; the unit of packing. */
interface Unit {
  start: number;
  end: number;
  nodes: Node[];
  /** The largest node that is neither a comment nor attached to another: what gets split. */
  main: Node | null;
  /** Holds nodes grouped for readability (a declaration's prefix, closing tokens), not by attachment. */
  grouped: boolean;
}

const enum Mode {
  /** Attach comments/decorators, and glue a split declaration's prefix to its first member. */
  Grouped,
  /** Attach comments/decorators only (used to re-split a grouped unit that turned out too big). */
  AttachOnly,
}

/**
 * Turns sibling nodes into units partitioning lines start..end:
 * - comments directly above a node (no blank line between) and decorators/attributes attach to it;
 *   a comment on the line where the previous node ends stays with that node;
 * - anonymous tokens (`}`, `end`, `;`) stay with the node before them;
 * - in Grouped mode the first `prefixCount` nodes (a split declaration's decorators, keywords, name
 *   and parameters) attach to the first member after them, so the signature opens the first piece;
 * - nodes sharing a line are kept in one unit: the shared line goes to the earlier unit;
 * - gaps (blank lines) go to the unit before them; the first unit starts at `start`.
 */
function buildUnits(ctx: Ctx, kids: readonly Node[], start: number, end: number, mode: Mode, prefixCount: number): Unit[] {
  const units: Unit[] = [];
  let pending: Node[] = [];
  let pendingStart = -1;
  let pendingEnd = -1;
  let pendingCommentsOnly = true;
  let pendingGrouped = false;
  /** The last pending comment is a doc comment: it documents what follows even across a blank line. */
  let pendingDoc = false;
  const { lines } = ctx;

  const flushPendingAsUnit = (): void => {
    if (!pending.length) return;
    units.push({ start: pendingStart, end: pendingEnd, nodes: pending, main: null, grouped: pendingGrouped });
    pending = [];
    pendingCommentsOnly = true;
    pendingGrouped = false;
    pendingDoc = false;
  };
  const addPending = (n: Node, s: number, e: number, comment: boolean, grouped: boolean): void => {
    if (!pending.length) pendingStart = s;
    pending.push(n);
    pendingEnd = Math.max(pendingEnd, e);
    if (!comment) pendingCommentsOnly = false;
    if (grouped) pendingGrouped = true;
    pendingDoc = false;
  };

  for (let idx = 0; idx < kids.length; idx++) {
    const kid = kids[idx];
    if (!kid || kid.startIndex === kid.endIndex) continue; // MISSING tokens have no text
    let s = firstLine(kid);
    let e = lastLine(kid);
    if (e < start || s > end) continue;
    if (s < start) s = start;
    if (e > end) e = end;
    const prev = units[units.length - 1];
    const lastTaken = pending.length ? pendingEnd : (prev?.end ?? start - 1);
    if (e <= lastTaken) {
      // Entirely on lines already taken (same-line neighbours, trailing comments).
      if (pending.length) pending.push(kid);
      else if (prev) {
        prev.nodes.push(kid);
        if (!isComment(kid.type)) prev.grouped = true;
      }
      continue;
    }
    if (s <= lastTaken) s = lastTaken + 1;
    const type = kid.type;
    const comment = isComment(type);
    const isPrefix = mode === Mode.Grouped && idx < prefixCount;
    if (!kid.isNamed && !isPrefix) {
      if (prev && !pending.length) {
        prev.end = e;
        prev.nodes.push(kid);
        prev.grouped = true;
      } else {
        addPending(kid, s, e, false, true);
      }
      continue;
    }
    if (comment && !isPrefix) {
      // A blank line between comments ends the earlier run's claim on what follows.
      if (pending.length && pendingCommentsOnly && !pendingDoc && lines.hasBlankBetween(pendingEnd, s)) {
        flushPendingAsUnit();
      }
      addPending(kid, s, e, true, false);
      pendingDoc = isDocComment(lines.text, kid);
      continue;
    }
    if (isPrefix || ATTACHED_FORWARD.has(type)) {
      addPending(kid, s, e, false, isPrefix);
      continue;
    }
    if (pending.length && pendingCommentsOnly && !pendingDoc && lines.hasBlankBetween(pendingEnd, s)) {
      flushPendingAsUnit();
    }
    if (pending.length) {
      units.push({ start: pendingStart, end: e, nodes: [...pending, kid], main: kid, grouped: pendingGrouped });
      pending = [];
      pendingCommentsOnly = true;
      pendingGrouped = false;
      pendingDoc = false;
    } else {
      units.push({ start: s, end: e, nodes: [kid], main: kid, grouped: false });
    }
  }
  if (pending.length) {
    const prev = units[units.length - 1];
    if (prev && !pendingCommentsOnly) {
      prev.end = pendingEnd;
      prev.nodes.push(...pending);
      prev.grouped = true;
      pending = [];
    } else {
      flushPendingAsUnit();
    }
  }
  // Main = the largest non-comment named node (a unit can gather several on shared lines).
  for (const u of units) {
    let best: Node | null = null;
    for (const n of u.nodes) {
      if (!n.isNamed || isComment(n.type)) continue;
      if (!best || n.endIndex - n.startIndex > best.endIndex - best.startIndex) best = n;
    }
    u.main = best;
  }
  // Contiguous partition of start..end.
  const first = units[0];
  if (first) first.start = start;
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const next = units[i + 1];
    if (u) u.end = next ? next.start - 1 : end;
  }
  return units;
}

/** Chunks lines start..end covered by sibling nodes: packs units, splits the oversized ones. */
function chunkNodes(
  ctx: Ctx,
  kids: readonly Node[],
  start: number,
  end: number,
  header: string,
  mode: Mode,
  prefixCount: number,
  depth: number,
): void {
  const units = buildUnits(ctx, kids, start, end, mode, prefixCount);
  if (!units.length) {
    lineSplit(ctx, start, end, header, []);
    return;
  }
  const { lines, budget } = ctx;
  let accStart = -1;
  let accEnd = -1;
  let accNodes: Node[] = [];
  const flush = (): void => {
    if (accStart !== -1) emit(ctx, accStart, accEnd, header, symbolsOf(accNodes));
    accStart = -1;
    accNodes = [];
  };
  for (const u of units) {
    if (u.end < u.start) continue;
    if (lines.size(u.start, u.end) > budget) {
      flush();
      splitUnit(ctx, u, header, mode, depth);
    } else if (accStart !== -1 && lines.size(accStart, u.end) <= budget) {
      accEnd = u.end;
      accNodes.push(...u.nodes);
    } else {
      flush();
      accStart = u.start;
      accEnd = u.end;
      accNodes = [...u.nodes];
    }
  }
  flush();
}

function splitUnit(ctx: Ctx, u: Unit, header: string, mode: Mode, depth: number): void {
  if (u.start === u.end || depth > MAX_DEPTH) {
    lineSplit(ctx, u.start, u.end, header, symbolsOf(u.nodes));
  } else if (mode === Mode.Grouped && u.grouped && u.nodes.length > 1) {
    // The grouping made it too big (e.g. a long signature plus a huge first member): retry with
    // attachment only; every node then stands alone or with its comments.
    chunkNodes(ctx, u.nodes, u.start, u.end, header, Mode.AttachOnly, 0, depth + 1);
  } else if (u.main && u.main.childCount > 0) {
    splitNode(ctx, u.main, u.start, u.end, header, depth + 1);
  } else {
    lineSplit(ctx, u.start, u.end, header, symbolsOf(u.nodes));
  }
}

/**
 * Splits one oversized node over lines start..end (which may include its comments above it).
 *
 * Wrappers are looked through first: `export_statement > class_declaration > class_body`, an IIFE
 * `(function () { … })()`, `describe('x', () => { … })`. At each level we go into the `body` field
 * when it holds most of the node (and stop there: its children are the members), or else into a
 * child holding ≥ 60% of it. The nodes passed on the way (decorators, keywords, name, parameters,
 * closing tokens) stay in the list, so nothing is lost; the text from the signature start to the
 * body becomes one more header element.
 */
function splitNode(ctx: Ctx, node: Node, start: number, end: number, header: string, depth: number): void {
  let cur = node;
  const before: Node[] = [];
  let after: Node[] = [];
  for (let level = 0; level < 16; level++) {
    const kids = cur.children;
    const size = cur.endIndex - cur.startIndex;
    let nextIdx = -1;
    let isBody = false;
    const body = cur.childForFieldName('body');
    if (body && body.childCount > 0 && (body.endIndex - body.startIndex) * 10 >= size * 4) {
      nextIdx = kids.findIndex((k) => k.startIndex === body.startIndex && k.endIndex === body.endIndex && k.typeId === body.typeId);
      isBody = nextIdx !== -1;
    }
    if (nextIdx === -1) {
      let best = -1;
      let bestSize = -1;
      kids.forEach((k, i) => {
        const ks = k.endIndex - k.startIndex;
        if (ks > bestSize) {
          best = i;
          bestSize = ks;
        }
      });
      const cand = kids[best];
      if (cand && cand.childCount > 0 && bestSize * 10 >= size * 6) nextIdx = best;
    }
    const next = kids[nextIdx];
    if (!next) break;
    before.push(...kids.slice(0, nextIdx));
    after = [...kids.slice(nextIdx + 1), ...after];
    cur = next;
    if (isBody) break;
  }
  let childHeader = header || ctx.path;
  if (cur !== node) {
    const sig = signature(ctx, node, cur, before);
    if (sig) childHeader = appendToHeader(childHeader, sig);
  }
  const own: string[] = [];
  collectSymbols(node, own, false);
  ctx.pendingSymbols.push(...own);
  const list = cur === node ? cur.children : [...before, ...cur.children, ...after];
  chunkNodes(ctx, list, start, end, childHeader, Mode.Grouped, cur === node ? 0 : before.length, depth);
}

/**
 * Adds a signature to a header. Deep nesting (callbacks in callbacks, minified code) would grow it
 * without bound: past {@link MAX_HEADER_CHARS} the middle signatures give way to `…`, keeping the
 * path, the outermost declaration and the innermost ones, which matter most for reading a piece.
 */
function appendToHeader(header: string, sig: string): string {
  const full = header + HEADER_SEPARATOR + sig;
  if (full.length <= MAX_HEADER_CHARS) return full;
  const parts = full.split(HEADER_SEPARATOR);
  // parts[0] is the path, parts[1] the outermost signature; drop from parts[2] on.
  while (parts.length > 4 && parts.join(HEADER_SEPARATOR).length > MAX_HEADER_CHARS) {
    if (parts[2] === '…') parts.splice(3, 1);
    else parts[2] = '…';
  }
  return parts.join(HEADER_SEPARATOR);
}

/**
 * Share of the file's characters inside ERROR nodes; walks only the subtrees that contain errors.
 * Characters rather than lines: in a 3-line declaration file, one stray token on a long line would
 * otherwise count as a third of the file.
 */
function errorShare(root: Node, textLength: number): number {
  let inError = 0;
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop();
    if (!n) break;
    // ERROR nodes are not searched further: nested errors are already counted.
    if (n.isError) inError += n.endIndex - n.startIndex;
    else if (n.hasError) stack.push(...n.children);
  }
  return textLength ? inError / textLength : 0;
}

// ---------------------------------------------------------------------------------------------
// Public API

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
      return `grammar ${wasmFile} failed to load: ${err instanceof Error ? err.message : String(err)}`;
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
      chunkNodes(ctx, root.children, 0, ctx.lines.count - 1, '', Mode.Grouped, 0, 0);
      return '';
    } catch (err) {
      // A bug in the walk must not cost the file its place in the index.
      return `syntax chunking failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      // WASM memory is not garbage-collected.
      tree.delete();
    }
  }

  private async ready(): Promise<Parser> {
    this.wasmDir ??= this.wasmDirOption ?? resolveWasmDir();
    await initRuntime(this.wasmDir);
    if (this.disposed) throw new Error('Chunker disposed while chunking');
    this.parser ??= new Parser();
    return this.parser;
  }
}
