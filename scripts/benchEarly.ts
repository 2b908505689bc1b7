/**
 * "Useful early" benchmark (issue 10, item 4): after N minutes of a cold start on the bench corpus
 * (the first 10k .js/.ts files of node_modules, as `npm run bench`), what share of a scripted user's
 * first questions is answered with vectors, embedding in priority order vs in plain (vector-shard)
 * order; then what the throttle costs.
 *
 * Run:   npm run bench:early   (builds, then the line below with --record docs/benchmarks.md)
 *        node scripts/build.mjs --scripts && node out/scripts/benchEarly.js [--chunk-ms 68] [--minutes 1,2,5,10,20,30]
 *             [--corpus DIR] [--throttle-seconds 30] [--record FILE]
 *
 * First, keyword search during a first index: when the scripted user's open files become
 * searchable in discovery order (the cold lexical index) and in priority order (a second cold index
 * with them open, as the extension starts), and how many questions reach an open file then.
 *
 * The real model is far too slow to run here for long (~68 CPU-ms per ~200-token chunk for the
 * default bge-small shape, issue 10). So:
 *  - Part 1 (coverage) runs the real engine (lexical index, priority queue, vector store, retrieval)
 *    with the deterministic TEST embedder, on a **simulated clock**: every embedded chunk advances it
 *    by `--chunk-ms` (default 68) and everything else counts at its measured wall time (the cold
 *    lexical index, opening, the scan, vector writes, searches). Questions are asked and checkpoints
 *    taken on that clock.
 *  - Part 2 (throttle) burns `--chunk-ms` of real CPU per chunk in a worker thread (as the local
 *    model runs in one) and measures chunks/s and search latency on the index thread at CPU shares
 *    1, 0.5 and 0.25, and how many chunks are embedded while the user types.
 *
 * The scripted user (seeded): opens 3 files of one package (5-80 chunks each), and asks 20 questions
 * made from chunks of those files (14) and of other files of the package (6), one every 15 s from the
 * moment keyword search is ready. A question is "answered with vectors" when every one of its top-10
 * results comes from a file that has vectors (vectorCoverage.ts `hybrid`).
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { buildCorpus, CORPUS_MAX_FILES } from '../src/cli/bench';
import { spliceSection } from '../src/cli/recordSection.mjs';
import { seededRandom } from '../src/core/random.mjs';
import { QUESTION_FILES, questionFiles } from '../src/core/embedQueue';
import { search } from '../src/core/retrieval';
import { HashingTestEmbedder } from '../src/core/testEmbedder';
import { vectorCoverage } from '../src/core/vectorCoverage';
import { rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import type { Logger } from '../src/core/types';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const CHUNK_MS = Number(arg('chunk-ms', '68'));
const MINUTES = arg('minutes', '1,2,5,10,20,30').split(',').map(Number);
const THROTTLE_SECONDS = Number(arg('throttle-seconds', '30'));
const RECORD = arg('record', '');
const ASK_EVERY_MS = 15_000;
const QUESTIONS = 20;
const K = 10;

const log: Logger = { info: (m) => process.stderr.write(`${m}\n`), warn: (m) => process.stderr.write(`warning: ${m}\n`), error: (m) => process.stderr.write(`error: ${m}\n`) };

/** Simulated time: a base (the measured lexical phase), real time since the start, plus the simulated embedding cost. */
class Clock {
  private realStart = performance.now();
  simulated = 0;
  constructor(private readonly base: number) {}
  now(): number {
    return this.base + (performance.now() - this.realStart) + this.simulated;
  }
}

/** The TEST embedder with a simulated cost per chunk; runs the scenario's due events after each batch. */
class SimulatedCostEmbedder extends HashingTestEmbedder {
  onBatch?: () => Promise<void>;
  constructor(private readonly clock: Clock) {
    super(384);
  }
  override async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const v = await super.embed(texts, signal);
    this.clock.simulated += CHUNK_MS * texts.length;
    await this.onBatch?.();
    return v;
  }
  override async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return (await super.embed([text], signal))[0]!;
  }
}

interface User {
  pkg: string;
  open: string[];
  questions: string[];
}

