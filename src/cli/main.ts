/**
 * `groundwork` — the command-line front end on the same engine as the extension.
 * stdout carries results only (so `--json` output can be piped); logs and progress go to stderr.
 * Exit codes: 0 success, 1 failure (including a model that failed), 2 bad usage, 130 interrupted.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SKIP_REASON_TEXT, type SkipReason } from '../core/skipReasons';
import { computeMetrics, formatMetrics, readQueryFile, reciprocalRank, QueryFileError, WholeFileBm25, type EvalResult } from '../core/evaluation';
import { fusionWeights, search, SEARCH_DEFAULTS, type FusionWeights, type SearchHit } from '../core/retrieval';
import { searchWithFallback } from '../core/resilientSearch';
import { MAX_MAX_CHARS, MIN_MAX_CHARS } from '../core/chunker/chunker';
import { LlmError } from '../core/llm';
import { IndexLockedError } from '../core/indexLock';
import type { Logger } from '../core/types';
import { codeTerms } from '../core/tokenize';
import { DEFAULT_CHUNK_CHARS, DEFAULT_MAX_FILE_BYTES } from '../core/defaults';
import { IndexError } from '../core/indexError';
import { defaultIndexDir, rootsFromDirs, WorkspaceIndex, type IndexRunSummary, type IndexOptions } from '../core/workspaceIndex';
import { formatBytes, formatCounts, ProgressBar, printable, stderrLogger, UsageError } from './output';
import { runBench } from './bench';
import { recentGitFiles } from '../core/gitRecency';
import { answerQuestion, localRetriever, type AnswerResult, type AnswerRetriever } from '../core/answer';
import { describeTeamState, TeamOverlay } from '../core/teamOverlay';
import { renderMessages } from '../core/prompt';
import { ConfigError, configFilePath, createEmbedder, createLlm, readConfigFile, resolveEmbedSettings, resolveLlmSettings } from '../providers/config';
import { DEFAULT_LOCAL_MODEL, defaultModelCacheDir } from '../providers/localModel';
import { ModelDownloadError } from '../providers/localModelErrors';
import { downloadModel } from '../providers/modelDownload';
import type { PostgresStore } from '../providers/postgresStore';
import type * as StoreCommands from './store';

let storeCommands: typeof StoreCommands | undefined;
/**
 * The shared-store commands, loaded on first use: they bring in `pg`, whose loading (and the undici
 * it pulls in) was ~0.2-0.4 s of every `groundwork search`, store or not.
 */
async function storeCli(): Promise<typeof StoreCommands> {
  return (storeCommands ??= await import('./store'));
}
import { errMessage } from '../core/errMessage';

const HELP = `groundwork — search your codebase and get answers that cite files and lines

Usage:
  groundwork index  [--workspace DIR]... [--index-dir DIR]
  groundwork ask    "question" [--json] [--show-context] [--provider P] [--model M] [--base-url URL]
  groundwork search "query" [--k N] [--json] [--workspace DIR]... [--index-dir DIR] [--no-update]
  groundwork stats  [--workspace DIR]... [--index-dir DIR] [--json]
  groundwork eval   --workspace DIR --queries FILE.jsonl [--k N] [--json] [--baseline]
  groundwork index|search|ask|eval|stats --store postgres://USER@HOST/DB[?passwordFile=PATH|passwordEnv=NAME&sslmode=…]
                     [--repo NAME] [--commit SHA]   the shared team index (PostgreSQL + pgvector)
  groundwork bench  [--corpus DIR] [--record docs/benchmarks.md]
  groundwork download-model [--embed-model ID]   fetch the local embedding model (needs huggingface.co)

Options:
  --workspace DIR    folder to index (repeat for several roots; default: current folder)
  --index-dir DIR    where the index lives (default: under your cache folder, keyed by workspace)
  --k N              number of results (default 10)
  --json             machine-readable output on stdout
  --max-file-bytes N skip files larger than N bytes (default ${DEFAULT_MAX_FILE_BYTES})
  --chunk-chars N    chunk budget in characters (default ${DEFAULT_CHUNK_CHARS})
  --exclude GLOB     extra exclude pattern, gitignore syntax (repeatable)
  --embedder NAME    local (default: a model on this machine, lexical-only until it is installed)
                     | openai | none
  --embed-model ID   embedding model (local default Xenova/bge-small-en-v1.5)
  --provider P       auto (default: a model if one is configured, else quoting) | openai | extractive
  --model M          chat model id (e.g. gpt-4o-mini, llama3.1:8b, a fine-tuned ft:… id)
  --base-url URL     OpenAI-compatible endpoint (e.g. http://localhost:11434/v1 for Ollama)
  --show-context     print exactly what the model was given
  --store URL        a shared index on PostgreSQL: index publishes the checkout's commit to it; search,
                     ask, eval and stats read it (ask overlays the checkout's changes since that commit). Never a password in the URL: ?passwordFile=PATH (mode 600),
                     ?passwordEnv=NAME, PGPASSWORD or ~/.pgpass; sslmode/sslrootcert/… pass through
  --repo NAME        repository name in the store (default: from the origin remote, else the folder)
  --commit SHA       snapshot to read (default: the newest ready one)
  --lexical-weight W, --vector-weight W
                     weights of the keyword and semantic rankings in hybrid search (0-10, default 1 each)

Environment: OPENAI_API_KEY, OPENAI_BASE_URL, GROUNDWORK_MODEL, GROUNDWORK_PROVIDER,
GROUNDWORK_CACHE_DIR, GROUNDWORK_OFFLINE=1 (never download the embedding model); config file: $GROUNDWORK_CONFIG or ~/.config/groundwork/config.json,
e.g. {"llm": {"baseURL": "http://localhost:11434/v1", "model": "llama3.1:8b"}}.
  --verbose          more logging on stderr
  -h, --help         show this help
`;

