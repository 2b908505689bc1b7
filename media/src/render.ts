/**
 * Pure rendering of an answer's markdown to HTML for the chat webview. No DOM: it runs in the
 * webview bundle and in Node unit tests alike.
 *
 * The answer is model output built from file content, so it is untrusted. The rules:
 * - raw HTML is never passed through (markdown-it `html: false` escapes it);
 * - no element carries `href` or `src`: links render as inert text, images as their alt text;
 * - no `style` attribute is emitted (the webview's CSP has no 'unsafe-inline'), table alignment
 *   becomes a class;
 * - `[n]` markers outside code become citation chips only when the host sent a citation for that
 *   number (or, while the answer streams, as inert placeholders);
 * - every attribute value and text we add is escaped.
 */
import MarkdownIt from 'markdown-it';
import type { CitationView } from '../../src/vscode/protocol';
import { highlightCode } from './highlight';

type Markdown = MarkdownIt.MarkdownIt;
type Token = MarkdownIt.Token;
type StateInline = MarkdownIt.StateInline;
type StateCore = MarkdownIt.StateCore;

/** Options for {@link renderAnswerHtml}. */
export interface RenderOptions {
  /**
   * True while the answer streams: citations have not been verified yet, so every well-formed
   * `[n]` marker renders as a disabled placeholder chip instead of staying literal.
   */
  pending?: boolean;
}

/** What the citation rule reads from markdown-it's per-render environment. */
interface CitationEnv extends MarkdownIt.Env {
  citations: readonly CitationView[];
  pending: boolean;
  /** How many `[n]` markers were seen so far, per n; maps the k-th marker to the k-th citation. */
  seen: Map<number, number>;
  /** Code blocks rendered so far (their index is what Insert sends back). */
  blocks: number;
}

/**
 * Same shapes the host's parser accepts (src/core/citations.ts): a run of adjacent markers such as
 * `[1]`, `[1, 2]`, `[1][2]`, `[1] [2]`, with numbers of 1–3 digits. The run is matched as one unit,
 * so the `]` that ends `[1]` does not make `[2]` look like indexing.
 */