function packageOf(p: string): string {
  const parts = p.split('/');
  return parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function scriptedUser(index: WorkspaceIndex): User {
  const rand = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const byPkg = new Map<string, string[]>();
  for (const p of index.indexedPaths()) {
    const k = packageOf(p);
    byPkg.set(k, [...(byPkg.get(k) ?? []), p]);
  }
  const sized = (p: string) => {
    const n = index.getFile(p)!.chunks.length;
    return n >= 5 && n <= 80;
  };
  const pkgs = [...byPkg.entries()]
    .filter(([, files]) => files.length >= 10 && files.length <= 300 && files.filter(sized).length >= 4)
    .map(([k]) => k)
    .sort();
  const pkg = pick(pkgs);
  const files = byPkg.get(pkg)!;
  const candidates = files.filter(sized);
  const open: string[] = [];
  while (open.length < 3) {
    const f = pick(candidates);
    if (!open.includes(f)) open.push(f);
  }
  const others = files.filter((f) => !open.includes(f));
  const questions: string[] = [];
  while (questions.length < QUESTIONS) {
    const file = questions.length % 10 < 7 ? pick(open) : pick(others);
    const chunk = pick(index.getFile(file)!.chunks);
    const words = chunk.text.split(/\s+/).filter((w) => /^[A-Za-z]{3,}$/.test(w));
    if (chunk.symbols.length && rand() < 0.6) {
      const sym = pick(chunk.symbols);
      questions.push(rand() < 0.5 ? `where is ${sym} implemented and how is it used` : `how does ${sym} handle ${words.slice(0, 3).join(' ')}`);
    } else if (words.length >= 4) {
      const start = Math.floor(rand() * Math.max(1, words.length - 6));
      questions.push(`how does ${words.slice(start, start + 6).join(' ')} work`);
    }
  }
  return { pkg, open, questions };
}

/**
 * A first index (fresh folder, keyword search only) with the user's files open, as the extension
 * starts: when the priority files are chunked (the moment the extension answers questions), and how
 * many questions already reach an open file then.
 */
async function firstIndexWithEditors(
  corpus: string,
  dir: string,
  user: User,
): Promise<{ ms: number; totalMs: number; priorityFiles: number; filesDone: number; filesTotal: number; withOpenFile: number }> {
  await fsp.rm(dir, { recursive: true, force: true });
  const t = performance.now();
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir: dir, logger: { ...log, info: () => {} } });
  index.embedQueue.prioritize(user.open, 'open');
  let at: { ms: number; priorityFiles: number; filesDone: number; filesTotal: number } | undefined;
  let hits: Promise<number> | undefined;
  await index.update({
    onProgress: (p) => {
      if (at || p.phase !== 'chunk' || !p.priorityFiles || p.filesDone < p.priorityFiles) return;
      at = { ms: performance.now() - t, priorityFiles: p.priorityFiles, filesDone: p.filesDone, filesTotal: p.filesTotal };
      // Searched now, on the index as it is at this moment (a local search runs to its end before yielding).
      const runs = user.questions.map((q) => search(index, q, { k: K }).then((h) => (h.some((x) => user.open.includes(x.path)) ? 1 : 0)));
      hits = Promise.all(runs).then((r) => r.reduce<number>((a, b) => a + b, 0));
    },
  });
  const totalMs = performance.now() - t;
  const withOpenFile = (await hits) ?? 0;
  await index.close();
  await fsp.rm(dir, { recursive: true, force: true });
  return { ...(at ?? { ms: totalMs, priorityFiles: 0, filesDone: 0, filesTotal: 0 }), totalMs, withOpenFile };
}

interface ModeResult {
  /** Per checkpoint: answered with vectors (of QUESTIONS), mean share of hits with vectors, chunks with vectors. */
  checkpoints: Array<{ minutes: number; withVectors: number; hitShare: number; vectors: number }>;
  /** At the moment each question was first asked. */
  askedWithVectors: number;
  askedTimes: number[];
  /** Simulated minutes until all questions were answered with vectors (checked at each batch), if reached. */
  allCoveredAt?: number;
}

