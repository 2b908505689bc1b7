/**
 * Citations: parsing `[n]` markers (and `path:Lx-Ly` mentions) out of an answer and verifying each
 * against the sources that were in the prompt and the files as they are now.
 *
 * Invariant: a citation is rendered as a link only when `status` is `verified` or `stale`; a stale
 * one says that the file changed since indexing. Anything else is reported, never linked.
 */
import { readRegularFile } from './fsUtil';
import type { Chunk } from './types';
import * as path from 'node:path';

/** A numbered source as given to the model. */
export interface Source extends Pick<Chunk, 'path' | 'startLine' | 'endLine' | 'language' | 'symbols' | 'text' | 'hash'> {
  /** 1-based number used in `[n]`. */
  n: number;
  /** The chunk's {@link Chunk.id}. `text` is the chunk text as indexed (what the model saw), `hash` its hash at index time. */
  chunkId: string;
  score: number;
  retrievers: string[];
}

/**
 * What a citation's check established. `verified`: the cited source was in the prompt and its lines
 * are unchanged in the file (it *resolves*; whether it supports the claim is {@link Citation.support}).
 * `stale`: the file changed since indexing (or since the answer), so the lines may have moved.
 * `invalid`: no such source, or a path/range outside the workspace or the file.
 */
export type CitationStatus = 'verified' | 'stale' | 'invalid';

/**
 * Whether the cited lines contain what the sentence before the marker names: its identifiers,
 * numbers and quoted strings. `supported`: all of them; `partial`: some; `unsupported`: none;
 * `unchecked`: the sentence names nothing checkable (plain prose), or the citation did not resolve.
 * This is a lexical check, not a proof: it catches a claim citing the wrong source, not a wrong
 * claim about the right identifiers.
 */
export type SupportStatus = 'supported' | 'partial' | 'unsupported' | 'unchecked';

/** Result of {@link checkSupport}. */
export interface SupportReport {
  support: SupportStatus;
  /** The checkable terms of the claim that appear in the cited lines. */
  found: string[];
  /** Those that do not. */
  missing: string[];
}

export interface Citation {
  /** The marker as written (`[2]`, `src/a.ts:L3-L9`). */
  marker: string;
  /** Offset of the marker in the answer text. */
  offset: number;
  /** Source number when the marker is `[n]` or when a path mention matches a source. */
  n?: number;
  path?: string;
  startLine?: number;
  endLine?: number;
  /** Chunk hash at answer time (from the source). */
  hash?: string;
  status: CitationStatus;
  /** Why a citation is stale or invalid, in words a user understands. */
  reason?: string;
  /** Whether the cited lines contain the claim's identifiers, numbers and strings. */
  support: SupportStatus;
  /** Checkable terms of the claim missing from the cited lines (set when support is partial/unsupported). */
  missing?: string[];
}

export interface CitationReport {
  citations: Citation[];
  verified: number;
  stale: number;
  invalid: number;
  /** Resolving citations whose lines contain none of the claim's checkable terms. */
  unsupported: number;
  /** verified / total (1 when there are none). Stale citations resolve but are not counted. */
  integrity: number;
}

/**
 * A run of adjacent markers: `[1]`, `[1, 2]`, `[1][2]`, `[1] [2]`, `[1],[2]`. The run is one unit so
 * that the `]` ending one marker does not make the next look like indexing (`arr[0][1]`).
 */
