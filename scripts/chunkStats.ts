/**
 * Measures the chunker: throughput and chunk sizes over real files, at several budgets.
 *
 *   npx esbuild scripts/chunkStats.ts --bundle --platform=node --format=cjs \
 *     --alias:web-tree-sitter=./node_modules/web-tree-sitter/web-tree-sitter.cjs --outfile=out/chunkStats.js
 *   node scripts/build.mjs          # copies the wasm files to dist/wasm (used via GROUNDWORK_WASM_DIR)
 *   GROUNDWORK_WASM_DIR=dist/wasm node out/chunkStats.js [--budgets 800,1500,2500] [dir ...]
 *
 * Default folders: node_modules/eslint/lib and node_modules/typescript/lib (.js/.ts files).
 * Grammar loading is excluded from the timings (one warm-up file per language first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Chunker } from '../src/core/chunker/chunker';
import { languageForPath } from '../src/core/languages';
import type { ChunkMethod } from '../src/core/types';

const EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.tsx', '.jsx']);

function listFiles(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else if (e.isFile() && EXTENSIONS.has(path.extname(e.name))) out.push(p);
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) : 0;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let budgets = [800, 1500, 2500];
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--budgets') budgets = (args[++i] ?? '').split(',').map(Number);
    else if (args[i]) dirs.push(args[i] as string);
  }
  if (!dirs.length) dirs.push('node_modules/eslint/lib', 'node_modules/typescript/lib');
  const files: string[] = [];
  for (const d of dirs) listFiles(d, files);
  files.sort();
  const texts = files.map((f) => ({ path: f, text: fs.readFileSync(f, 'utf8') }));
  const totalChars = texts.reduce((n, t) => n + t.text.length, 0);
  const totalBytes = texts.reduce((n, t) => n + Buffer.byteLength(t.text), 0);
  console.log(`${files.length} files, ${(totalBytes / 1e6).toFixed(1)} MB (${dirs.join(', ')})`);

  for (const budget of budgets) {
    const chunker = new Chunker({ maxChars: budget });
    // Warm-up: load every grammar involved so timings measure chunking only.
    const seen = new Set<string>();
    for (const t of texts) {
      const lang = languageForPath(t.path);
      if (!seen.has(lang)) {
        seen.add(lang);
        await chunker.chunkFile(t.path, 'x');
      }
    }
    const methods: Partial<Record<ChunkMethod, number>> = {};
    const sizes: number[] = [];
    let chunks = 0;
    let split = 0;
    const perFileMs: Array<[number, string]> = [];
    const start = process.hrtime.bigint();
    for (const t of texts) {
      const t0 = process.hrtime.bigint();
      const r = await chunker.chunkFile(t.path, t.text);
      perFileMs.push([Number(process.hrtime.bigint() - t0) / 1e6, t.path]);
      methods[r.method] = (methods[r.method] ?? 0) + 1;
      chunks += r.chunks.length;
      for (const c of r.chunks) {
        sizes.push(c.text.length);
        if (c.header) split++;
      }
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    chunker.dispose();
    sizes.sort((a, b) => a - b);
    perFileMs.sort((a, b) => b[0] - a[0]);
    const mean = sizes.reduce((n, s) => n + s, 0) / (sizes.length || 1);
    console.log(
      [
        `budget ${budget}:`,
        `${(files.length / seconds).toFixed(0)} files/s, ${(totalBytes / 1e6 / seconds).toFixed(2)} MB/s (${seconds.toFixed(2)} s)`,
        `${chunks} chunks, ${(chunks / files.length).toFixed(1)} per file, ${split} with a header`,
        `chunk chars mean ${mean.toFixed(0)} (${((100 * mean) / budget).toFixed(0)}% of budget), p10 ${percentile(sizes, 0.1)}, p50 ${percentile(sizes, 0.5)}, p90 ${percentile(sizes, 0.9)}`,
        `chars covered ${((100 * sizes.reduce((n, s) => n + s, 0)) / totalChars).toFixed(1)}% of input`,
        `methods ${JSON.stringify(methods)}`,
        `slowest ${perFileMs
          .slice(0, 3)
          .map(([ms, p]) => `${path.basename(p)} ${ms.toFixed(0)} ms`)
          .join(', ')}`,
      ].join('\n  '),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
