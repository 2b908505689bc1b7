/**
 * Measures characters per token of real chunks with a real tokenizer (gpt-tokenizer, o200k_base,
 * the encoding of current OpenAI models), to check the tokenizer-free estimate in src/core/prompt.ts.
 *   node scripts/build.mjs --scripts && node out/scripts/tokenEstimate.js [workspace...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
// The package's main entry is the o200k_base encoding.
import { encode } from 'gpt-tokenizer';
import { CHARS_PER_TOKEN, estimateTokens } from '../src/core/prompt';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

async function main(): Promise<void> {
  const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['node_modules/eslint', 'node_modules/mocha'];
  for (const ws of dirs) {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-tok-'));
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([path.resolve(ws)]), indexDir: dir });
    await index.update();
    let chars = 0;
    let tokens = 0;
    let under = 0;
    const ratios: number[] = [];
    let n = 0;
    for (const p of index.indexedPaths()) {
      for (const c of index.getFile(p)!.chunks) {
        const t = encode(c.text).length;
        chars += c.text.length;
        tokens += t;
        ratios.push(c.text.length / Math.max(1, t));
        if (estimateTokens(c.text) < t) under++;
        n++;
      }
    }
    ratios.sort((a, b) => a - b);
    const pick = (q: number) => ratios[Math.floor(q * (ratios.length - 1))]!.toFixed(2);
    console.log(
      `${ws}: ${n} chunks, ${(chars / tokens).toFixed(2)} chars/token overall (p10 ${pick(0.1)}, median ${pick(0.5)}, p90 ${pick(0.9)}); ` +
        `estimate at ${CHARS_PER_TOKEN} chars/token under-counts ${((100 * under) / n).toFixed(1)}% of chunks, total estimate ${(chars / CHARS_PER_TOKEN / tokens).toFixed(2)}× real`,
    );
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