const OPTIONS = {
  workspace: { type: 'string', multiple: true },
  'index-dir': { type: 'string' },
  k: { type: 'string' },
  json: { type: 'boolean' },
  queries: { type: 'string' },
  baseline: { type: 'boolean' },
  mode: { type: 'string' },
  'max-file-bytes': { type: 'string' },
  'chunk-chars': { type: 'string' },
  exclude: { type: 'string', multiple: true },
  embedder: { type: 'string' },
  'embed-model': { type: 'string' },
  'no-update': { type: 'boolean' },
  corpus: { type: 'string' },
  provider: { type: 'string' },
  model: { type: 'string' },
  'base-url': { type: 'string' },
  'show-context': { type: 'boolean' },
  record: { type: 'string' },
  store: { type: 'string' },
  repo: { type: 'string' },
  commit: { type: 'string' },
  'lexical-weight': { type: 'string' },
  'vector-weight': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type Values = {
  workspace?: string[];
  'index-dir'?: string;
  k?: string;
  json?: boolean;
  queries?: string;
  baseline?: boolean;
  mode?: string;
  'max-file-bytes'?: string;
  'chunk-chars'?: string;
  exclude?: string[];
  embedder?: string;
  'embed-model'?: string;
  'no-update'?: boolean;
  corpus?: string;
  provider?: string;
  model?: string;
  'base-url'?: string;
  'show-context'?: boolean;
  record?: string;
  store?: string;
  repo?: string;
  commit?: string;
  'lexical-weight'?: string;
  'vector-weight'?: string;
  verbose?: boolean;
  help?: boolean;
};

/** `--lexical-weight` / `--vector-weight`, checked like the extension's settings. */
function fusionFlags(v: Values): FusionWeights {
  try {
    return fusionWeights(v['lexical-weight'], v['vector-weight'], { lexical: '--lexical-weight', vector: '--vector-weight' });
  } catch (err) {
    throw new UsageError(errMessage(err));
  }
}

function positiveInt(name: string, raw: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number between 1 and ${max} (got "${raw}")`);
  return n;
}

function intInRange(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number between ${min} and ${max} (got "${raw}")`);
  return n;
}

/**
 * Ctrl-C: the first aborts the running command (it saves what it has and exits 130), a second one
 * exits at once. Every long operation of a command takes this signal.
 */
const interrupt = new AbortController();
let sigintHandler: (() => void) | undefined;
function installInterruptHandler(logger: Logger): void {
  if (sigintHandler) return;
  sigintHandler = () => {
    if (interrupt.signal.aborted) {
      process.stderr.write('\ngroundwork: interrupted again; exiting now\n');
      process.exit(130);
    }
    logger.warn('interrupted: saving what has been done so far… (Ctrl-C again to exit at once)');
    interrupt.abort(new InterruptedError());
  };
  process.on('SIGINT', sigintHandler);
}

class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'AbortError';
  }
}

let configFile: ReturnType<typeof readConfigFile> | undefined;
/** The config file, read once per run (ask reads both its model and its embedding settings). */
function userConfig(): ReturnType<typeof readConfigFile> {
  configFile ??= readConfigFile(configFilePath());
  return configFile;
}

/** Cleanup run when the command ends (embedding workers). */
const closers: Array<() => Promise<void>> = [];
/** Why vectors are off in this run, for summaries. */
let vectorsOffReason: string | undefined;

function indexOptions(v: Values): IndexOptions {
  return {
    maxFileBytes: positiveInt('max-file-bytes', v['max-file-bytes'], DEFAULT_MAX_FILE_BYTES),
    chunkChars: intInRange('chunk-chars', v['chunk-chars'], DEFAULT_CHUNK_CHARS, MIN_MAX_CHARS, MAX_MAX_CHARS),
    extraExcludes: v.exclude,
  };
}

