/**
 * `npm run bench:embed`: throughput of the real local embedding path (transformers.js tokenizer,
 * length-sorted batches, worker threads, onnxruntime-node int8 inference, CLS pooling) on real
 * chunks, with a random-weight model of the default model's exact shape (bge-small-en-v1.5; see
 * scripts/makeBenchModel.mjs — generated into a cache folder, never downloaded or committed).
 *
 *   node scripts/build.mjs && node scripts/runTs.mjs scripts/benchEmbed.ts [options]
 *
 * Corpus: the `npm run bench` corpus (src/cli/bench.ts's buildCorpus: the first 10,000 .js/.ts
 * files of this project's node_modules in path order that are not build output). Every `--every`-th file of it (default 10) is indexed lexically to get
 * its chunks exactly as the index makes them; chunks per file there give the corpus's chunk count.
 * A seeded random choice of those files, `--chunks` chunks in all (default 512), is then embedded the
 * way WorkspaceIndex does (`embeddingText`, calls of `--call` texts, default 32 = the index's
 * embedBatchSize), once per configuration. Configurations run in rounds on the same texts, in a
 * rotated order per round, so load from other jobs spreads over all of them (an A/B in one run).
 *
 * Printed per configuration: chunks/s and ms per chunk (wall clock), CPU-ms per chunk (this process:
 * main thread, workers and ONNX Runtime's threads), real tokens per chunk, padding overhead, and the
 * estimated embedding time of the whole corpus (its chunk count × ms per chunk). A full 10k-file run
 * would take over an hour on two cores; the sample is what is measured, and the estimate says so.
 * Nothing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encode } from 'gpt-tokenizer';
import { seededRandom } from '../src/core/random.mjs';
import { buildCorpus } from '../src/cli/bench';
import { embeddingKey, embeddingText, rootsFromDirs, WorkspaceIndex } from '../src/core/workspaceIndex';
import { LocalEmbedder } from '../src/providers/localEmbedder';
import type { LocalEmbedderOptions } from '../src/providers/localModel';

/** The repository (runTs.mjs runs a bundle from the temp folder, so __dirname is not it; npm runs scripts from the root). */
const ROOT = process.cwd();
// The grammar .wasm files sit next to the built bundles, not next to this temporary bundle.
process.env.GROUNDWORK_WASM_DIR ??= path.join(ROOT, 'dist', 'wasm');
const MODEL_ID = 'groundwork-bench/bge-small-en-v1.5-shape';
/** Keep in step with BENCH_MODEL_VERSION in scripts/makeBenchModel.mjs (a new version regenerates). */
const MODEL_VERSION = 1;

interface Args {
  every: number;
  chunks: number;
  call: number;
  rounds: number;
  configs: string[];
  modelDir: string;
  keep: boolean;
}

/** Named configurations: LocalEmbedderOptions plus the call size the index would use. */
const OLD: LocalEmbedderOptions = { batchSize: 16, maxLengthRatio: Infinity, workers: 1, threads: 0 };
const CONFIGS: Record<string, { label: string; opts: LocalEmbedderOptions; call?: number }> = {
  base: { label: 'before: fixed batches of 16 in length order, ORT default threads, 1 worker', opts: OLD },
  t1: { label: 'before + 1 intra-op thread', opts: { ...OLD, threads: 1 } },
  t2: { label: 'before + 2 intra-op threads (explicit)', opts: { ...OLD, threads: 2 } },
  nospin: { label: 'before + 2 threads, no spinning', opts: { ...OLD, threads: 2, spinning: false } },
  w2: { label: 'before + 2 workers × 1 thread', opts: { ...OLD, threads: 1, workers: 2 } },
  group: { label: 'before + batches of similar length (ratio 1.25)', opts: { ...OLD, maxLengthRatio: 1.25 } },
  b8: { label: 'before + batch 8', opts: { ...OLD, batchSize: 8 } },
  b32: { label: 'before + batch 32', opts: { ...OLD, batchSize: 32 } },
  tok256: { label: 'before + truncate at 256 tokens', opts: { ...OLD, maxTokens: 256 } },
  now: { label: 'new defaults (length groups, 2 workers × 1 thread)', opts: {} },
  nowb8: { label: 'new defaults, batch 8', opts: { batchSize: 8 } },
  nowb32: { label: 'new defaults, batch 32', opts: { batchSize: 32 } },
  nowr15: { label: 'new defaults, length ratio 1.5', opts: { maxLengthRatio: 1.5 } },
  now1w: { label: 'new defaults, 1 worker × 2 threads', opts: { workers: 1, threads: 2 } },
  nowcall256: { label: 'new defaults, calls of 256 texts', opts: {}, call: 256 },
};

