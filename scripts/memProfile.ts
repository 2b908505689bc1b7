/**
 * Where the peak memory of a cold lexical index sits: indexes a workspace into a fresh folder while
 * sampling `process.memoryUsage()` and V8's heap spaces every `--every` ms, and prints the sample at
 * the peak RSS (with the indexing phase it fell in) and the largest RSS of each phase.
 *
 *   node scripts/build.mjs --scripts
 *   node --expose-gc out/scripts/memProfile.js --workspace DIR --index-dir NEW_DIR [--every 50] [--snapshot FILE.heapsnapshot --at-mb 500]
 *
 * `--snapshot FILE --at-mb N` also writes one V8 heap snapshot the first time the JS heap (used)
 * passes N MB (the process stops for it, and the snapshot roughly doubles the heap for a moment; open
 * it in Chrome DevTools → Memory). The index folder must not exist (a cold index is measured).
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';

interface Sample {
  t: number;
  phase: string;
  filesDone: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

const mb = (b: number) => Math.round(b / 2 ** 20);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workspace: { type: 'string' },
      'index-dir': { type: 'string' },
      every: { type: 'string', default: '50' },
      snapshot: { type: 'string' },
      'at-mb': { type: 'string' },
    },
  });
  if (!values.workspace || !values['index-dir']) throw new Error('--workspace DIR and --index-dir NEW_DIR are required');
  if (fs.existsSync(values['index-dir'])) throw new Error(`${values['index-dir']} exists: give a new folder (a cold index is measured)`);
  let phase = 'open';
  let filesDone = 0;
  const samples: Sample[] = [];
  const t0 = performance.now();
  let snapshotTaken = !values.snapshot;
  const sample = (): void => {
    const m = process.memoryUsage();
    const spaces: Record<string, number> = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = mb(s.space_used_size);
    samples.push({
      t: Math.round(performance.now() - t0),
      phase,
      filesDone,
      rss: mb(m.rss),
      heapUsed: mb(m.heapUsed),
      heapTotal: mb(m.heapTotal),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      spaces,
    });
    if (!snapshotTaken && mb(m.heapUsed) >= Number(values['at-mb'] ?? Infinity)) {
      snapshotTaken = true;
      console.error(`writing a heap snapshot at ${mb(m.heapUsed)} MB used (phase ${phase})…`);
      v8.writeHeapSnapshot(values.snapshot);
    }
  };
  const timer = setInterval(sample, Number(values.every));
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([values.workspace]), indexDir: values['index-dir'] });
  const summary = await index.update({
    onProgress: (p) => {
      phase = p.phase;
      filesDone = p.filesDone;
    },
  });
  phase = 'close';
  await index.close();
  sample();
  clearInterval(timer);
  const peak = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
  console.log(
    `${summary.filesIndexed} files, ${summary.chunks} chunks in ${((performance.now() - t0) / 1000).toFixed(1)} s; peak RSS (maxRSS) ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
  );
  console.log(`sampled peak: ${JSON.stringify(peak)}`);
  const byPhase = new Map<string, Sample>();
  for (const s of samples) if (!byPhase.has(s.phase) || byPhase.get(s.phase)!.rss < s.rss) byPhase.set(s.phase, s);
  for (const [p, s] of byPhase)
    console.log(
      `  phase ${p.padEnd(8)} max RSS ${s.rss} MB at ${s.t} ms: heap used ${s.heapUsed} / total ${s.heapTotal} MB, external ${s.external} MB (array buffers ${s.arrayBuffers} MB), old space ${s.spaces.old_space ?? 0} MB, large objects ${s.spaces.large_object_space ?? 0} MB`,
    );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
