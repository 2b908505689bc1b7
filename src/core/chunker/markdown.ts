/** Markdown chunking: sections at ATX and setext headings (fences and front matter skipped), packed while small. */
import { chunkBlocks, emit, FENCE, HEADER_SEPARATOR, type Ctx } from './emission';
import type { SourceLines } from './sourceLines';

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
export function chunkMarkdown(ctx: Ctx): void {
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
