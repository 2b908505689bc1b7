/**
 * Markdown chunking: sections at the document's headings, packed while small; an oversized section is
 * cut at blank lines, never inside a fenced or indented code block.
 *
 * The block structure comes from markdown-it's CommonMark block parser (its tokens carry line maps):
 * ATX and setext headings of the document itself (not inside block quotes, lists, HTML blocks or
 * code), and the line ranges of code blocks at any depth. Inline parsing is switched off: only the
 * block structure is needed. markdown-it does not know YAML front matter, so a leading `---` … `---`
 * (or `...`) block is skipped before parsing; it is data, not a document section.
 */
import MarkdownIt from 'markdown-it';
import { chunkBlocks, emit, HEADER_SEPARATOR, type Ctx } from './emission';
import type { SourceLines } from './sourceLines';

interface Heading {
  line: number;
  level: number;
  text: string;
}

interface MarkdownStructure {
  headings: Heading[];
  /** Inclusive 0-based line ranges of fenced and indented code blocks, in document order. */
  code: Array<[number, number]>;
}

let parser: MarkdownIt.MarkdownIt | undefined;

/** One block-only parser per process (markdown-it instances are reusable and stateless per parse). */
function blockParser(): MarkdownIt.MarkdownIt {
  if (!parser) {
    // html: true so HTML blocks are recognised as blocks (a `# x` inside one is not a heading).
    parser = new MarkdownIt({ html: true });
    parser.core.ruler.disable(['inline', 'linkify', 'replacements', 'smartquotes', 'text_join']);
  }
  return parser;
}

/** The first line after YAML front matter (0 when there is none). */
function frontMatterEnd(lines: SourceLines): number {
  if (lines.count > 1 && lines.slice(0, 0).trim() === '---') {
    for (let j = 1; j < lines.count; j++) {
      const t = lines.slice(j, j).trim();
      if (t === '---' || t === '...') return j + 1;
    }
  }
  return 0;
}

function markdownStructure(lines: SourceLines): MarkdownStructure {
  const first = frontMatterEnd(lines);
  const headings: Heading[] = [];
  const code: Array<[number, number]> = [];
  if (first >= lines.count) return { headings, code };
  const tokens = blockParser().parse(first ? lines.slice(first, lines.count - 1) : lines.text, {});
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!t.map) continue;
    const a = t.map[0] + first;
    const b = t.map[1] - 1 + first;
    if (t.type === 'heading_open' && t.level === 0) {
      // The inline token after heading_open holds the heading's source text (setext: its lines).
      const text = (tokens[i + 1]?.content ?? '').replace(/\s+/g, ' ').trim();
      headings.push({ line: a, level: Number(t.tag.slice(1)), text });
    } else if (t.type === 'fence' || t.type === 'code_block') {
      code.push([a, Math.min(b, lines.count - 1)]);
    }
  }
  return { headings, code };
}

/** Sections at headings, packed while small; an oversized section is cut at blank-line blocks outside code. */
export function chunkMarkdown(ctx: Ctx): void {
  const { lines, budget } = ctx;
  const { headings, code } = markdownStructure(lines);
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
      chunkBlocks(ctx, s.start, s.end, header, code);
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
