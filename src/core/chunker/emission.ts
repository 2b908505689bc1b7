/**
 * Chunk emission: the chunking context, pieces (chunks before materialisation), the line and
 * character splits every other level falls back to, blank-line blocks, and keyword symbols for
 * files without a grammar.
 */
import { hash16 } from '../hash';
import type { Chunk } from '../types';
import type { SourceLines } from './sourceLines';

/** Cap per chunk: a generated file can declare thousands of names in one chunk. */
export const MAX_SYMBOLS = 50;
/** Separates the path and the enclosing signatures in a header. */
export const HEADER_SEPARATOR = ' › ';

export interface Ctx {
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
export interface Piece {
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
export function mergeSmallPieces(ctx: Ctx): Piece[] {
  const { lines, budget } = ctx;
  const out: Piece[] = [];
  let cur: Piece | undefined;
  const nested = (outer: string, inner: string): boolean => inner === outer || inner.startsWith(outer + HEADER_SEPARATOR);
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

export function materialize(ctx: Ctx, pieces: readonly Piece[]): Chunk[] {
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
const NO_KEYWORD_SYMBOLS = new Set([
  'markdown',
  'json',
  'yaml',
  'toml',
  'ini',
  'xml',
  'csv',
  'html',
  'css',
  'scss',
  'sass',
  'less',
  'restructuredtext',
  'asciidoc',
  'latex',
  'dotenv',
  'sql',
]);

export function addKeywordSymbols(ctx: Ctx, pieces: Piece[]): void {
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

export function takeSymbols(ctx: Ctx, own: readonly string[]): string[] {
  if (ctx.pendingSymbols.length === 0) return dedupe(own);
  const all = dedupe([...ctx.pendingSymbols, ...own]);
  ctx.pendingSymbols = [];
  return all;
}

export function dedupe(names: readonly string[]): string[] {
  const out = [...new Set(names)];
  return out.length > MAX_SYMBOLS ? out.slice(0, MAX_SYMBOLS) : out;
}

/** Emits lines a..b (trimmed of blank edge lines) as one chunk, falling back to a line split. */
export function emit(ctx: Ctx, a: number, b: number, header: string, symbols: readonly string[]): void {
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
export function lineSplit(ctx: Ctx, a: number, b: number, header: string, symbols: readonly string[]): void {
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

/**
 * Packs blank-line-separated blocks of lines a..b within the budget. A `keepWhole` range (inclusive
 * 0-based line ranges in order, e.g. Markdown code blocks) is one block, whatever blank lines it holds.
 */
export function chunkBlocks(ctx: Ctx, a: number, b: number, header: string, keepWhole: ReadonlyArray<readonly [number, number]> = []): void {
  const { lines, budget } = ctx;
  const blocks = blankLineBlocks(lines, a, b, keepWhole);
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

/**
 * Maximal runs of non-blank lines in a..b. A `keepWhole` range is a block of its own: blank lines
 * inside it do not cut it, and it is cut from the lines right before and after it, so packing can keep
 * it whole even when no blank line separates it from a long paragraph.
 */
function blankLineBlocks(lines: SourceLines, a: number, b: number, keepWhole: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  let k = 0;
  for (let i = a; i <= b; i++) {
    while (k < keepWhole.length && keepWhole[k]![1] < i) k++;
    const range = k < keepWhole.length && keepWhole[k]![0] <= i ? keepWhole[k]! : undefined;
    if (range) {
      // Inside a range (possibly entered before `a`): one block from here to its end (or b).
      if (start !== -1) out.push([start, i - 1]);
      const end = Math.min(range[1], b);
      out.push([i, end]);
      start = -1;
      i = end;
      continue;
    }
    if (lines.isBlank(i)) {
      if (start !== -1) out.push([start, i - 1]);
      start = -1;
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) out.push([start, b]);
  return out;
}
