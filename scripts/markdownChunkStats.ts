/**
 * Measures Markdown chunking against CommonMark's block structure (markdown-it with every rule on, as
 * a renderer sees the file): chunk count and sizes, headings that start a chunk carrying their text as
 * a symbol, symbols that are not headings, fenced code blocks cut across chunks, chunking time.
 *
 *   node scripts/runTs.mjs scripts/markdownChunkStats.ts [--budget 800] dir...
 *
 * Files are every .md / .markdown under the folders (.git skipped), de-duplicated by content; files
 * over 2 MB are left out. Prints one Markdown table row (and a header line naming the corpus); with
 * SHOW=1 also each symbol that is not a CommonMark heading.
 * docs/evaluation.md records a run before and after the switch to markdown-it's tokens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import MarkdownIt from 'markdown-it';
import { Chunker } from '../src/core/chunker/chunker';

function listMarkdown(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '.git') listMarkdown(p, out);
    } else if (e.isFile() && /\.(md|markdown)$/i.test(e.name)) out.push(p);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let budget = 800;
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--budget') budget = Number(args[++i]);
    else if (args[i]) dirs.push(args[i]!);
  }
  if (!dirs.length) {
    console.error('usage: node scripts/runTs.mjs scripts/markdownChunkStats.ts [--budget 800] dir...');
    process.exit(2);
  }
  const files: string[] = [];
  for (const d of dirs) listMarkdown(d, files);
  files.sort();
  const seen = new Set<string>();
  const texts: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    if (text.length <= 2_000_000 && !seen.has(text)) {
      seen.add(text);
      texts.push(text);
    }
  }
  const reference = new MarkdownIt({ html: true });
  const chunker = new Chunker({ maxChars: budget });
  // Warm-up pass, so the timing measures chunking rather than the JIT.
  for (const t of texts.slice(0, 200)) await chunker.chunkFile('doc.md', t, 'markdown');

  let bytes = 0;
  let headings = 0;
  let fences = 0;
  let fencesFitting = 0;
  let chunks = 0;
  let tiny = 0;
  let headingsKept = 0;
  let notHeadings = 0;
  let fencesCut = 0;
  let fencesFittingCut = 0;
  let ms = 0;
  const sizes: number[] = [];
  for (const text of texts) {
    bytes += Buffer.byteLength(text);
    const norm = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    const lines = norm.split('\n');
    // Front matter is data for both: skip what lies in it.
    let fm = 0;
    if (lines.length > 1 && lines[0]!.trim() === '---') {
      for (let j = 1; j < lines.length; j++) {
        const t = lines[j]!.trim();
        if (t === '---' || t === '...') {
          fm = j + 1;
          break;
        }
      }
    }
    const tokens = reference.parse(norm, {});
    const refHeadings: Array<{ line: number; text: string }> = [];
    const refFences: Array<[number, number]> = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (!t.map || t.map[0] < fm) continue;
      if (t.type === 'heading_open' && t.level === 0) refHeadings.push({ line: t.map[0], text: (tokens[i + 1]?.content ?? '').replace(/\s+/g, ' ').trim() });
      if (t.type === 'fence') refFences.push([t.map[0], t.map[1] - 1]);
    }
    const size = (a: number, b: number): number => lines.slice(a, b + 1).join('\n').length;
    headings += refHeadings.length;
    fences += refFences.length;
    const t0 = performance.now();
    const r = await chunker.chunkFile('doc.md', text, 'markdown');
    ms += performance.now() - t0;
    chunks += r.chunks.length;
    for (const c of r.chunks) {
      sizes.push(c.text.length);
      if (c.text.length < budget / 8) tiny++;
    }
    const refTexts = new Set(refHeadings.map((h) => h.text));
    for (const h of refHeadings) if (h.text && r.chunks.some((c) => c.startLine === h.line + 1 && c.symbols.includes(h.text))) headingsKept++;
    for (const s of new Set(r.chunks.flatMap((c) => c.symbols))) {
      // Compared with runs of whitespace collapsed: only the words matter here.
      if (!refTexts.has(s.replace(/\s+/g, ' ').trim())) {
        notHeadings++;
        if (process.env.SHOW) console.log(`not a heading: ${JSON.stringify(s.slice(0, 80))}`);
      }
    }
    for (const [a, b] of refFences) {
      const fits = size(a, b) <= budget;
      if (fits) fencesFitting++;
      if (!r.chunks.some((c) => c.startLine <= a + 1 && c.endLine >= b + 1)) {
        fencesCut++;
        if (fits) fencesFittingCut++;
      }
    }
  }
  chunker.dispose();
  sizes.sort((a, b) => a - b);
  const q = (p: number): number => sizes[Math.floor((sizes.length - 1) * p)] ?? 0;
  const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
  console.log(
    `${texts.length} distinct Markdown files, ${(bytes / 1e6).toFixed(1)} MB; ${headings} CommonMark headings, ${fences} fences (${fencesFitting} within the ${budget}-character budget)`,
  );
  console.log(
    '| chunks | mean / median / p90 chars | chunks < budget/8 | headings starting a chunk with their text as symbol | symbols that are not headings | fences cut (all / within budget) | chunking time |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${chunks} | ${mean.toFixed(0)} / ${q(0.5)} / ${q(0.9)} | ${tiny} | ${headingsKept} of ${headings} | ${notHeadings} | ${fencesCut} / ${fencesFittingCut} | ${ms.toFixed(0)} ms |`,
  );
}

void main();
