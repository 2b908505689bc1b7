/**
 * Citations: parsing `[n]` markers (and `path:Lx-Ly` mentions) out of an answer and verifying each
 * against the sources that were in the prompt and the files as they are now.
 *
 * Invariant: a citation is rendered as a link only when `status` is `verified` or `stale`; a stale
 * one says that the file changed since indexing. Anything else is reported, never linked.
 */
import { readRegularFile } from './fsUtil';
import * as path from 'node:path';

/** A numbered source as given to the model. */
export interface Source {
  /** 1-based number used in `[n]`. */
  n: number;
  chunkId: string;
  path: string;
  startLine: number;
  endLine: number;
  language: string;
  /** Names the chunk defines. */
  symbols: string[];
  /** The chunk text as indexed (what the model saw). */
  text: string;
  /** Content hash of the chunk at index time. */
  hash: string;
  score: number;
  retrievers: string[];
}

export type CitationStatus = 'verified' | 'stale' | 'invalid';

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
}

export interface CitationReport {
  citations: Citation[];
  verified: number;
  stale: number;
  invalid: number;
  /** verified / total (1 when there are none). Stale citations resolve but are not counted. */
  integrity: number;
}

const BRACKET = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
// `path/to/file.ext:L12-L30`, `file.ext:12-30`, `file.ext:L12`, inside or outside backticks. The
// extension starts with a letter and the match may not follow `//`, so hosts and URLs
// (`127.0.0.1:8080`, `http://example.com:80`) are not taken for files.
const PATH_RANGE = /(?<![\w.\-/\\]|\/\/)([A-Za-z0-9_.\-/\\]+\.[A-Za-z][A-Za-z0-9]{0,7}):L?(\d+)(?:-L?(\d+))?/g;

/** Finds `[n]`, `[n, m]` and `path:Lx-Ly` markers in order of appearance. */
export function parseCitationMarkers(answer: string): Array<{ marker: string; offset: number; n?: number; path?: string; startLine?: number; endLine?: number }> {
  const out: Array<{ marker: string; offset: number; n?: number; path?: string; startLine?: number; endLine?: number }> = [];
  for (const m of answer.matchAll(BRACKET)) {
    // Skip markdown links `[1](...)` and array indexing like `arr[0]` inside code.
    const after = answer[m.index + m[0].length];
    const before = m.index > 0 ? answer[m.index - 1] : ' ';
    if (after === '(' || (before && /[\w)\]]/.test(before))) continue;
    for (const num of m[1]!.split(',')) out.push({ marker: `[${num.trim()}]`, offset: m.index, n: Number(num.trim()) });
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
export async function verifyCitations(
  answer: string,
  sources: readonly Source[],
  resolve: (indexPath: string) => string | undefined,
): Promise<CitationReport> {
  const fileCache = new Map<string, string[] | null>();
  const readLines = async (abs: string): Promise<string[] | null> => {
    if (!fileCache.has(abs)) {
      // Regular files only: a cited file that became a FIFO must not block the answer.
      const text = await readRegularFile(abs).then((r) => r.bytes.toString('utf8'), () => null);
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
        citations.push({ marker: m.marker, offset: m.offset, n: m.n, status: 'invalid', reason: `there is no source [${m.n}] (the answer had ${sources.length})` });
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
        citations.push({ marker: m.marker, offset: m.offset, path: p, startLine, endLine, status: 'invalid', reason: why });
        continue;
      }
    }
    const base: Citation = { marker: m.marker, offset: m.offset, n: source.n, path: p, startLine, endLine, hash: source.hash, status: 'verified' };
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
    // A split over-long line is a piece of its line; containment covers it.
    if (source.startLine === startLine && source.endLine === endLine && current !== source.text && !current.includes(source.text)) {
      citations.push({ ...base, status: 'stale', reason: 'the file changed since it was indexed' });
      continue;
    }
    citations.push(base);
  }
  const verified = citations.filter((c) => c.status === 'verified').length;
  const stale = citations.filter((c) => c.status === 'stale').length;
  const invalid = citations.length - verified - stale;
  return { citations, verified, stale, invalid, integrity: citations.length ? verified / citations.length : 1 };
}
