/**
 * Turns a question into retrieval inputs. Short questions pass through the code-aware tokenizer.
 * Long ones (issue reports with logs and stack traces) are mined for the parts that point at code:
 * stack-frame function names and file names, identifiers written in code style, quoted error text.
 * Whether each of these helps was measured on the dev set; see docs/evaluation.md.
 */
import { codeTerms, pathTerms } from './tokenize';
import type { WeightedTerm } from './lexicalIndex';

/** A frame of a stack trace found in the query. */
export interface StackFrame {
  fn?: string;
  file?: string;
  line?: number;
}

export interface AnalyzedQuery {
  /** Weighted lexical terms (repeats merged, the highest weight kept). */
  terms: WeightedTerm[];
  /** Text for the embedder (trimmed to the part most likely to carry meaning). */
  embedText: string;
  frames: StackFrame[];
  /** Lower-cased file stems mentioned in the query (`linter` for `lib/linter/linter.js`). */
  fileStems: Set<string>;
  /**
   * Paths the query names with at least one folder (`lib/linter/linter.js`, a repository URL's
   * `/blob/<ref>/src/a.go#L12`, a `path:line` frame), without a leading `./` or `/`.
   */
  paths: string[];
  long: boolean;
  /**
   * Identifiers the query names in code style (camelCase, snake_case, `backticked`, `called()`,
   * `a::b`, stack-frame functions), as written: looked up in the symbol table for definitions.
   */
  identifiers: string[];
  /** The query with issue-template boilerplate removed (what the terms were taken from). */
  text: string;
  /** A long report's first line (its title), when it reads as one (at most 200 characters); else ''. */
  title: string;
}

export interface QueryAnalysisOptions {
  /** Weight of terms from stack-frame function names and file names (default 1 = no boost). */
  frameWeight?: number;
  /** Weight of code-style identifiers (camelCase, snake_case, `backticked`) (default 1.5). */
  identifierWeight?: number;
  /**
   * Query term frequency: a term written n times weighs 1 + queryTf·ln(n) (default 0.5; 0 = every
   * term once). Long issue reports repeat what matters.
   */
  queryTf?: number;
  /**
   * Long queries: terms of the first line (an issue's title: the reporter's own summary) are
   * multiplied by this (default 1.5).
   */
  titleWeight?: number;
}

/** Measured on the dev bench (docs/evaluation.md). */
export const QUERY_ANALYSIS_DEFAULTS = { frameWeight: 1, identifierWeight: 1.5, queryTf: 0.5, titleWeight: 1.5 } as const;

/** Queries longer than this many characters are treated as issue reports. */
export const LONG_QUERY_CHARS = 400;

/** The embedder sees at most this many characters of the query (models truncate at ~512 tokens). */
const EMBED_TEXT_CHARS = 2000;