async function runMode(lexDir: string, modeDir: string, lexMs: number, user: User, priority: boolean): Promise<ModeResult> {
  await fsp.rm(modeDir, { recursive: true, force: true });
  await fsp.cp(lexDir, modeDir, { recursive: true });
  const clock = new Clock(lexMs);
  const embedder = new SimulatedCostEmbedder(clock);
  const corpusRoot = JSON.parse(await fsp.readFile(path.join(lexDir, 'manifest.json'), 'utf8')).roots[0] as string;
  const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpusRoot]), indexDir: modeDir, embedder, logger: { ...log, info: () => {}, warn: () => {} } });
  if (priority) index.embedQueue.prioritize(user.open, 'open');
  const result: ModeResult = { checkpoints: [], askedWithVectors: 0, askedTimes: [] };
  let asked = 0;
  let cp = 0;
  let lastCoverCheck = Number.NEGATIVE_INFINITY;
  const controller = new AbortController();
  const allCovered = async () => {
    for (const q of user.questions) if (vectorCoverage(index, await search(index, q, { k: K })).mode !== 'hybrid') return false;
    return true;
  };
  /** Runs the events due by now; `final` (the corpus is fully embedded): every remaining one, on the final state. */
  const due = async (final = false) => {
    const now = final ? Number.POSITIVE_INFINITY : clock.now();
    while (asked < QUESTIONS && lexMs + asked * ASK_EVERY_MS <= now) {
      const hits = await search(index, user.questions[asked]!, { k: K });
      if (vectorCoverage(index, hits).mode === 'hybrid') result.askedWithVectors++;
      result.askedTimes.push((final ? lexMs + asked * ASK_EVERY_MS : clock.now()) / 60_000);
      // What the index worker does for a question (indexWorker.ts): its files jump the queue.
      if (priority && index.vectorState() === 'partial') {
        const candidates = await search(index, user.questions[asked]!, { k: QUESTION_FILES, mode: 'lexical' });
        index.embedQueue.prioritize(questionFiles(hits, candidates), 'retrieved');
      }
      asked++;
    }
    while (cp < MINUTES.length && MINUTES[cp]! * 60_000 <= now) {
      let withVectors = 0;
      let share = 0;
      for (const q of user.questions) {
        const c = vectorCoverage(index, await search(index, q, { k: K }));
        if (c.mode === 'hybrid') withVectors++;
        share += c.hits ? (c.mode === 'keyword' ? 0 : c.withVectors / c.hits) : 0;
      }
      result.checkpoints.push({ minutes: MINUTES[cp]!, withVectors, hitShare: share / QUESTIONS, vectors: index.vectors?.count ?? 0 });
      log.info(`  ${priority ? 'priority' : 'plain'} @ ${MINUTES[cp]} min: ${withVectors}/${QUESTIONS} answered with vectors, ${index.vectors?.count ?? 0} vectors`);
      cp++;
    }
    // Checked every 15 simulated seconds (20 searches each time).
    if (asked >= QUESTIONS && result.allCoveredAt === undefined && now - lastCoverCheck >= 15_000) {
      lastCoverCheck = now;
      if (await allCovered()) result.allCoveredAt = (final ? clock.now() : now) / 60_000;
    }
    const last = MINUTES[MINUTES.length - 1]! * 60_000;
    if (cp >= MINUTES.length && (result.allCoveredAt !== undefined || !priority || now > 2 * last)) controller.abort();
  };
  embedder.onBatch = due;
  await due();
  try {
    await index.update({ signal: controller.signal });
    await due(true);
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  await index.close();
  await fsp.rm(modeDir, { recursive: true, force: true });
  return result;
}

/** A worker thread that burns `ms` of CPU per request, standing in for the model's compute. */
function cpuBurner(): { burn: (ms: number) => Promise<void>; close: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', ({ id, ms }) => { const end = performance.now() + ms; let x = 0; while (performance.now() < end) x++; parentPort.postMessage(id); });`,
    { eval: true },
  );
  let next = 0;
  const waiting = new Map<number, () => void>();
  worker.on('message', (id: number) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  return {
    burn: (ms) =>
      new Promise<void>((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.postMessage({ id, ms });
      }),
    close: () => worker.terminate(),
  };
}

class BurningEmbedder extends HashingTestEmbedder {
  constructor(private readonly burner: ReturnType<typeof cpuBurner>) {
    super(384);
  }
  override async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    await this.burner.burn(CHUNK_MS * texts.length);
    return super.embed(texts, signal);
  }
  override async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return (await super.embed([text], signal))[0]!;
  }
}

