/**
 * Lexical indexing at scale: the `npm run bench` corpus (the first 10,000 indexable .js/.ts files of
 * this project's node_modules) copied 1, 3 and 10 times into one tree (`copy-0/`, `copy-1/`…), each
 * size cold-indexed lexically in a fresh process, then re-opened read-only (as `search --no-update`
 * does) in another fresh process that runs the benchmark's 220 queries.
 *
 *   node scripts/build.mjs --scripts && node out/scripts/benchScale.js [--copies 1,3,10] [--work DIR] [--record docs/benchmarks.md]
 *
 * Prints cold time, time per file relative to the smallest size, peak RSS of the indexing process,
 * open time, RSS after open and query p50/p95. `--work DIR` keeps the corpora (and indexes) there so a
 * re-run skips the copying; by default everything goes to a temporary folder that is removed.
 * Repeated copies are real files with repeated content: chunk ids differ (they hold the path), texts
 * and content hashes repeat, which a lexical index does not deduplicate.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCorpus, makeQueries, measureQueries } from '../src/cli/bench';
import { spliceSection } from '../src/cli/recordSection.mjs';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function childIndex(workspace: string, indexDir: string): Promise<void> {
  const t = performance.now();
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([workspace]), indexDir });
  const s = await index.update();
  await index.close();
  const ms = performance.now() - t;
  process.stdout.write(`${JSON.stringify({ files: s.filesIndexed, chunks: s.chunks, ms, peakRssMb: peakRssMb(), skipped: s.skipped })}\n`);
}

async function childOpen(workspace: string, indexDir: string): Promise<void> {
  const t = performance.now();
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([workspace]), indexDir, write: false });
  const openMs = performance.now() - t;
  const rssOpenMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const queries = makeQueries(index);
  const lat = await measureQueries(index, queries, 'lexical');
  await index.close();
  process.stdout.write(`${JSON.stringify({ openMs, rssOpenMb, ...lat, peakRssMb: peakRssMb() })}\n`);
}

function runChild(mode: string, workspace: string, indexDir: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--enable-source-maps', process.argv[1]!, '--child', mode, '--workspace', workspace, '--index-dir', indexDir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`benchScale: the ${mode} process failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      workspace: { type: 'string' },
      'index-dir': { type: 'string' },
      copies: { type: 'string' },
      work: { type: 'string' },
      record: { type: 'string' },
    },
  });
  if (values.child === 'index') return childIndex(values.workspace!, values['index-dir']!);
  if (values.child === 'open') return childOpen(values.workspace!, values['index-dir']!);
  const sizes = (values.copies ?? '1,3,10').split(',').map((x) => Number.parseInt(x, 10));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--copies takes a comma-separated list of positive integers, e.g. 1,3,10');
  const keep = Boolean(values.work);
  const work = values.work ? path.resolve(values.work) : await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-scale-'));
  // Run from the project root.
  const from = path.resolve('node_modules');
  const rows: string[] = [];
  let basePerFile = 0;
  try {
    for (const copies of sizes) {
      const corpus = path.join(work, `corpus-x${copies}`);
      const indexDir = path.join(work, `index-x${copies}`);
      if (!(await fsp.stat(corpus).catch(() => undefined))) {
        process.stderr.write(`copying the corpus ×${copies} into ${corpus}…\n`);
        await buildCorpus(from, corpus, { copies });
      }
      await fsp.rm(indexDir, { recursive: true, force: true });
      process.stderr.write(`cold lexical index ×${copies}…\n`);
      const ix = runChild('index', corpus, indexDir);
      if (!ix.files) throw new Error(`benchScale: nothing was indexed in ${corpus} (are the grammars in out/wasm? run node scripts/build.mjs --scripts)`);
      const perFile = ix.ms! / ix.files;
      if (!basePerFile) basePerFile = perFile;
      process.stderr.write(`  ${ix.files} files, ${ix.chunks} chunks, ${(ix.ms! / 1000).toFixed(1)} s, peak RSS ${ix.peakRssMb} MB\n`);
      const op = runChild('open', corpus, indexDir);
      process.stderr.write(`  open ${op.openMs!.toFixed(0)} ms, query p95 ${op.p95!.toFixed(1)} ms\n`);
      const size = await dirSize(indexDir);
      rows.push(
        `| ×${copies} | ${ix.files} | ${ix.chunks} | ${(ix.ms! / 1000).toFixed(1)} s | ${perFile.toFixed(2)} ms (${(perFile / basePerFile).toFixed(2)}×) | ${ix.peakRssMb} MB | ${(size / 2 ** 20).toFixed(0)} MB | ${op.openMs!.toFixed(0)} ms | ${op.rssOpenMb} MB | ${op.p50!.toFixed(1)} / ${op.p95!.toFixed(1)} ms |`,
      );
      if (!keep) await fsp.rm(indexDir, { recursive: true, force: true });
    }
  } finally {
    if (!keep) await fsp.rm(work, { recursive: true, force: true });
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} at the end`;
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
    '',
    '| tree | files indexed | chunks | cold index | per file (vs ×1) | peak RSS (index) | on disk | open (read-only) | RSS after open | query p50 / p95 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  if (values.record) {
    const file = path.resolve(values.record);
    const current = await fsp.readFile(file, 'utf8').catch(() => '');
    await fsp.writeFile(file, spliceSection(current, 'scale', table, { append: 'newline' })!);
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await dirSize(p) : (await fsp.stat(p)).size;
  }
  return total;
}

main().catch((err) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