// `at fn (path:line:col)` / `at path:line:col` (V8), `File "path", line N, in fn` (Python),
// `path:line` anywhere (Go, Rust, compilers), `fn(path:line)` (Java).
const V8_FRAME = /^\s*at\s+(?:(?:async\s+)?([\w$.<>[\] ]+?)\s+\()?((?:[A-Za-z]:)?[^\s():]+):(\d+)(?::\d+)?\)?\s*$/gm;
const PY_FRAME = /File "([^"]+)", line (\d+)(?:, in ([\w<>]+))?/g;
const JAVA_FRAME = /^\s*at\s+([\w$.]+)\(([\w$.-]+):(\d+)\)/gm;
const PATH_LINE = /((?:[\w.-]+\/)*[\w.-]+\.[A-Za-z]{1,5}):(\d+)/g;
const CODE_SPAN = /`([^`\n]{1,80})`/g;
const IDENTIFIER = /\b(?:[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*|[A-Za-z]+_[A-Za-z0-9_]+)\b/g;
// `https://host/owner/repo/blob/<ref>/<path>#L10` (GitHub, Gitea), `/-/blob/` (GitLab), `/tree/`.
const REPO_URL_PATH = /\/(?:-\/)?(?:blob|tree|raw)\/[^/\s]+\/([^\s#?)\]"'>]+)/g;
const FOLDER_PATH = /(?:^|[\s(`'"[])\.?\/?((?:[\w@.+-]+\/)+[\w@+-]+(?:\.[\w+-]+)*\.[A-Za-z][\w]{0,5})\b/g;
const CALLED = /\b([A-Za-z_][A-Za-z0-9_]{2,})\s*\(/g;
const QUALIFIED = /\b[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.|->)[A-Za-z_][A-Za-z0-9_]*)+/g;

/**
 * Issue-report boilerplate: HTML comments (template instructions), Markdown headings and bold
 * labels on a line of their own ("### Steps to reproduce", "**Expected behavior**"), and checklist
 * items ("- [x] I have searched existing issues"). They carry the template's words, not the
 * problem's, and match the repository's own issue templates and contributing guides.
 */
export function stripBoilerplate(query: string): string {
  return query
    .replace(/<!--[\s\S]*?(-->|$)/g, ' ')
    .replace(/^[ \t]{0,3}#{1,6}[ \t]+[^\n]{0,80}$/gm, '')
    .replace(/^[ \t]*(\*\*|__)[^*_\n]{1,80}(\*\*|__):?[ \t]*$/gm, '')
    .replace(/^[ \t]*[-*][ \t]+\[[ xX]\][^\n]*$/gm, '');
}

function stemOf(file: string): string | undefined {
  const base = file.split(/[\\/]/).pop() ?? '';
  const dot = base.indexOf('.');
  const stem = (dot > 0 ? base.slice(0, dot) : base).toLowerCase();
  return stem && stem !== 'index' ? stem : undefined;
}

export function extractFrames(query: string): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const m of query.matchAll(V8_FRAME)) frames.push({ fn: m[1]?.trim(), file: m[2], line: Number(m[3]) });
  for (const m of query.matchAll(PY_FRAME)) frames.push({ fn: m[3], file: m[1], line: Number(m[2]) });
  for (const m of query.matchAll(JAVA_FRAME)) frames.push({ fn: m[1], file: m[2], line: Number(m[3]) });
  if (!frames.length) for (const m of query.matchAll(PATH_LINE)) frames.push({ file: m[1], line: Number(m[2]) });
  // Frames inside dependencies or Node internals say nothing about the user's own code.
  return frames.filter((f) => !f.file || !/^node:|^internal\//.test(f.file));
}

export function analyzeQuery(query: string, options: QueryAnalysisOptions = {}): AnalyzedQuery {
  const frameWeight = options.frameWeight ?? 1;
  const identifierWeight = options.identifierWeight ?? QUERY_ANALYSIS_DEFAULTS.identifierWeight;
  const queryTf = options.queryTf ?? QUERY_ANALYSIS_DEFAULTS.queryTf;
  const weights = new Map<string, number>();
  const counts = new Map<string, number>();
  const add = (terms: string[], w: number) => {
    for (const t of terms) weights.set(t, Math.max(weights.get(t) ?? 0, w));
  };
  const long = query.length > LONG_QUERY_CHARS;
  if (long) query = stripBoilerplate(query);
  const all = codeTerms(query);
  for (const t of all) counts.set(t, (counts.get(t) ?? 0) + 1);
  add(all, 1);
  const frames = extractFrames(query);
  const identifiers = new Set<string>();
  const paths = new Set<string>();
  for (const m of query.matchAll(REPO_URL_PATH)) paths.add(decodeURIComponentSafe(m[1]!));
  for (const m of query.matchAll(FOLDER_PATH)) if (!/^https?:/.test(m[1]!)) paths.add(m[1]!);
  const fileStems = new Set<string>();
  for (const f of frames) {
    if (f.fn) {
      const fn = f.fn.replace(/^(?:new|async)\s+/, '');
      add(codeTerms(fn), frameWeight);
      identifiers.add(fn);
    }
    if (f.file) {
      const stem = stemOf(f.file);
      if (stem) fileStems.add(stem);
      if (f.file.includes('/')) paths.add(f.file.replace(/^\.?\//, ''));
      const segments = f.file.split(/[\\/]/);
      add(pathTerms(segments.slice(-2).join('/')), frameWeight);
    }
  }
  for (const m of query.matchAll(CODE_SPAN)) {
    add(codeTerms(m[1]!), identifierWeight);
    if (/^[A-Za-z_$][\w$]*$/.test(m[1]!)) identifiers.add(m[1]!);
  }
  for (const m of query.matchAll(IDENTIFIER)) {
    add(codeTerms(m[0]), identifierWeight);
    identifiers.add(m[0]);
  }
  for (const m of query.matchAll(CALLED)) identifiers.add(m[1]!);
  for (const m of query.matchAll(QUALIFIED)) identifiers.add(m[0]);
  for (const m of query.matchAll(/\b[\w-]+\.(?:[jt]sx?|mjs|cjs|py|go|rs|java|cs|rb|php|c|cc|cpp|h|hpp)\b/g)) {
    const stem = stemOf(m[0]);
    if (stem) fileStems.add(stem);
  }
  const titleWeight = options.titleWeight ?? QUERY_ANALYSIS_DEFAULTS.titleWeight;
  const firstLine = long ? (query.trimStart().split('\n', 1)[0] ?? '').trim() : '';
  const title = firstLine.length <= 200 ? firstLine : '';
  if (title && titleWeight !== 1) for (const t of new Set(codeTerms(title))) if (weights.has(t)) weights.set(t, weights.get(t)! * titleWeight);
  const terms = [...weights].map(([term, weight]) => ({ term, weight: queryTf ? weight * (1 + queryTf * Math.log(counts.get(term) ?? 1)) : weight }));
  // For the embedder, prose matters more than a wall of frames: drop frame lines from long queries.
  const embedText = long
    ? query
        .replace(V8_FRAME, '')
        .replace(JAVA_FRAME, '')
        .replace(/\n{3,}/g, '\n\n')
        .slice(0, EMBED_TEXT_CHARS)
    : query;
  for (const p of paths) {
    const stem = stemOf(p);
    if (stem) fileStems.add(stem);
  }
  return {
    terms,
    embedText,
    frames,
    fileStems,
    paths: [...paths].filter((p) => p.includes('/')),
    long,
    identifiers: [...identifiers],
    text: query,
    title,
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