interface ThrottleRow {
  label: string;
  chunksPerSec: number;
  queryP50: number;
  queryP95: number;
  loopP99: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/** Embeds with real CPU burned per chunk for `seconds` while asking the user's questions in a loop. */
async function runThrottle(
  lexDir: string,
  dir: string,
  user: User,
  label: string,
  setup: (index: WorkspaceIndex) => (() => void) | void,
  seconds: number,
  embed = true,
): Promise<ThrottleRow> {
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.cp(lexDir, dir, { recursive: true });
  const burner = cpuBurner();
  const corpusRoot = JSON.parse(await fsp.readFile(path.join(lexDir, 'manifest.json'), 'utf8')).roots[0] as string;
  const index = await WorkspaceIndex.open({
    roots: rootsFromDirs([corpusRoot]),
    indexDir: dir,
    embedder: embed ? new BurningEmbedder(burner) : undefined,
    logger: { ...log, info: () => {}, warn: () => {} },
  });
  const controller = new AbortController();
  let embedStart = 0;
  let embedded = 0;
  /** Batch boundaries (time, chunks done) once the setting is applied. */
  const marks: Array<[number, number]> = [];
  let measuring = false;
  const running = embed
    ? index
        .update({
          signal: controller.signal,
          onProgress: (p) => {
            if (p.phase !== 'embed') return;
            if (!embedStart && p.embedDone === 0) embedStart = performance.now();
            if (measuring && p.embedDone !== embedded) marks.push([performance.now(), p.embedDone]);
            embedded = p.embedDone;
          },
        })
        .catch((err: unknown) => {
          if (!controller.signal.aborted) throw err;
        })
    : Promise.resolve();
  // Wait for the embedding phase to begin (the scan of the unchanged corpus comes first).
  while (embed && !embedStart) await new Promise((r) => setTimeout(r, 50));
  const stop = setup(index);
  measuring = true;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
    const t = performance.now();
    await search(index, user.questions[i % QUESTIONS]!, { k: K, mode: 'lexical' });
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 200));
  }
  loop.disable();
  // Between the first and the last batch that ended in the window (the batch in flight when the
  // setting was applied is not counted); one batch or none: the pause held.
  const first = marks[0];
  const last = marks[marks.length - 1];
  const rate = first && last && last[0] > first[0] ? ((last[1] - first[1]) * 1000) / (last[0] - first[0]) : 0;
  stop?.();
  controller.abort();
  await running;
  await index.close();
  await burner.close();
  await fsp.rm(dir, { recursive: true, force: true });
  return { label, chunksPerSec: rate, queryP50: percentile(times, 50), queryP95: percentile(times, 95), loopP99: loop.percentile(99) / 1e6 };
}