const MARKER_RUN = /^\[\d{1,3}(?:\s*,\s*\d{1,3})*\](?:[ \t]?,?[ \t]?\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*/;
const MARKER = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/** Escapes text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** The file name and line range of a `path:Lx-Ly` label, which is what fits on a chip in a narrow sidebar. */
export function shortLabel(label: string): string {
  const colon = label.lastIndexOf(':');
  const file = colon > 0 ? label.slice(0, colon) : label;
  const lines = colon > 0 ? label.slice(colon) : '';
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return (slash >= 0 ? file.slice(slash + 1) : file) + lines;
}

/**
 * Short, unambiguous names for a set of paths: the file name, or as many trailing folders as it
 * takes to tell two files apart (`trie/router.ts` and `regexp/router.ts`, never `router.ts` twice).
 */
export function disambiguate(paths: readonly string[]): Map<string, string> {
  const unique = [...new Set(paths)];
  const parts = new Map(unique.map((p) => [p, p.split(/[\\/]/).filter(Boolean)]));
  const depth = new Map(unique.map((p) => [p, 1]));
  // Lengthen the suffix of every path whose current short name collides, until none do.
  for (let round = 0; round < 64; round++) {
    const byName = new Map<string, string[]>();
    for (const p of unique) {
      const segs = parts.get(p)!;
      const name = segs.slice(-depth.get(p)!).join('/');
      byName.set(name, [...(byName.get(name) ?? []), p]);
    }
    let changed = false;
    for (const group of byName.values()) {
      if (group.length < 2) continue;
      for (const p of group) {
        if (depth.get(p)! < parts.get(p)!.length) {
          depth.set(p, depth.get(p)! + 1);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return new Map(unique.map((p) => [p, parts.get(p)!.slice(-depth.get(p)!).join('/') || p]));
}

/** Splits a `path:Lx-Ly` label into its path and its `:Lx-Ly` part. */
export function splitLabel(label: string): { path: string; lines: string } {
  const m = /^(.*?)(:L\d+(?:-L\d+)?)$/.exec(label);
  return m ? { path: m[1]!, lines: m[2]! } : { path: label, lines: '' };
}

/** What a resolving citation's support check means, in words ("" when it supports its claim or was not checked). */
export function supportText(c: CitationView): string {
  const missing = c.missing?.length ? c.missing.map((t) => `“${t}”`).join(', ') : '';
  if (c.support === 'unsupported') return `the cited lines do not mention ${missing || 'what the sentence claims'}`;
  if (c.support === 'partial') return `the cited lines do not mention ${missing || 'part of the claim'}`;
  return '';
}

/** The tooltip of a chip: what the citation points at, what was checked, and what failed. */
export function citationTitle(c: CitationView): string {
  switch (c.status) {
    case 'verified': {
      const why = supportText(c);
      if (why) return `${c.label} — found, but ${c.support === 'partial' ? 'only partly supports the claim' : 'may not support the claim'}: ${why}`;
      return c.support === 'supported' ? `${c.label} — found; the cited lines mention what the sentence names` : `${c.label} — found (source in the prompt, lines unchanged)`;
    }
    case 'stale':
      return `${c.label} — stale: ${c.reason ?? 'the file changed since indexing'}`;
    default:
      return `${c.label} — not a valid citation: ${c.reason ?? 'unknown reason'}`;
  }
}

/** True when a resolving citation's lines do not (fully) contain its claim's terms. */
export function weaklySupported(c: CitationView): boolean {
  return c.status === 'verified' && (c.support === 'unsupported' || c.support === 'partial');
}

/** HTML of one chip; `c` undefined renders the streaming placeholder for `[n]`. */
function chipHtml(n: number, c: CitationView | undefined): string {
  if (!c) {
    return `<button type="button" class="chip chip-pending" disabled title="Checking citation [${n}]…">${n}</button>`;
  }
  const status = c.status === 'verified' || c.status === 'stale' ? c.status : 'invalid';
  const title = escapeHtml(citationTitle(c));
  const weak = weaklySupported(c);
  const icon = status === 'stale' || weak ? '<span class="codicon codicon-warning" aria-hidden="true"></span>' : '';
  const attrs = [
    'type="button"',
    `class="chip chip-${status}${weak ? ' chip-weak' : ''}"`,
    `data-citation-id="${c.id}"`,
    `data-n="${n}"`,
    `data-status="${status}"`,
    `title="${title}"`,
    `aria-label="Citation ${n}: ${title}"`,
  ];
  // An invalid citation must not be clickable: `disabled` keeps it out of clicks and of the
  // webview's handlers, while its tooltip and accessible name still say why.
  if (status === 'invalid') attrs.push('disabled');
  // Compact: the number in the text, the file and lines in the tooltip, the preview and the
  // "Used N references" list (a label would be clipped in a narrow sidebar).
  return `<button ${attrs.join(' ')}>${icon}${n}</button>`;
}

/**
 * Picks the citation for the k-th `[n]` marker. The host reports one citation per marker in the
 * order they appear, so the k-th `[n]` maps to the k-th citation numbered n; if the counts disagree
 * (a marker inside code, which the host counts and we render literally) the last one is reused.
 */
function citationFor(env: CitationEnv, n: number): CitationView | undefined {
  const matches = env.citations.filter((c) => c.n === n && Number.isInteger(c.id));
  if (!matches.length) return undefined;
  const k = env.seen.get(n) ?? 0;
  env.seen.set(n, k + 1);
  return matches[Math.min(k, matches.length - 1)];
}

/** Inline rule: `[n]` / `[n, m]` markers become chip tokens. Code spans never reach inline rules. */
function citationRule(state: StateInline, silent: boolean): boolean {
  if (state.src.charCodeAt(state.pos) !== 0x5b /* [ */) return false;
  const m = MARKER_RUN.exec(state.src.slice(state.pos, Math.min(state.posMax, state.pos + 256)));
  if (!m) return false;
  // Mirror the host parser's exclusions so both sides agree on which brackets are markers: a
  // markdown link `[1](…)` and indexing such as `arr[0]` or `x][1]` are not citations.
  const before = state.pos > 0 ? state.src[state.pos - 1]! : ' ';
  const after = state.src[state.pos + m[0].length];
  if (after === '(' || /[\w)\]]/.test(before)) return false;
  const env = state.env as Partial<CitationEnv>;
  if (!env.citations) return false;
  const numbers = [...m[0].matchAll(MARKER)].flatMap((x) => x[1]!.split(',').map((s) => Number(s.trim())));
  if (!env.pending && !numbers.some((n) => env.citations!.some((c) => c.n === n))) return false;
  if (!silent) {
    const token = state.push('citation', '', 0);
    token.meta = { numbers };
  }
  state.pos += m[0].length;
  return true;
}

/** Renders a citation token: one chip per number; a number without a citation stays literal. */
function renderCitation(tokens: Token[], idx: number, _options: unknown, rawEnv: unknown): string {
  const env = rawEnv as CitationEnv;
  const { numbers } = tokens[idx]!.meta as { numbers: number[] };
  return numbers
    .map((n) => {
      if (env.pending) return chipHtml(n, undefined);
      const c = citationFor(env, n);
      return c ? chipHtml(n, c) : escapeHtml(`[${n}]`);
    })
    .join(numbers.length > 1 ? ' ' : '');
}

/**
 * A fenced or indented code block: a header with its language, Copy and Insert at Cursor, and the
 * code highlighted. `index` numbers the blocks of one answer.
 */
function codeBlockHtml(content: string, info: string, index: number): string {
  // The info string is untrusted too; keep only a plausible language id for the label and class.
  const lang = /^[\w+#.-]{1,24}/.exec(info.trim())?.[0] ?? '';
  const langClass = lang ? ` class="hljs language-${escapeHtml(lang)}"` : ' class="hljs"';
  return (
    `<div class="code-block" data-block="${index}">` +
    '<div class="code-header">' +
    `<span class="code-lang">${escapeHtml(lang || 'text')}</span>` +
    '<span class="code-actions">' +
    '<button type="button" class="code-insert icon-button" title="Insert at cursor" aria-label="Insert at cursor">' +
    '<span class="codicon codicon-insert" aria-hidden="true"></span></button>' +
    '<button type="button" class="code-copy icon-button" title="Copy code" aria-label="Copy code">' +
    '<span class="codicon codicon-copy" aria-hidden="true"></span></button>' +
    '</span>' +
    '</div>' +
    `<pre><code${langClass}>${highlightCode(content, lang, escapeHtml)}</code></pre>` +
    '</div>\n'
  );
}

/** Table alignment arrives as `style="text-align:…"`, which the CSP would block; use a class instead. */
function alignToClass(state: StateCore): void {
  for (const t of state.tokens) {
    if (t.type !== 'th_open' && t.type !== 'td_open') continue;
    const style = t.attrGet('style');
    if (!style) continue;
    t.attrs = (t.attrs ?? []).filter(([name]) => name !== 'style');
    const align = /text-align:\s*(left|right|center)/.exec(String(style))?.[1];
    if (align) t.attrJoin('class', `align-${align}`);
  }
}

/** Builds the one markdown-it instance the webview uses. */
function createMarkdown(): Markdown {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  // No link target is ever emitted, so there is nothing to validate: accepting every scheme makes
  // `[x](javascript:…)` render like any other link (inert text) instead of as raw markdown.
  md.validateLink = () => true;
  md.inline.ruler.before('link', 'citation', citationRule);
  md.core.ruler.push('align_to_class', alignToClass);
  const r = md.renderer.rules;
  r.citation = renderCitation;
  // Links (inline, reference and `<autolink>`) keep their text and lose their target.
  r.link_open = () => '<span class="md-link" title="Links in answers are not opened">';
  r.link_close = () => '</span>';
  r.image = (tokens, idx, options, env, self) => {
    const alt = self.renderInlineAsText(tokens[idx]!.children ?? [], options, env);
    return `<span class="md-image" title="Images in answers are not loaded">[image${alt ? `: ${escapeHtml(alt)}` : ''}]</span>`;
  };
  const nextBlock = (env: unknown) => (env as CitationEnv).blocks++;
  r.fence = (tokens, idx, _o, env) => codeBlockHtml(tokens[idx]!.content, tokens[idx]!.info, nextBlock(env));
  r.code_block = (tokens, idx, _o, env) => codeBlockHtml(tokens[idx]!.content, '', nextBlock(env));
  return md;
}

let shared: Markdown | undefined;

/**
 * Renders an answer's markdown to sanitized HTML. `[n]` markers outside code become
 * `<button class="chip chip-{status}" data-citation-id="…">` for the citations the host verified;
 * with `pending`, they become disabled placeholders until the citations arrive.
 */
export function renderAnswerHtml(markdown: string, citations: readonly CitationView[], options: RenderOptions = {}): string {
  shared ??= createMarkdown();
  const env: CitationEnv = { citations, pending: options.pending === true, seen: new Map(), blocks: 0 };
  return shared.render(markdown, env);
}

/** "0.812": a source's fused score as shown in the Context list. */
export function formatScore(score: number): string {
  return Number.isFinite(score) ? score.toFixed(3) : '–';
}

/**
 * Footer wording of a turn's citation checks: how many were *found* (the source was in the prompt
 * and its lines are unchanged) and how many of those the support check backs.
 */
export function integrityText(integrity: string, citations: readonly CitationView[] = []): string {
  // The citations as they are now (an edit can make one stale after the answer); the host's
  // "v/t" string only when there are none to count.
  let found: number;
  let total: number;
  if (citations.length) {
    found = citations.filter((c) => c.status === 'verified').length;
    total = citations.length;
  } else {
    const m = /^(\d+)\/(\d+)$/.exec(integrity.trim());
    if (!m) return integrity;
    found = Number(m[1]);
    total = Number(m[2]);
  }
  if (total === 0) return 'no citations';
  const parts = [`${found}/${total} citation${total === 1 ? '' : 's'} found`];
  const stale = citations.filter((c) => c.status === 'stale').length;
  if (stale) parts.push(`${stale} stale`);
  const weak = citations.filter(weaklySupported).length;
  if (weak) parts.push(`${weak} may not support ${weak === 1 ? 'its' : 'their'} claim`);
  return parts.join(' · ');
}

/** True when every citation of the integrity string "v/t" verified (and there was at least one). */
export function allVerified(integrity: string): boolean {
  const m = /^(\d+)\/(\d+)$/.exec(integrity.trim());
  return !!m && m[1] === m[2] && m[2] !== '0';
}