function indexDirFor(v: Values): { roots: ReturnType<typeof rootsFromDirs>; indexDir: string } {
  const dirs = v.workspace?.length ? v.workspace : [process.cwd()];
  const roots = rootsFromDirs(dirs);
  return { roots, indexDir: path.resolve(v['index-dir'] ?? defaultIndexDir(roots.map((r) => r.dir))) };
}

/**
 * How a command opens the index: `write` takes the writer lock (index, eval); `prefer-write` takes
 * it when free and otherwise reads the last consistent snapshot (search, ask: another process may be
 * indexing, or the folder may be read-only); `read` never locks or writes (search --no-update, stats).
 */
type OpenMode = 'write' | 'prefer-write' | 'read';

/** Errors of taking the lock that a reader can work around. */
function cannotLock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return err instanceof IndexLockedError || code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
}

async function embedderFor(v: Values, logger: Logger): Promise<Awaited<ReturnType<typeof createEmbedder>>> {
  const settings = resolveEmbedSettings({ embedder: v.embedder, embedModel: v['embed-model'] }, process.env, await userConfig());
  const offline = Boolean(process.env.GROUNDWORK_OFFLINE && process.env.GROUNDWORK_OFFLINE !== '0');
  const status = await createEmbedder(settings, logger, 'run `groundwork download-model` where huggingface.co is reachable', !offline);
  closers.push(() => status.close());
  vectorsOffReason = status.reason;
  return status;
}

/** The shared store named by --store, closed when the command ends. */
async function storeFor(v: Values, logger: Logger): Promise<PostgresStore> {
  const store = await (await storeCli()).connectStore(v.store!, logger);
  closers.push(() => store.close());
  return store;
}

async function openIndex(v: Values, logger: Logger, indexDirOverride?: string, mode: OpenMode = 'write'): Promise<WorkspaceIndex> {
  const { roots, indexDir } = indexDirFor(v);
  const options = indexOptions(v);
  const status = await embedderFor(v, logger);
  const open = (write: boolean) =>
    WorkspaceIndex.open({ roots, indexDir: indexDirOverride ?? indexDir, embedder: status.embedder, embedderUnavailable: status.unavailable, options, logger, write });
  if (mode === 'read') return open(false);
  try {
    return await open(true);
  } catch (err) {
    if (mode !== 'prefer-write' || !cannotLock(err)) throw err;
    logger.info(`Using the index as it is (${err instanceof IndexLockedError ? 'another process is updating it' : 'its folder is read-only'}).`);
    return open(false);
  }
}

/** True when the index can be brought up to date by this process (it holds the writer lock). */
function canWrite(index: WorkspaceIndex): boolean {
  return index.writable;
}

async function runIndex(index: WorkspaceIndex, logger: Logger, quiet = false): Promise<IndexRunSummary> {
  const bar = new ProgressBar();
  installInterruptHandler(logger);
  try {
    if (index.embedder && index.vectors) {
      // No editors here: what the user touched lately (git) is embedded first.
      const recent = await recentGitFiles(index.roots);
      index.embedQueue.prioritize(recent.modified, 'open');
      index.embedQueue.prioritize(recent.committed, 'recent');
      if (recent.modified.length || recent.committed.length) {
        logger.debug?.(`Embedding first: ${recent.modified.length} modified and ${recent.committed.length} recently committed files (git).`);
      }
    }
    const summary = await index.update({ signal: interrupt.signal, onProgress: (p) => bar.update(p) });
    bar.finish();
    if (!quiet) printSummary(summary, index, logger);
    return summary;
  } finally {
    bar.finish();
  }
}

function printSummary(s: IndexRunSummary, index: WorkspaceIndex, logger: Logger): void {
  const skippedTotal = Object.values(s.skipped).reduce((a, b) => a + (b ?? 0), 0);
  logger.info(
    `Indexed ${s.filesIndexed} files (${s.filesChanged} new or changed, ${s.filesUnchanged} unchanged, ${s.filesRemoved} removed) → ${s.chunks} chunks in ${(s.millis / 1000).toFixed(1)} s`,
  );
  logger.info(`Languages: ${formatCounts(s.languages)}`);
  logger.info(`Skipped ${skippedTotal}: ${formatCounts(s.skipped)}`);
  if (s.fallbacks) logger.info(`Parse fallbacks (chunked by blank lines): ${s.fallbacks} files`);
  logger.info(
    s.vectors === 'off'
      ? `Vectors: off, search is lexical only: ${vectorsOffReason ?? 'no embedding model is configured'}`
      : `Vectors: ${s.vectors} (${s.chunksEmbedded} embedded, ${s.chunksFromCache} from cache)${s.vectorsError ? `; embedding failed: ${s.vectorsError}` : ''}`,
  );
  const secrets = (s.skipped.secret ?? 0) + (s.skipped['secret-content'] ?? 0);
  if (secrets) logger.info(`Secrets kept out of the index: ${s.skipped.secret ?? 0} by file name, ${s.skipped['secret-content'] ?? 0} by content`);
  logger.info(`Index: ${index.indexDir}`);
}