const BRACKET_RUN = /\[\d{1,3}(?:\s*,\s*\d{1,3})*\](?:[ \t]?,?[ \t]?\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*/g;
const BRACKET = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
// `path/to/file.ext:L12-L30`, `file.ext:12-30`, `file.ext:L12`, inside or outside backticks. The
// extension starts with a letter and the match may not follow `//`, so hosts and URLs
// (`127.0.0.1:8080`, `http://example.com:80`) are not taken for files.
const PATH_RANGE = /(?<![\w.\-/\\]|\/\/)([A-Za-z0-9_.\-/\\]+\.[A-Za-z][A-Za-z0-9]{0,7}):L?(\d+)(?:-L?(\d+))?/g;

/** Finds `[n]`, `[n, m]` and `path:Lx-Ly` markers in order of appearance. */
/** A fenced Markdown code block (``` or ~~~), or an unclosed one running to the end. */
const FENCED_BLOCK = /^[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^[ \t]{0,3}\1[ \t]*$|(?![\s\S]))/gm;

export function parseCitationMarkers(text: string): Array<{ marker: string; offset: number; n?: number; path?: string; startLine?: number; endLine?: number }> {
  const out: Array<{ marker: string; offset: number; n?: number; path?: string; startLine?: number; endLine?: number }> = [];
  // Fenced code blocks are quoted code, not claims: `a[1]` or a `path:L3-L9` inside one (a README
  // quoting an example citation) is not a citation. Blanked with spaces so offsets stay true.
  // Inline code stays: models often write a citation as `src/a.ts:L3-L9`.
  const answer = text.replace(FENCED_BLOCK, (block) => block.replace(/[^\n]/g, ' '));
  for (const run of answer.matchAll(BRACKET_RUN)) {
    // Skip markdown links `[1](...)` and array indexing like `arr[0]` or `m[0][1]` inside code.
    const after = answer[run.index + run[0].length];
    const before = run.index > 0 ? answer[run.index - 1] : ' ';
    if (after === '(' || (before && /[\w)\]]/.test(before))) continue;
    for (const m of run[0].matchAll(BRACKET)) {
      const offset = run.index + m.index;
      for (const num of m[1]!.split(',')) out.push({ marker: `[${num.trim()}]`, offset, n: Number(num.trim()) });
    }
  }
  for (const m of answer.matchAll(PATH_RANGE)) {
    const start = Number(m[2]);
    const end = m[3] ? Number(m[3]) : start;
    out.push({ marker: m[0], offset: m.index, path: m[1]!.replace(/\\/g, '/').replace(/^\.\//, ''), startLine: start, endLine: end });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** True for a workspace-relative path that cannot escape its root. */
export function isSafeRelativePath(p: string): boolean {
  if (!p || p.includes('\0')) return false;
  if (path.isAbsolute(p) || /^[A-Za-z]:/.test(p) || p.startsWith('/') || p.startsWith('\\')) return false;
  return !p.split(/[\\/]/).some((seg) => seg === '..');
}

/**
 * Verifies every marker of `answer`. `resolve` maps an index path to an absolute file inside a
 * workspace root (or undefined when it is not one); files are read once each.
 */
export async function verifyCitations(answer: string, sources: readonly Source[], resolve: (indexPath: string) => string | undefined): Promise<CitationReport> {
  const fileCache = new Map<string, string[] | null>();
  const readLines = async (abs: string): Promise<string[] | null> => {
    if (!fileCache.has(abs)) {
      // Regular files only: a cited file that became a FIFO must not block the answer.
      const text = await readRegularFile(abs).then(
        (r) => r.bytes.toString('utf8'),
        () => null,
      );
      fileCache.set(abs, text === null ? null : text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/));
    }
    return fileCache.get(abs) ?? null;
  };
  const citations: Citation[] = [];
  for (const m of parseCitationMarkers(answer)) {
    let source: Source | undefined;
    if (m.n !== undefined) {
      source = sources.find((s) => s.n === m.n);
      if (!source) {
        citations.push({
          marker: m.marker,
          offset: m.offset,
          n: m.n,
          status: 'invalid',
          reason: `there is no source [${m.n}] (the answer had ${sources.length})`,
          support: 'unchecked',
        });
        continue;
      }
    }
    const p = source?.path ?? m.path!;
    const startLine = source?.startLine ?? m.startLine!;
    const endLine = source?.endLine ?? m.endLine!;
    if (!source) {
      // A path mention counts only when it points inside a source the model was given.
      source = sources.find((s) => s.path === p && s.startLine <= startLine && endLine <= s.endLine);
      if (!source) {
        const why = !isSafeRelativePath(p) ? 'the path is outside the workspace' : 'that range was not among the sources the model was given';
        citations.push({ marker: m.marker, offset: m.offset, path: p, startLine, endLine, status: 'invalid', reason: why, support: 'unchecked' });
        continue;
      }
    }
    const base: Citation = { marker: m.marker, offset: m.offset, n: source.n, path: p, startLine, endLine, hash: source.hash, status: 'verified', support: 'unchecked' };
    if (!isSafeRelativePath(p)) {
      citations.push({ ...base, status: 'invalid', reason: 'the path is outside the workspace' });
      continue;
    }
    const abs = resolve(p);
    if (!abs) {
      citations.push({ ...base, status: 'invalid', reason: 'the path is not inside a workspace folder' });
      continue;
    }
    const lines = await readLines(abs);
    if (!lines) {
      citations.push({ ...base, status: 'invalid', reason: 'the file no longer exists or cannot be read' });
      continue;
    }
    if (startLine < 1 || endLine < startLine || endLine > lines.length) {
      citations.push({ ...base, status: 'invalid', reason: `lines ${startLine}-${endLine} are outside the file (${lines.length} lines)` });
      continue;
    }
    const current = lines.slice(startLine - 1, endLine).join('\n');
    // The cited lines as the model saw them: the whole source, or the part a path mention names.
    const seen = source.text
      .split('\n')
      .slice(startLine - source.startLine, endLine - source.startLine + 1)
      .join('\n');
    // A split over-long line is a piece of its line; containment covers it.
    if (current !== seen && !current.includes(seen)) {
      citations.push({ ...base, status: 'stale', reason: 'the file changed since it was indexed', support: 'unchecked' });
      continue;
    }
    const check = checkSupport(claimBefore(answer, m.offset), seen, p);
    citations.push({ ...base, support: check.support, ...(check.missing.length ? { missing: check.missing } : {}) });
  }
  const verified = citations.filter((c) => c.status === 'verified').length;
  const stale = citations.filter((c) => c.status === 'stale').length;
  const invalid = citations.length - verified - stale;
  const unsupported = citations.filter((c) => c.support === 'unsupported').length;
  return { citations, verified, stale, invalid, unsupported, integrity: citations.length ? verified / citations.length : 1 };
}

/**
 * The claim a marker at `offset` backs: the sentence (or list item, or line) that ends at the marker,
 * skipping the other markers of the same run (`… sessions [1][2]`).
 */
export function claimBefore(answer: string, offset: number): string {
  let end = offset;
  // Step back over earlier markers of the run and the spaces/commas between them.
  for (;;) {
    const head = answer.slice(0, end);
    const m = /(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\][ \t,]*)$/.exec(head);
    if (!m || m[0].length === 0) break;
    end -= m[0].length;
  }
  const head = answer.slice(Math.max(0, end - 600), end);
  // A sentence ends at ". ", "! ", "? " (not "e.g. " inside code), a newline, or an earlier marker.
  const cut = Math.max(head.search(/[^\n]*$/), lastMatchEnd(head, /[.!?](?=\s)|\]/g));
  return head.slice(Math.max(0, cut)).trim();
}

function lastMatchEnd(text: string, re: RegExp): number {
  let last = -1;
  for (const m of text.matchAll(re)) {
    // A period inside backticks (`a.b`) or a number (1.5) does not end a sentence.
    const before = text.slice(0, m.index);
    if ((before.match(/`/g)?.length ?? 0) % 2 === 1) continue;
    last = m.index + m[0].length;
  }
  return last;
}

const LINE_REFERENCE = /(?:[A-Za-z0-9_.\-/\\]+\.[A-Za-z][A-Za-z0-9]{0,7}:L?\d+(?:-L?\d+)?)|\blines?\s+\d+(?:\s*[–-]\s*\d+)?|\bL\d+(?:-L?\d+)?\b/g;
const CODE_LIKE = /^(?:[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*|\w*_\w+|[A-Z][A-Z0-9_]{2,}|\w+(?:\.\w+)+|\w+\(\))$/;

/**
 * The checkable terms of a claim: `backticked` spans, code-like identifiers (camelCase, PascalCase
 * with inner capitals, snake_case, CONSTANTS, dotted names, `call()`), numbers of two or more
 * digits, and quoted strings. Line references (`lines 3–9`, `a.ts:L3-L9`) and list numbers are not
 * claims about the code.
 */
export function claimTerms(claim: string): string[] {
  const terms = new Set<string>();
  let text = claim.replace(/^\s*(?:\d+[.)]|[-*+])\s+/, '');
  for (const m of text.matchAll(/`([^`\n]{1,80})`/g)) {
    const span = m[1]!.trim();
    if (span) terms.add(span.replace(/\(\)$/, ''));
  }
  text = text.replace(/`[^`\n]*`/g, ' ').replace(LINE_REFERENCE, ' ');
  for (const m of text.matchAll(/"([^"\n]{2,80})"|(?<![\w])'([^'\n]{2,80})'(?![\w])/g)) terms.add((m[1] ?? m[2])!);
  for (const m of text.matchAll(/[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\(\))?/g)) {
    const name = m[0].replace(/\(\)$/, '');
    if (CODE_LIKE.test(m[0]) || CODE_LIKE.test(name)) terms.add(name);
  }
  for (const m of text.matchAll(/(?<![\w.])\d{2,}(?:\.\d+)?(?![\w.])/g)) terms.add(m[0]);
  return [...terms];
}

/**
 * Checks that the cited lines contain the claim's terms (see {@link claimTerms}); case-insensitive,
 * and a term that names the cited file (`session.ts`, `src/auth/session.ts`) counts as found.
 */
export function checkSupport(claim: string, citedText: string, citedPath = ''): SupportReport {
  const terms = claimTerms(claim);
  if (!terms.length) return { support: 'unchecked', found: [], missing: [] };
  const hay = citedText.toLowerCase();
  const file = citedPath.toLowerCase();
  const found: string[] = [];
  const missing: string[] = [];
  for (const t of terms) {
    const needle = t.toLowerCase();
    const inFile = file && (file === needle || file.endsWith(`/${needle}`));
    (inFile || hay.includes(needle) ? found : missing).push(t);
  }
  const support = missing.length === 0 ? 'supported' : found.length === 0 ? 'unsupported' : 'partial';
  return { support, found, missing };
}
