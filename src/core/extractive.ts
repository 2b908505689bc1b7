/**
 * The extractive answer: what Groundwork says when no language model is configured or reachable.
 * No generation — it quotes the passages of the retrieved sources that best match the question,
 * each with its citation, and says in one line how to get written answers.
 *
 * For each of the best sources (one per file, up to four) it picks a window of at most
 * {@link MAX_EXCERPT_LINES} lines around the lines that share the most question terms, keeps the
 * declaration line above the window when it is close, and leads with the first sentence of the
 * chunk's doc comment when there is one.
 */
import type { Source } from './citations';
import { codeTerms } from './tokenize';

export const MAX_EXCERPT_LINES = 12;
const MAX_PASSAGES = 4;

export const NO_MODEL_NOTE =
  'No language model is configured, so this answer quotes the most relevant code instead of explaining it. ' +
  'For written answers, point Groundwork at an OpenAI-compatible endpoint (set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server such as Ollama or LM Studio, with --model).';

export interface Passage {
  source: Source;
  /** 1-based file lines of the excerpt. */
  startLine: number;
  endLine: number;
  excerpt: string;
  /** First sentence of the chunk's doc comment, if any. */
  summary?: string;
  score: number;
}

const COMMENT_LINE = /^\s*(\/\*\*?|\*(?!\/)|\/\/\/?|#(?!include|define|if|endif|pragma)|"""|'''|--)/;
const DECLARATION = /\b(function|class|def|func|fn|interface|type|struct|enum|impl|module|namespace|const|let|var|public|private|protected|static|async|export)\b/;

/** First sentence of the doc comment at the top of a chunk (or right above its first declaration). */
export function docSummary(text: string): string | undefined {
  const lines = text.split('\n');
  const comment: string[] = [];
  let started = false;
  for (const line of lines.slice(0, 30)) {
    if (COMMENT_LINE.test(line)) {
      // A chunk that starts inside a comment (a split piece) has no summary of its own.
      if (!started && /^\s*\*(?!\/)/.test(line)) return undefined;
      started = true;
      const content = line
        .replace(/^\s*(\/\*\*?|\*\/?|\/\/\/?|#|"""|'''|--)\s?/, '')
        .replace(/\*\/\s*$/, '')
        .replace(/"""\s*$|'''\s*$/, '')
        .trim();
      if (content.startsWith('@')) break; // JSDoc tags end the description
      if (content) comment.push(content);
    } else if (started) {
      break;
    } else if (line.trim() && !/^\s*(@\w|#\[)/.test(line)) {
      // Python docstrings come after the def line.
      if (!/^\s*(def|class|async def)\b/.test(line)) break;
    }
  }
  const prose = comment.join(' ').replace(/\s+/g, ' ').trim();
  if (prose.length < 12) return undefined;
  const end = prose.search(/[.!?](\s|$)/);
  const sentence = end > 0 ? prose.slice(0, end + 1) : prose;
  return sentence.length > 240 ? `${sentence.slice(0, 237)}…` : sentence;
}

/** Picks the best excerpt of one source for a question. */
export function bestPassage(source: Source, questionTerms: ReadonlySet<string>): Passage {
  const lines = source.text.split('\n');
  const scores = lines.map((line) => {
    const seen = new Set<string>();
    let s = 0;
    for (const t of codeTerms(line)) {
      if (questionTerms.has(t) && !seen.has(t)) {
        seen.add(t);
        s += 1;
      }
    }
    return s;
  });
  // The window of MAX_EXCERPT_LINES lines with the highest total, earliest on ties.
  const w = Math.min(MAX_EXCERPT_LINES, lines.length);
  let bestStart = 0;
  let bestTotal = -1;
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    total += scores[i]!;
    if (i >= w) total -= scores[i - w]!;
    if (i >= w - 1 && total > bestTotal) {
      bestTotal = total;
      bestStart = i - w + 1;
    }
  }
  let start = bestStart;
  let end = bestStart + w - 1;
  // Trim lines without matches from the bottom of the window, keeping at least 3 lines.
  while (end > start + 2 && scores[end] === 0 && bestTotal > 0) end--;
  // Pull in the declaration line just above the window so the excerpt says what it is part of.
  for (let i = start - 1; i >= Math.max(0, start - 4); i--) {
    if (DECLARATION.test(lines[i]!) && !COMMENT_LINE.test(lines[i]!)) {
      const extra = start - i;
      start = i;
      end = Math.max(start + 2, end - extra);
      break;
    }
  }
  // Drop blank lines at both ends.
  while (start < end && !lines[start]!.trim()) start++;
  while (end > start && !lines[end]!.trim()) end--;
  const excerpt = dedent(lines.slice(start, end + 1)).join('\n');
  return {
    source,
    startLine: source.startLine + start,
    endLine: source.startLine + end,
    excerpt,
    summary: docSummary(source.text),
    score: bestTotal,
  };
}

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length);
  const min = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(min, /^[ \t]*/.exec(l)![0].length)));
}

const FENCE_LANG: Record<string, string> = {
  typescript: 'ts',
  tsx: 'tsx',
  javascript: 'js',
  python: 'python',
  go: 'go',
  rust: 'rust',
  java: 'java',
  c: 'c',
  cpp: 'cpp',
  csharp: 'csharp',
  ruby: 'ruby',
  php: 'php',
  markdown: 'md',
  json: 'json',
  yaml: 'yaml',
};

/** The passages an extractive answer shows: one per file, best sources first, up to four. */
export function selectPassages(question: string, sources: readonly Source[]): Passage[] {
  const terms = new Set(codeTerms(question));
  const passages: Passage[] = [];
  const files = new Set<string>();
  for (const s of sources) {
    if (passages.length >= MAX_PASSAGES) break;
    if (files.has(s.path)) continue;
    const p = bestPassage(s, terms);
    // After the first passage, skip sources that share nothing with the question.
    if (passages.length && p.score <= 0) continue;
    files.add(s.path);
    passages.push(p);
  }
  return passages;
}

/** Markdown of an extractive answer; every passage carries its `[n]` citation. */
export function renderExtractiveAnswer(question: string, sources: readonly Source[], note = NO_MODEL_NOTE): string {
  const passages = selectPassages(question, sources);
  // An empty note leaves it out (the VS Code panel says it once, outside the answer).
  const tail = note ? `\n\n_${note}_` : '';
  if (!passages.length) return `The workspace does not seem to contain anything about this.${tail}`;
  const parts: string[] = ['The most relevant places in the workspace:'];
  passages.forEach((p, i) => {
    const s = p.source;
    const name = s.symbols.length ? `\`${s.symbols.slice(0, 2).join('`, `')}\` in ` : '';
    const range = p.startLine === p.endLine ? `line ${p.startLine}` : `lines ${p.startLine}–${p.endLine}`;
    parts.push('');
    parts.push(`${i + 1}. ${name}\`${s.path}\`, ${range} [${s.n}]${p.summary ? `: ${p.summary}` : ''}`);
    const fence = p.excerpt.includes('```') ? '~~~~' : '```';
    parts.push('');
    parts.push(`${fence}${FENCE_LANG[s.language] ?? ''}`);
    parts.push(p.excerpt);
    parts.push(fence);
  });
  return parts.join('\n') + tail;
}