async function main(): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-early-'));
  try {
    let corpus = arg('corpus', '');
    let corpusLabel = corpus;
    if (!corpus) {
      corpus = path.join(tmp, 'corpus');
      const n = await buildCorpus(path.resolve('node_modules'), corpus);
      corpusLabel = `${n} .js/.ts files from this project's node_modules (the first ${CORPUS_MAX_FILES} in path order, as \`npm run bench\`)`;
    }
    // Cold lexical index, measured: keyword search is ready when it ends.
    const lexDir = path.join(tmp, 'index-lexical');
    const t = performance.now();
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([path.resolve(corpus)]), indexDir: lexDir, logger: { ...log, info: () => {} } });
    // When each file became searchable (the progress event after it was chunked), in discovery order.
    const doneAt = new Map<string, number>();
    const summary = await index.update({
      onProgress: (p) => {
        if (p.phase === 'chunk' && p.currentPath && !doneAt.has(p.currentPath)) doneAt.set(p.currentPath, performance.now() - t);
      },
    });
    const lexMs = performance.now() - t;
    const user = scriptedUser(index);
    await index.close();
    log.info(`lexical index: ${summary.filesIndexed} files, ${summary.chunks} chunks, ${(lexMs / 1000).toFixed(1)} s; user: package ${user.pkg}, open ${user.open.join(', ')}`);
    const plainOpenMs = Math.max(...user.open.map((f) => doneAt.get(f) ?? lexMs));
    const early = await firstIndexWithEditors(path.resolve(corpus), path.join(tmp, 'index-early'), user);
    log.info(`first index with the user's files open: searchable after ${(early.ms / 1000).toFixed(1)} s (discovery order: ${(plainOpenMs / 1000).toFixed(1)} s)`);

    const plain = await runMode(lexDir, path.join(tmp, 'plain'), lexMs, user, false);
    const prio = await runMode(lexDir, path.join(tmp, 'priority'), lexMs, user, true);

    const throttle: ThrottleRow[] = [];
    if (THROTTLE_SECONDS > 0) {
      throttle.push(await runThrottle(lexDir, path.join(tmp, 'th'), user, 'no embedding (keyword search alone)', () => {}, THROTTLE_SECONDS / 2, false));
      for (const share of [1, 0.5, 0.25]) {
        throttle.push(
          await runThrottle(lexDir, path.join(tmp, 'th'), user, `embedding, cpuShare ${share}`, (i) => i.embedQueue.setThrottle({ cpuShare: share }), THROTTLE_SECONDS),
        );
        log.info(`  throttle ${share}: ${throttle[throttle.length - 1]!.chunksPerSec.toFixed(1)} chunks/s`);
      }
      // The user types all the time (a keystroke every 200 ms): embedding pauses after its batch in flight.
      throttle.push(
        await runThrottle(
          lexDir,
          path.join(tmp, 'th'),
          user,
          'embedding while the user types (a key every 200 ms, quietMs 1500)',
          (i) => {
            const timer = setInterval(() => i.embedQueue.noteActivity(), 200);
            i.embedQueue.noteActivity();
            return () => clearInterval(timer);
          },
          THROTTLE_SECONDS,
        ),
      );
    }

    const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const pct = (n: number) => `${Math.round((100 * n) / QUESTIONS)}%`;
    const lines = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, while other jobs ran. Corpus: ${corpusLabel}: ${summary.filesIndexed} files indexed (skipped: ${Object.entries(
        summary.skipped,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}), ${summary.chunks} chunks; cold lexical index ${(lexMs / 1000).toFixed(1)} s (keyword search ready).`,
      `Embedding cost simulated at ${CHUNK_MS} ms per chunk (the measured CPU cost of the default model's shape, issue 10; ${(1000 / CHUNK_MS).toFixed(1)} chunks/s, ~${Math.round((summary.chunks * CHUNK_MS) / 60_000)} min for the whole corpus), TEST embedder vectors, everything else real.`,
      `Scripted user: package \`${user.pkg}\`, 3 open files, ${QUESTIONS} questions (14 about the open files, 6 about other files of the package), one every ${ASK_EVERY_MS / 1000} s from the moment keyword search is ready. "With vectors": all top-${K} results come from files that have vectors.`,
      '',
      `Keyword search during a first index (no vectors yet): the keyword phase chunks files in the same priority order. In discovery order the user's 3 open files were searchable after ${(plainOpenMs / 1000).toFixed(1)} s of the ${(lexMs / 1000).toFixed(1)} s; in priority order (the extension: open files, then the rest of their folders, ${early.priorityFiles} files, first) after **${(early.ms / 1000).toFixed(1)} s** of ${(early.totalMs / 1000).toFixed(1)} s, when ${early.withOpenFile} of the ${QUESTIONS} questions already had an open file among their top ${K} (${early.filesDone} of ${early.filesTotal} files indexed). The extension answers from that moment, saying how much is indexed.`,
      '',
      '| minutes after a cold start | vectors (plain / priority) | questions answered with vectors, plain order | priority order | share of results with vectors, plain / priority |',
      '| --- | --- | --- | --- | --- |',
      ...MINUTES.map((m, i) => {
        const a = plain.checkpoints[i];
        const b = prio.checkpoints[i];
        return `| ${m} | ${a?.vectors ?? '–'} / ${b?.vectors ?? '–'} | ${a ? pct(a.withVectors) : '–'} | ${b ? pct(b.withVectors) : '–'} | ${a ? Math.round(a.hitShare * 100) : '–'}% / ${b ? Math.round(b.hitShare * 100) : '–'}% |`;
      }),
      '',
      `Answered with vectors at the moment each was first asked (${(plain.askedTimes[0] ?? 0).toFixed(1)}–${(plain.askedTimes[QUESTIONS - 1] ?? 0).toFixed(1)} min): plain ${pct(plain.askedWithVectors)}, priority ${pct(prio.askedWithVectors)}. All ${QUESTIONS} answered with vectors from minute ${prio.allCoveredAt?.toFixed(1) ?? '(not reached)'} in priority order${plain.allCoveredAt !== undefined ? `, ${plain.allCoveredAt.toFixed(1)} in plain order` : ''}.`,
    ];
    if (throttle.length) {
      lines.push(
        '',
        `Throttle (${CHUNK_MS} ms of real CPU per chunk burned in a worker thread, as the local model runs in one; ${THROTTLE_SECONDS} s per row; keyword searches of the user's questions every 200 ms on the index thread):`,
        '',
        '| setting | chunks/s | search p50 / p95 | event-loop delay p99 |',
        '| --- | --- | --- | --- |',
        ...throttle.map((r) => `| ${r.label} | ${r.chunksPerSec.toFixed(1)} | ${r.queryP50.toFixed(1)} / ${r.queryP95.toFixed(1)} ms | ${r.loopP99.toFixed(1)} ms |`),
      );
    }
    const table = lines.join('\n');
    process.stdout.write(`${table}\n`);
    if (RECORD) {
      const file = path.resolve(RECORD);
      const current = await fsp.readFile(file, 'utf8').catch(() => '');
      await fsp.writeFile(file, spliceSection(current, 'early', table, { append: 'newline' })!);
      log.info(`Recorded in ${file}`);
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