function parseArgs(argv: string[]): Args {
  const a: Args = {
    every: 10,
    chunks: 512,
    call: 32,
    rounds: 4,
    configs: ['base', 'now', 'group', 'w2', 't1'],
    modelDir: path.join(os.tmpdir(), `groundwork-bench-model-v${MODEL_VERSION}`),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--every') a.every = Number(v());
    else if (k === '--chunks') a.chunks = Number(v());
    else if (k === '--call') a.call = Number(v());
    else if (k === '--rounds') a.rounds = Number(v());
    else if (k === '--configs') a.configs = v().split(',');
    else if (k === '--model-dir') a.modelDir = path.resolve(v());
    else if (k === '--keep') a.keep = true;
    else throw new Error(`unknown argument ${k}; options: --every N --chunks N --call N --rounds N --configs ${Object.keys(CONFIGS).join(',')} --model-dir DIR --keep`);
  }
  for (const c of a.configs) if (!CONFIGS[c]) throw new Error(`unknown configuration "${c}"; known: ${Object.keys(CONFIGS).join(', ')}`);
  for (const [name, n] of [
    ['--every', a.every],
    ['--chunks', a.chunks],
    ['--call', a.call],
    ['--rounds', a.rounds],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  }
  return a;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  entries.sort((x, y) => (x.name < y.name ? -1 : 1));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** The `npm run bench` corpus (its own buildCorpus), every `every`-th file of it moved to `to`. */
async function sampleCorpus(from: string, full: string, to: string, every: number): Promise<{ corpusFiles: number; sampled: number }> {
  const corpusFiles = await buildCorpus(from, full);
  let n = 0;
  let sampled = 0;
  for await (const file of walk(full)) {
    if (n++ % every !== 0) continue;
    const dest = path.join(to, path.relative(full, file));
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(file, dest);
    sampled++;
  }
  await fsp.rm(full, { recursive: true, force: true });
  return { corpusFiles, sampled };
}

function ensureModel(modelDir: string): void {
  const onnx = path.join(modelDir, ...MODEL_ID.split('/'), 'onnx', 'model_quantized.onnx');
  if (existsSync(onnx)) return;
  console.error(`Generating the bge-small-shaped random-weight model into ${modelDir} …`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'makeBenchModel.mjs'), modelDir, '--prose', path.join(ROOT, 'node_modules')], { stdio: 'inherit' });
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Result {
  /** ms per chunk of each round, for the ratio to the first configuration in the same round. */
  roundMs: number[];
  rssMb: number;
  chunks: number;
  wallMs: number;
  cpuMs: number;
  tokens: number;
  padded: number;
  truncated: number;
  duplicates: number;
  loadMs: number;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const workerScript = path.join(ROOT, 'dist', 'localEmbedderWorker.js');
  if (!existsSync(workerScript)) throw new Error(`${workerScript} is missing: run "node scripts/build.mjs" first (npm run bench:embed does).`);
  ensureModel(args.modelDir);

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-bench-embed-'));
  try {
    // 1. The chunks of a sample of the bench corpus, made by the real index.
    const corpus = path.join(tmp, 'corpus');
    const { corpusFiles, sampled } = await sampleCorpus(path.join(ROOT, 'node_modules'), path.join(tmp, 'full'), corpus, args.every);
    // Chunked by the built CLI (this bundle cannot load web-tree-sitter's CJS build), then read back.
    const indexDir = path.join(tmp, 'index');
    let t = performance.now();
    const out = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'index', '--workspace', corpus, '--index-dir', indexDir, '--embedder', 'none'], {
      env: { ...process.env, GROUNDWORK_OFFLINE: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lexicalMs = performance.now() - t;
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([corpus]), indexDir, write: false });
    const files = index
      .indexedPaths()
      .map((p) => index.getFile(p)!)
      .filter((f) => f.chunks.length > 0);
    await index.close();
    if (files.length === 0) throw new Error(`no file of the sample was indexed: ${out}`);
    const sampleChunks = files.reduce((n, f) => n + f.chunks.length, 0);
    const estChunks = Math.round((sampleChunks * corpusFiles) / sampled);
    const keys = new Set<string>();
    for (const f of files) for (const c of f.chunks) keys.add(embeddingKey(c));

    // 2. Files in a seeded random order until --chunks chunks; texts as the index embeds them.
    const rand = seededRandom(7);
    const shuffled = files
      .map((f) => ({ f, r: rand() }))
      .sort((x, y) => x.r - y.r)
      .map((x) => x.f);
    const texts: string[] = [];
    let filesUsed = 0;
    for (const f of shuffled) {
      if (texts.length >= args.chunks) break;
      filesUsed++;
      for (const c of f.chunks) texts.push(embeddingText(c));
    }
    texts.length = Math.min(texts.length, args.chunks);
    const chars = texts.reduce((n, s) => n + s.length, 0);
    // A real tokenizer's count of the same texts, as a yardstick for the synthetic WordPiece's.
    const o200k = texts.reduce((n, s) => n + encode(s).length, 0);
    const perRound = Math.ceil(texts.length / args.rounds);
    const rounds = Array.from({ length: args.rounds }, (_, r) => texts.slice(r * perRound, (r + 1) * perRound)).filter((x) => x.length);

    console.log(
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average at start ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      `Corpus: ${fmt(corpusFiles)} files (the npm run bench corpus); every ${args.every}th indexed: ${fmt(sampled)} files → ${fmt(files.length)} indexed, ${fmt(sampleChunks)} chunks (${fmt(keys.size)} distinct embedding keys) in ${fmt(lexicalMs / 1000, 1)} s`,
    );
    console.log(`Estimated corpus chunks: ${fmt(estChunks)} (sample chunks × ${corpusFiles}/${sampled})`);
    console.log(
      `Embedded sample: ${fmt(texts.length)} chunks from ${filesUsed} random files, ${fmt(chars / texts.length)} chars/chunk (o200k_base: ${fmt(o200k / texts.length)} tokens/chunk, ${fmt(chars / o200k, 2)} chars/token), ${rounds.length} rounds, calls of ${args.call}`,
    );

    // 3. Each configuration on the same texts, round by round, rotating the order.
    const results = new Map<string, Result>(
      args.configs.map((c) => [c, { roundMs: [], rssMb: 0, chunks: 0, wallMs: 0, cpuMs: 0, tokens: 0, padded: 0, truncated: 0, duplicates: 0, loadMs: 0 }]),
    );
    for (let r = 0; r < rounds.length; r++) {
      const round = rounds[r]!;
      const order = args.configs.map((_, i) => args.configs[(i + r) % args.configs.length]!);
      for (const name of order) {
        const cfg = CONFIGS[name]!;
        const res = results.get(name)!;
        const e = await LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: args.modelDir, workerScript, ...cfg.opts });
        try {
          res.loadMs += e.loadMs;
          await e.embed(round.slice(0, 4)); // warm-up: first runs allocate ORT's arenas
          const s0 = { ...e.stats };
          const call = cfg.call ?? args.call;
          const c0 = cpuMs();
          t = performance.now();
          for (let i = 0; i < round.length; i += call) await e.embed(round.slice(i, i + call));
          const wall = performance.now() - t;
          res.wallMs += wall;
          res.roundMs[r] = wall / round.length;
          res.rssMb = Math.max(res.rssMb, process.memoryUsage().rss / 2 ** 20);
          res.cpuMs += cpuMs() - c0;
          res.chunks += round.length;
          res.tokens += e.stats.tokens - s0.tokens;
          res.padded += e.stats.paddedTokens - s0.paddedTokens;
          res.truncated += e.stats.truncated - s0.truncated;
          res.duplicates += e.stats.duplicatesSkipped - s0.duplicatesSkipped;
        } finally {
          await e.close();
        }
        console.error(`  round ${r + 1}/${rounds.length} ${name}: ${fmt(res.wallMs / res.chunks, 1)} ms/chunk so far`);
      }
    }

    console.log(
      `Load average at end ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    console.log('');
    console.log(
      '| configuration | chunks/s | wall ms/chunk | median per-round ratio | CPU-ms/chunk | tokens/chunk | padding | truncated | repeats skipped | RSS | corpus embedding (est.) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const baseWall = results.get(args.configs[0]!)!;
    for (const name of args.configs) {
      const r = results.get(name)!;
      const msPer = r.wallMs / r.chunks;
      const rel = name === args.configs[0] ? '' : ` (${fmt((100 * msPer) / (baseWall.wallMs / baseWall.chunks) - 100)}%)`;
      const ratios = r.roundMs.map((x, i) => x / baseWall.roundMs[i]!).sort((a, b) => a - b);
      const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
      console.log(
        `| ${name}: ${CONFIGS[name]!.label} | ${fmt(1000 / msPer, 1)} | ${fmt(msPer, 1)}${rel} | ${fmt(median, 2)} | ${fmt(r.cpuMs / r.chunks, 1)} | ${fmt(r.tokens / (r.chunks - r.duplicates), 0)} | ${fmt((100 * r.padded) / r.tokens - 100)}% | ${fmt((100 * r.truncated) / r.chunks, 1)}% | ${r.duplicates} | ${fmt(r.rssMb)} MB | ${fmt((estChunks * msPer) / 60000, 1)} min |`,
      );
    }
    console.log('');
    console.log(
      `Cold hybrid estimate for the 10k-file corpus = cold lexical index + ${fmt(estChunks)} chunks × ms/chunk; the lexical part measured on this sample scales to ~${fmt((lexicalMs * corpusFiles) / sampled / 1000)} s. Embedding dominates.`,
    );
  } finally {
    if (!args.keep) await fsp.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
