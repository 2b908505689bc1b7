/**
 * Times what `groundwork search --no-update` pays before its first answer, in one fresh process:
 * `WorkspaceIndex.open` (read-only, as the CLI opens it) and the first search, then a second one.
 *   node scripts/build.mjs --scripts && node out/scripts/benchOpen.js --workspace DIR --index-dir DIR [--vectors] [--query TEXT] [--dump FILE]
 * `--build` first makes the index to open: the `groundwork bench` corpus (the first 10,000 indexable
 * files of this project's node_modules, `buildCorpus`) copied into --workspace when that folder is
 * empty or missing, then indexed into --index-dir (with --vectors: 384-d test vectors, as
 * `groundwork bench` builds its hybrid index), in this process, before the timed open in a fresh one.
 * With --vectors the index is opened with the 384-d hashing test embedder (as `groundwork bench`
 * builds its hybrid index). `--write` opens it as the writer instead (lock, embedding cache), as the
 * extension's index worker does: searchable from a read-only view while it loads in memory
 * (`serveWhileLoading`); `--full-load` (with --write) loads first, as `groundwork index` and the
 * worker before issue 10 did. A writer open also prints, on a second JSON line, when the load ended
 * (`loadedMs`, from the start of the open; RSS then), the bench queries answered on the view
 * during the load (latency p50/max, and `mismatches`: how many of them ranked differently once
 * loaded, which must be 0), the longest the event loop was blocked meanwhile; with `--edit` instead
 * of those queries, the change→searchable time of a file written right after the open (`updateFiles`
 * waits for the load), which is then removed again. Prints one JSON line (`rssOpenMb`/`peakOpenMb`: RSS and peak RSS right
 * after the open; `rssMb`/`peakRssMb`: after the two queries); `openCpuMs` is the CPU time of the open (user +
 * system, all threads), which a machine shared with other jobs inflates far less than the wall time. `--dump FILE` also runs the `groundwork bench` queries
 * and writes every hit (path, lines, score) to FILE, one JSON line per query, so two builds can be
 * checked to rank identically; a second JSON line gives those queries' latency (p50/p95, ms).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildCorpus, makeQueries } from '../src/cli/bench';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { search } from '../src/core/retrieval';
import { HashingTestEmbedder } from '../src/core/testEmbedder';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workspace: { type: 'string' },
      'index-dir': { type: 'string' },
      vectors: { type: 'boolean' },
      query: { type: 'string' },
      dump: { type: 'string' },
      build: { type: 'boolean' },
      write: { type: 'boolean' },
      'full-load': { type: 'boolean' },
      edit: { type: 'boolean' },
    },
  });
  if (!values.workspace || !values['index-dir']) throw new Error('usage: benchOpen.ts --workspace DIR --index-dir DIR [--vectors] [--build] [--dump FILE]');
  if (values.build) {
    await build(values.workspace, values['index-dir'], Boolean(values.vectors));
    // The timed open runs in a fresh process, like `groundwork search --no-update`.
    const args = process.argv.slice(2).filter((a) => a !== '--build');
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const index = await WorkspaceIndex.open({
    roots: rootsFromDirs([values.workspace]),
    indexDir: values['index-dir'],
    embedder: values.vectors ? new HashingTestEmbedder(384) : undefined,
    write: Boolean(values.write),
    serveWhileLoading: Boolean(values.write) && !values['full-load'],
  });
  const opened = performance.now();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  let loadedAt = 0;
  let rssLoaded = 0;
  const loaded = index.whenLoaded().then(() => {
    loadedAt = performance.now();
    rssLoaded = Math.round(process.memoryUsage().rss / 2 ** 20);
    lag.disable();
  });
  // An edit made during the load: a new file with a word nothing else has, then updateFiles (as the watcher would).
  const editFile = path.join(values.workspace, `gw-bench-edit-${process.pid}.ts`);
  let edited: Promise<number> | undefined;
  if (values.edit) {
    const t = performance.now();
    await fsp.writeFile(editFile, 'export function zyxwvutBenchMarker(): number {\n  return 42;\n}\n');
    edited = index.updateFiles([editFile]).then(async () => {
      const found = await search(index, 'zyxwvutBenchMarker', { k: 1 });
      if (found[0]?.path !== path.basename(editFile)) throw new Error('benchOpen: the edit is not searchable after updateFiles');
      return performance.now() - t;
    });
  }
  const openCpu = process.cpuUsage(c0);
  const rssOpen = Math.round(process.memoryUsage().rss / 2 ** 20);
  const peakOpen = Math.round(process.resourceUsage().maxRSS / 1024);
  const q = values.query ?? 'where is the configuration file parsed';
  const hits = await search(index, q, { k: 10 });
  const first = performance.now();
  await search(index, 'how are errors reported to the user', { k: 10 });
  const second = performance.now();
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  process.stdout.write(
    `${JSON.stringify({ files: index.fileCount, chunks: index.chunkCount, vectors: index.vectors?.count ?? 0, openMs: Math.round(opened - t0), openCpuMs: Math.round((openCpu.user + openCpu.system) / 1000), firstQueryMs: Math.round(first - opened), secondQueryMs: Math.round(second - first), hits: hits.length, rssOpenMb: rssOpen, peakOpenMb: peakOpen, rssMb: rss, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
  if (values.write) {
    // The bench queries on the view while the load runs, one every 50 ms (as a user's requests would
    // arrive), latency counted from when each was due, so time spent waiting for a step of the load is
    // in it; each is compared with the same query once loaded.
    const queries = makeQueries(index);
    const during: Array<{ q: string; hits: string; ms: number }> = [];
    // With --edit nothing else runs: the edit changes the statistics every ranking depends on.
    for (let i = 0; !values.edit && index.isLoading; i = (i + 1) % queries.length) {
      const due = performance.now() + 50;
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (!index.isLoading) break;
      const found = await search(index, queries[i]!, { k: 10 });
      during.push({ q: queries[i]!, hits: JSON.stringify(found.map((h) => [h.path, h.startLine, h.endLine, h.score])), ms: performance.now() - due });
    }
    await loaded;
    let mismatches = 0;
    for (const d of during) if (JSON.stringify((await search(index, d.q, { k: 10 })).map((h) => [h.path, h.startLine, h.endLine, h.score])) !== d.hits) mismatches++;
    const times = during.map((d) => d.ms).sort((a, b) => a - b);
    const changeToSearchableMs = edited ? Math.round(await edited) : undefined;
    if (values.edit) {
      await fsp.rm(editFile, { force: true });
      await index.updateFiles([editFile]);
    }
    process.stdout.write(
      `${JSON.stringify({
        loadedMs: Math.round(loadedAt - t0),
        rssLoadedMb: rssLoaded,
        peakLoadMb: Math.round(process.resourceUsage().maxRSS / 1024),
        searchesDuringLoad: times.length,
        duringLoadP50Ms: times.length ? Math.round(times[Math.floor(times.length / 2)]!) : undefined,
        duringLoadMaxMs: times.length ? Math.round(times[times.length - 1]!) : undefined,
        mismatches,
        maxLoopBlockMs: lag.count ? Math.round(lag.max / 1e6) : 0,
        changeToSearchableMs,
      })}\n`,
    );
  }
  if (values.dump) {
    const lines: string[] = [];
    const times: number[] = [];
    for (const query of makeQueries(index)) {
      const t = performance.now();
      const found = await search(index, query, { k: 10 });
      times.push(performance.now() - t);
      lines.push(JSON.stringify(found.map((h) => [h.path, h.startLine, h.endLine, h.score, h.retrievers])));
    }
    await fsp.writeFile(values.dump, `${lines.join('\n')}\n`);
    times.sort((a, b) => a - b);
    // With --expose-gc, the heap after a full collection (what the caches hold, without garbage).
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const at = (p: number): string => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    process.stdout.write(
      `${JSON.stringify({ dumpedQueries: times.length, queryP50Ms: Number(at(0.5)), queryP95Ms: Number(at(0.95)), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20), arrayBuffersMb: Math.round(process.memoryUsage().arrayBuffers / 2 ** 20), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
    );
  }
  await index.close();
}

/** Copies the bench corpus into `workspace` (unless it already has files) and indexes it into `indexDir`. */
async function build(workspace: string, indexDir: string, vectors: boolean): Promise<void> {
  const existing = await fsp.readdir(workspace).catch(() => []);
  if (existing.length === 0) {
    const n = await buildCorpus(path.resolve(process.cwd(), 'node_modules'), workspace);
    process.stderr.write(`corpus: ${n} files copied into ${workspace}\n`);
  }
  const t0 = performance.now();
  const index = await WorkspaceIndex.open({
    roots: rootsFromDirs([workspace]),
    indexDir,
    embedder: vectors ? new HashingTestEmbedder(384) : undefined,
    options: { embedBatchSize: 256 },
  });
  const summary = await index.update();
  await index.close();
  process.stderr.write(
    `indexed ${summary.filesIndexed} files, ${summary.chunks} chunks${vectors ? ' with 384-d test vectors' : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
