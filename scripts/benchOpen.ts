/**
 * Times what `groundwork search --no-update` pays before its first answer, in one fresh process:
 * `WorkspaceIndex.open` (read-only, as the CLI opens it) and the first search, then a second one.
 *   node scripts/runTs.mjs scripts/benchOpen.ts --workspace DIR --index-dir DIR [--vectors] [--query TEXT]
 * With --vectors the index is opened with the 384-d hashing test embedder (as `groundwork bench`
 * builds its hybrid index). Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { search } from '../src/core/retrieval';
import { HashingTestEmbedder } from '../src/core/testEmbedder';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { workspace: { type: 'string' }, 'index-dir': { type: 'string' }, vectors: { type: 'boolean' }, query: { type: 'string' } } });
  if (!values.workspace || !values['index-dir']) throw new Error('usage: benchOpen.ts --workspace DIR --index-dir DIR [--vectors]');
  const t0 = performance.now();
  const index = await WorkspaceIndex.open({
    roots: rootsFromDirs([values.workspace]),
    indexDir: values['index-dir'],
    embedder: values.vectors ? new HashingTestEmbedder(384) : undefined,
    write: false,
  });
  const opened = performance.now();
  const q = values.query ?? 'where is the configuration file parsed';
  const hits = await search(index, q, { k: 10 });
  const first = performance.now();
  await search(index, 'how are errors reported to the user', { k: 10 });
  const second = performance.now();
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(
    `${JSON.stringify({ files: index.fileCount, chunks: index.chunkCount, vectors: index.vectors?.count ?? 0, openMs: Math.round(opened - t0), firstQueryMs: Math.round(first - opened), secondQueryMs: Math.round(second - first), hits: hits.length, rssMb: rss, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
  await index.close();
}

main().catch((err) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