/** The lines of a hit that best match the query, for a short snippet. */
export function snippet(hit: SearchHit, query: string, maxLines = 4): string[] {
  const terms = new Set(codeTerms(query));
  const lines = hit.text.split('\n');
  const scored = lines.map((line, i) => {
    let s = 0;
    for (const t of codeTerms(line)) if (terms.has(t)) s++;
    return { i, s };
  });
  const best = scored.filter((x) => x.s > 0).sort((a, b) => b.s - a.s || a.i - b.i)[0];
  const start = best ? Math.max(0, Math.min(best.i - 1, lines.length - maxLines)) : 0;
  return lines.slice(start, start + maxLines).map((l, j) => {
    const n = hit.startLine + start + j;
    const text = l.length > 160 ? `${l.slice(0, 157)}…` : l;
    return `${String(n).padStart(6)} │ ${printable(text)}`;
  });
}

/** `search --store`: the newest (or `--commit`) snapshot of the checkout's repository. */
async function cmdSearchStore(query: string, v: Values, logger: Logger): Promise<void> {
  const k = positiveInt('k', v.k, SEARCH_DEFAULTS.k, 100);
  const fusion = fusionFlags(v);
  const store = await storeFor(v, logger);
  const { roots } = indexDirFor(v);
  const repository = await (await storeCli()).repositoryOf(roots[0]!.dir, v.repo);
  const { embedder } = await embedderFor(v, logger);
  const opened = Date.now();
  const index = await (await storeCli()).openStored(store, { repository, commit: v.commit, embedder, roots, chunkChars: indexOptions(v).chunkChars ?? DEFAULT_CHUNK_CHARS });
  logger.info(`Shared index: ${repository}@${index.snapshot.commit.slice(0, 12)} from ${store.location} (${index.fileCount} files, loaded in ${Date.now() - opened} ms)`);
  const started = process.hrtime.bigint();
  const { hits, lexicalFallback } = await searchWithFallback(index, query, { k, signal: interrupt.signal, ...fusion });
  if (lexicalFallback) logger.warn(lexicalFallback);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  printSearch(query, hits, ms, Boolean(v.json), index.vectors ? 'ready' : 'off', index.fileCount);
}

function printSearch(query: string, hits: SearchHit[], ms: number, json: boolean, vectors: string, fileCount: number): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        query,
        vectors,
        millis: Math.round(ms * 10) / 10,
        hits: hits.map((h) => ({
          path: h.path,
          startLine: h.startLine,
          endLine: h.endLine,
          score: round(h.score),
          retrievers: h.retrievers,
          symbols: h.symbols,
          text: h.text,
        })),
      })}\n`,
    );
    return;
  }
  if (!hits.length) {
    process.stdout.write(`No results for "${printable(query)}" (${fileCount} files indexed).\n`);
    return;
  }
  const out: string[] = [];
  hits.forEach((h, i) => {
    const sym = h.symbols.length ? `  ${printable(h.symbols.slice(0, 3).join(', '))}` : '';
    out.push(`${String(i + 1).padStart(2)}. ${printable(h.path)}:L${h.startLine}-L${h.endLine}  (${h.score.toFixed(4)} · ${h.retrievers.join('+')})${sym}`);
    out.push(...snippet(h, query));
    out.push('');
  });
  out.push(`${hits.length} results in ${ms.toFixed(1)} ms · ${vectors === 'off' ? 'lexical only' : `hybrid (vectors ${vectors})`}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function cmdSearch(query: string, v: Values, logger: Logger): Promise<void> {
  if (v.store) return cmdSearchStore(query, v, logger);
  const k = positiveInt('k', v.k, SEARCH_DEFAULTS.k, 100);
  const fusion = fusionFlags(v);
  let index = await openIndex(v, logger, undefined, v['no-update'] ? 'read' : 'prefer-write');
  try {
    if (index.fileCount === 0 && !canWrite(index)) {
      // Nothing to read yet: this run has to build the index (and so needs the lock).
      await index.close();
      index = await openIndex(v, logger, undefined, 'write');
    }
    if (canWrite(index) && (!v['no-update'] || index.fileCount === 0)) {
      const fresh = index.fileCount === 0;
      if (fresh) logger.info('No index yet for this workspace: indexing it first…');
      await runIndex(index, logger, !fresh);
    }
    const started = process.hrtime.bigint();
    const { hits, lexicalFallback } = await searchWithFallback(index, query, { k, signal: interrupt.signal, ...fusion });
    if (lexicalFallback) logger.warn(lexicalFallback);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    printSearch(query, hits, ms, Boolean(v.json), index.vectorState(), index.fileCount);
  } finally {
    await index.close();
  }
}

const CLI_KEY_HINT = 'export OPENAI_API_KEY=… (or name another variable in the config file as "apiKeyEnv")';

async function cmdAsk(question: string, v: Values, logger: Logger): Promise<number> {
  const settings = resolveLlmSettings({ provider: v.provider, model: v.model, baseURL: v['base-url'] }, process.env, await userConfig());
  const llm = createLlm(settings, CLI_KEY_HINT);
  const k = positiveInt('k', v.k, 10, 100);
  const fusion = fusionFlags(v);
  if (v.store) return askWith(await storeRetriever(v, logger, fusion), question, v, llm, k, logger, async () => undefined);
  let index = await openIndex(v, logger, undefined, v['no-update'] ? 'read' : 'prefer-write');
  if (index.fileCount === 0 && !canWrite(index)) {
    await index.close();
    index = await openIndex(v, logger, undefined, 'write');
  }
  const opened = index;
  const fresh = opened.fileCount === 0;
  if (fresh) logger.info('No index yet for this workspace: indexing it first…');
  try {
    if (canWrite(opened) && (!v['no-update'] || fresh)) await runIndex(opened, logger, !fresh);
  } catch (err) {
    await opened.close();
    throw err;
  }
  return askWith(localRetriever(opened, fusion), question, v, llm, k, logger, () => opened.close());
}

/**
 * `ask --store`: the repository's newest snapshot with this checkout's differences from its commit
 * overlaid (git diff, untracked files), as the extension does; `--commit` reads that snapshot as it
 * is. Citations are verified against the files of this checkout either way.
 */
async function storeRetriever(v: Values, logger: Logger, fusion: ReturnType<typeof fusionFlags>): Promise<AnswerRetriever> {
  const store = await storeFor(v, logger);
  const { roots } = indexDirFor(v);
  const cli = await storeCli();
  const repository = await cli.repositoryOf(roots[0]!.dir, v.repo);
  const { embedder } = await embedderFor(v, logger);
  const chunkChars = indexOptions(v).chunkChars ?? DEFAULT_CHUNK_CHARS;
  if (v.commit) {
    const index = await cli.openStored(store, { repository, commit: v.commit, embedder, roots, chunkChars });
    logger.info(`Shared index: ${repository}@${index.snapshot.commit.slice(0, 12)} from ${store.location} (no overlay: --commit reads the snapshot as it is).`);
    return localRetriever(index, fusion);
  }
  const team = await TeamOverlay.open(store, { repository, roots, embedder, expected: cli.expectedVersions(chunkChars), discovery: indexOptions(v), logger });
  closers.push(() => team.close());
  logger.info(`Answering from the ${describeTeamState(team.state())} (${store.location}).`);
  return localRetriever(team.index, fusion);
}

async function askWith(
  retriever: AnswerRetriever,
  question: string,
  v: Values,
  llm: ReturnType<typeof createLlm>,
  k: number,
  logger: Logger,
  close: () => Promise<void>,
): Promise<number> {
  try {
    installInterruptHandler(logger);
    if (!v.json) logger.info(llm ? `Asking ${llm.label}…` : 'No model configured: answering by quoting the code.');
    const result: AnswerResult = await answerQuestion(retriever, question, {
      llm,
      k,
      signal: interrupt.signal,
      noModelNote: llm
        ? undefined
        : 'No language model is configured, so this answer quotes the code. For written answers set OPENAI_API_KEY, or --base-url and --model for a local server (Ollama, LM Studio, llama.cpp).',
      onToken: v.json || v['show-context'] ? undefined : (d) => process.stdout.write(printable(d)),
    });
    // A model that failed is a failure even when the answer fell back to quoting the code.
    const code = result.error ? 1 : 0;
    if (v.json) {
      // The exact messages are large; they are included only with --show-context.
      process.stdout.write(`${JSON.stringify(v['show-context'] ? result : { ...result, messages: undefined }, null, 2)}\n`);
      return code;
    }
    if (v['show-context']) {
      const context = result.messages.length
        ? renderMessages(result.messages)
        : result.sources.map((s) => `[${s.n}] ${s.path}:L${s.startLine}-L${s.endLine}\n${s.text}`).join('\n\n');
      process.stdout.write(`=== context given to ${result.provider.label} ===\n${printable(context)}\n=== answer ===\n${printable(result.answer)}`);
    }
    const out: string[] = ['', ''];
    if (result.flags.weakContext) out.push('Note: the workspace may not contain an answer to this: the closest matches are weak.');
    if (result.error) out.push(`Model error (${result.error.kind}): ${printable(result.error.message)}`);
    // One line per distinct citation; a number cited for several claims is listed once, with the
    // weakest support any of its claims got.
    const cited = new Map<string, AnswerResult['citations'][number]>();
    const rank = { unsupported: 0, partial: 1, supported: 2, unchecked: 3 } as const;
    for (const c of result.citations) {
      const key = c.n !== undefined ? `[${c.n}]` : c.marker;
      const prev = cited.get(key);
      if (!prev || rank[c.support] < rank[prev.support]) cited.set(key, c);
    }
    out.push('Citations:');
    if (!cited.size) out.push('  none');
    for (const [key, c] of cited) {
      const where = c.path ? `${printable(c.path)}:L${c.startLine}-L${c.endLine}` : '';
      const status =
        c.status !== 'verified'
          ? ` (${c.status}: ${c.reason})`
          : c.support === 'unsupported' || c.support === 'partial'
            ? ` (${c.support === 'partial' ? 'partly supported' : 'not supported'}: the cited lines do not mention ${c.missing?.map((t) => `"${printable(t)}"`).join(', ')})`
            : '';
      out.push(`  ${key} ${where}${status}`);
    }
    const ci = result.citationIntegrity;
    const supported = result.citations.filter((c) => c.support === 'supported').length;
    out.push(
      `${ci.verified}/${ci.total} citations verified (source in the prompt, lines unchanged) · ${supported} supported by the cited lines · ${result.provider.label} · ${Math.round(result.timings.totalMs)} ms`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
    return code;
  } finally {
    await close();
  }
}

async function cmdStats(v: Values, logger: Logger): Promise<void> {
  if (v.store) {
    const store = await storeFor(v, logger);
    await (await storeCli()).printStoreStats(store, v.repo, Boolean(v.json));
    return;
  }
  const { indexDir } = indexDirFor(v);
  const exists = await fsp.stat(path.join(indexDir, 'manifest.json')).catch(() => undefined);
  if (!exists) throw new IndexError('this workspace has not been indexed yet; run `groundwork index` first');
  const index = await openIndex(v, logger, undefined, 'read');
  try {
    if (index.fileCount === 0) throw new IndexError('this workspace has not been indexed yet; run `groundwork index` first');
    const st = await index.status();
    if (v.json) {
      process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
      return;
    }
    const lines = [
      `Workspace: ${st.roots.join(', ')}`,
      `Index:     ${st.indexDir} (${formatBytes(st.sizeOnDiskBytes)} on disk)`,
      `Indexed:   ${st.files} files, ${st.chunks} chunks${st.lastIndexedAt ? ` (last scan ${st.lastIndexedAt})` : ''}`,
      `Languages: ${formatCounts(st.languages)}`,
      `Chunking:  ${formatCounts(st.methods)}`,
      `Vectors:   ${st.vectors.mode === 'off' ? `off, lexical search only: ${vectorsOffReason ?? 'no embedding model is configured'}` : `${st.vectors.mode}, ${st.vectors.count} vectors from ${st.vectors.embedder} (${st.vectors.dimensions}-d)`}`,
      'Skipped:',
    ];
    const reasons = Object.entries(st.skipped) as Array<[SkipReason, number]>;
    if (!reasons.length) lines.push('  nothing');
    for (const [reason, count] of reasons.sort((a, b) => b[1] - a[1])) {
      const sample = printable(st.skippedSamples[reason]?.slice(0, 3).join(', ') ?? '');
      lines.push(`  ${String(count).padStart(6)}  ${reason} — ${SKIP_REASON_TEXT[reason]}${sample ? ` (e.g. ${sample})` : ''}`);
    }
    if (st.fallbackFiles.length) {
      lines.push('Parse fallbacks:');
      for (const f of st.fallbackFiles.slice(0, 10)) lines.push(`  ${printable(f.path)}: ${f.reason}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await index.close();
  }
}

async function cmdEval(v: Values, logger: Logger): Promise<void> {
  if (!v.workspace?.length) throw new UsageError('eval needs --workspace DIR');
  if (v.workspace.length > 1) throw new UsageError('eval takes exactly one --workspace');
  if (!v.queries) throw new UsageError('eval needs --queries FILE.jsonl');
  const k = positiveInt('k', v.k, 10, 100);
  const mode = v.mode ?? 'hybrid';
  if (!['hybrid', 'lexical', 'vector'].includes(mode)) throw new UsageError(`--mode must be hybrid, lexical or vector (got "${mode}")`);
  const fusion = fusionFlags(v);
  const workspace = path.resolve(v.workspace[0]!);
  const st = await fsp.stat(workspace).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`workspace folder not found: ${workspace}`);
  const queries = await readQueryFile(v.queries);

  // A first-time user's index: fresh, outside the workspace (which may be read-only), removed after.
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'groundwork-eval-'));
  const started = Date.now();
  let results: EvalResult[];
  let label = 'whole-file BM25 baseline';
  let evalMode: EvalMode = { retrieval: 'baseline', embedder: null, reason: 'whole-file BM25 baseline (--baseline)' };
  try {
    const index = await openIndex({ ...v, workspace: [workspace] }, logger, v['index-dir'] ?? path.join(tmp, 'index'));
    try {
      await runIndex(index, logger, !v.verbose);
      if (!v.baseline) {
        evalMode = evalModeOf(index, mode as 'hybrid' | 'lexical' | 'vector');
        label = `groundwork (${evalMode.retrieval})`;
        logger.info(`Retrieval: ${evalMode.retrieval}${evalMode.embedder ? ` with ${evalMode.embedder}` : ''} (${evalMode.reason}).`);
      }
      if (v.store && !v.baseline) {
        // Through the shared store: publish this index as a snapshot, read it back, rank from it.
        const store = await storeFor(v, logger);
        const repository = v.repo ?? `eval/${path.basename(workspace)}`;
        const published = await (await storeCli()).publishCheckout(store, index, { repository, commit: v.commit, logger, signal: interrupt.signal, allowNoGit: true });
        const loadStarted = Date.now();
        const stored = await (
          await storeCli()
        ).openStored(store, {
          repository,
          commit: published.commit,
          embedder: index.embedder,
          roots: index.roots,
          chunkChars: index.options.chunkChars,
        });
        logger.info(`Read back ${repository}@${published.commit.slice(0, 12)} from ${store.location} in ${Date.now() - loadStarted} ms.`);
        results = [];
        for (const q of queries) {
          const hits = await search(stored, q.query, { k, mode: mode as 'hybrid' | 'lexical' | 'vector', ...fusion });
          results.push({ id: q.id, hits: hits.map((h) => ({ path: h.path, startLine: h.startLine, endLine: h.endLine, score: round(h.score) })) });
        }
      } else if (v.baseline) {
        const baseline = new WholeFileBm25();
        const files: Array<{ path: string; text: string }> = [];
        for (const f of index.indexedPaths()) {
          const abs = index.absolutePath(f);
          if (!abs) continue;
          files.push({ path: f, text: await fsp.readFile(abs, 'utf8') });
        }
        baseline.add(files);
        results = queries.map((q) => ({ id: q.id, hits: baseline.search(q.query, k) }));
      } else {
        results = [];
        for (const q of queries) {
          const hits = await search(index, q.query, { k, mode: mode as 'hybrid' | 'lexical' | 'vector', ...fusion });
          results.push({
            id: q.id,
            hits: hits.map((h) => ({ path: h.path, startLine: h.startLine, endLine: h.endLine, score: round(h.score) })),
          });
        }
      }
    } finally {
      await index.close();
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ version: 1, mode: evalMode, results })}\n`);
    return;
  }
  const labelled = queries.filter((q) => q.expected?.length);
  const lines: string[] = [`${queries.length} queries, ${((Date.now() - started) / 1000).toFixed(1)} s (including indexing)`];
  if (labelled.length) {
    lines.push(formatMetrics(label, computeMetrics(queries, results)));
    const misses = labelled.filter(
      (q) =>
        reciprocalRank(
          q,
          results.find((r) => r.id === q.id),
        ) === 0,
    );
    if (misses.length) lines.push(`Missed in the top 10: ${misses.map((q) => q.id).join(', ')}`);
  } else {
    for (const r of results)
      lines.push(
        `${r.id}: ${r.hits
          .slice(0, 3)
          .map((h) => `${h.path}:L${h.startLine}-L${h.endLine}`)
          .join('  ')}`,
      );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Which retrieval an evaluation ran, and why: carried in the JSON and said on stderr. */
interface EvalMode {
  retrieval: 'lexical-only' | 'hybrid' | 'vector-only' | 'baseline';
  /** Embedder id when vectors took part. */
  embedder: string | null;
  reason: string;
}

function evalModeOf(index: WorkspaceIndex, mode: 'hybrid' | 'lexical' | 'vector'): EvalMode {
  const hasVectors = index.vectorState() !== 'off' && (index.vectors?.count ?? 0) > 0;
  if (mode === 'lexical') return { retrieval: 'lexical-only', embedder: null, reason: '--mode lexical' };
  if (!hasVectors) {
    const why = vectorsOffReason ?? (index.embedder ? 'no vectors were computed' : 'no embedding model is configured');
    return { retrieval: 'lexical-only', embedder: null, reason: why };
  }
  const embedder = index.embedder?.id ?? null;
  if (mode === 'vector') return { retrieval: 'vector-only', embedder, reason: '--mode vector' };
  return { retrieval: 'hybrid', embedder, reason: `${index.vectors?.count ?? 0} vectors` };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`groundwork: ${errMessage(err).split('\n')[0]} (see groundwork --help)\n`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  const logger = stderrLogger(Boolean(values.verbose));
  // `groundwork search … | head`: a closed pipe ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    if (values.store && !['index', 'search', 'ask', 'eval', 'stats'].includes(command)) {
      throw new UsageError(`--store works with index, search, ask, eval and stats (not with ${command})`);
    }
    switch (command) {
      case 'index': {
        if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
        const store = values.store ? await storeFor(values, logger) : undefined;
        const index = await openIndex(values, logger);
        try {
          await runIndex(index, logger);
          if (store) await (await storeCli()).publishCheckout(store, index, { repository: values.repo, logger, signal: interrupt.signal });
        } finally {
          await index.close();
        }
        return 0;
      }
      case 'search': {
        const query = rest.join(' ').trim();
        if (!query) throw new UsageError('search needs a query, e.g. groundwork search "where is the config loaded?"');
        await cmdSearch(query, values, logger);
        return 0;
      }
      case 'ask': {
        const question = rest.join(' ').trim();
        if (!question) throw new UsageError('ask needs a question, e.g. groundwork ask "how are sessions verified?"');
        return await cmdAsk(question, values, logger);
      }
      case 'stats':
        await cmdStats(values, logger);
        return 0;
      case 'eval':
        await cmdEval(values, logger);
        return 0;
      case 'download-model': {
        const settings = resolveEmbedSettings({ embedder: 'local', embedModel: values['embed-model'] }, process.env, await userConfig());
        const modelId = settings.model ?? DEFAULT_LOCAL_MODEL;
        logger.info(`Downloading ${modelId} into ${settings.cacheDir ?? defaultModelCacheDir()}…`);
        const reported = new Set<string>();
        const r = await downloadModel({ modelId, cacheDir: settings.cacheDir }, (p) => {
          if (p.totalBytes && p.loadedBytes >= p.totalBytes && !reported.has(p.file)) {
            reported.add(p.file);
            logger.info(`  ${p.file} (${formatBytes(p.totalBytes)})`);
          }
        });
        logger.info(`Done: ${r.modelDir}. The next index run adds vectors.`);
        return 0;
      }
      case 'bench':
        await runBench({ corpus: values.corpus, record: values.record, logger });
        return 0;
      default:
        throw new UsageError(`unknown command "${command}" (commands: index, search, ask, stats, eval, bench, download-model)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`groundwork: ${err.message}\n`);
      return 2;
    }
    if (err instanceof IndexError || err instanceof QueryFileError || err instanceof ConfigError || err instanceof ModelDownloadError || err instanceof IndexLockedError) {
      process.stderr.write(`groundwork: ${err.message}\n`);
      return 1;
    }
    // Every signal the CLI passes down is `interrupt.signal`, so an abort from any layer (the engine
    // rethrows the signal's reason, an InterruptedError; the chat client maps it to LlmError 'aborted')
    // means Ctrl-C.
    if (interrupt.signal.aborted || err instanceof InterruptedError || (err instanceof LlmError && err.kind === 'aborted')) {
      process.stderr.write('groundwork: interrupted; the index keeps what was done and resumes next time\n');
      return 130;
    }
    const fsProblem = describeFsError(err);
    if (fsProblem) {
      process.stderr.write(`groundwork: ${fsProblem}\n`);
      return 1;
    }
    process.stderr.write(`groundwork: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    if (sigintHandler) process.removeListener('SIGINT', sigintHandler);
    sigintHandler = undefined;
  }
}

/** A one-line message for a filesystem condition the user can fix (disk full, read-only, permissions). */
function describeFsError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  const where = e?.path ? ` (${e.path})` : '';
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full${where}; the index keeps its previous version. Free some space and run the command again.`;
    case 'EROFS':
      return `the index folder is on a read-only filesystem${where}; pass --index-dir a writable folder.`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied${where}; check the permissions of the index folder or pass --index-dir another one.`;
    case 'ENOTDIR':
    case 'EISDIR':
      return `a file is where a folder is expected, or the reverse${where}; check --index-dir and --workspace.`;
    case 'EMFILE':
    case 'ENFILE':
      return `too many open files${where}; raise the limit (ulimit -n) and try again.`;
    default:
      return undefined;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`groundwork: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
