/**
 * The index worker: runs the engine (discovery, chunking, BM25, vectors, retrieval) in a
 * worker_threads Worker so the extension host never stutters while a workspace is indexed.
 * It does NOT import `vscode` (workers cannot); the host talks to it through {@link IndexClient}
 * (indexClient.ts) with the request/response messages below.
 */
import { promises as fsp } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { retrievalCoverage, salientTerms } from '../core/answer';
import { plainChunk } from '../core/catalog';
import type { WorkspaceRoot } from '../core/discovery';
import { search, type FusionWeights, type SearchHit } from '../core/retrieval';
import type { Chunk, Logger } from '../core/types';
import { WorkspaceIndex, type IndexOptions, type IndexProgress, type IndexRunSummary, type IndexStatus } from '../core/workspaceIndex';
import { createEmbedder, type EmbedderStatus, type EmbedSettings } from '../providers/config';
import { QUESTION_FILES, questionFiles, type EmbedThrottle, type EmbedTier } from '../core/embedQueue';
import { vectorCoverage, type VectorCoverage } from '../core/vectorCoverage';
import { CHUNKER_VERSION } from '../core/chunker/chunker';
import { checkoutInfo, repositoryName } from '../core/gitInfo';
import { LEXICAL_VERSION } from '../core/lexicalIndex';
import { TeamOverlay } from '../core/teamOverlay';
import { TeamIndexRouter, type AnsweredBy, type TeamStatus } from '../core/teamRouter';
import { DEFAULT_CHUNK_CHARS } from '../core/defaults';
import { SCHEMA_VERSION } from '../core/workspaceIndex';
import { PostgresStore } from '../providers/postgresStore';

export interface OpenParams {
  roots: WorkspaceRoot[];
  indexDir: string;
  options: IndexOptions;
  embed: EmbedSettings;
  /** Download a missing local embedding model on first use. */
  autoDownload: boolean;
}

export type StatusWithReason = IndexStatus & { vectorsReason?: string; team?: TeamStatus };

/** The team index the host asks for (validated settings + the password from secret storage). */
export interface TeamParams {
  url: string;
  repository?: string;
  password?: string;
}

type NoParams = Record<string, never>;

/**
 * The worker's methods: what each takes and what it answers. Both sides are checked against this
 * map: the handlers below must return each method's result type, and IndexClient's calls get it.
 */
export interface WorkerMethods {
  /**
   * `files`, `chunks`: what the index already holds (0 files: a first index). Answers once the index
   * is searchable: an existing one from its read-only view while the worker loads it in memory
   * (`loading`; the next `update` waits for that load, `retrieve` does not).
   */
  open: { params: OpenParams; result: { vectorsReason?: string; files: number; chunks: number; loading: boolean } };
  update: { params: NoParams; result: IndexRunSummary };
  updateFiles: { params: { paths: string[] }; result: string[] };
  retrieve: { params: { query: string; k: number; fusion?: FusionWeights }; result: { hits: SearchHit[]; coverage: number; vectors: VectorCoverage; answeredBy: AnsweredBy } };
  /** Files to embed first (open editors, edited files); see embedQueue.ts. */
  prioritize: { params: { paths: string[]; tier: EmbedTier }; result: null };
  /** The user is typing: embedding pauses until they stop. */
  activity: { params: NoParams; result: null };
  /** A new embedding pace (settings changed). */
  setThrottle: { params: EmbedThrottle; result: null };
  /**
   * Sets (or with null, removes) the team index, then brings its overlay up to date with git and the
   * given unsaved editors; retries a failed connection once its delay is over (`force`: now).
   */
  team: { params: { config: TeamParams | null; unsaved: Array<[string, string]>; force?: boolean }; result: TeamStatus };
  salientTerms: { params: { text: string; max: number }; result: string[] };
  status: { params: NoParams; result: StatusWithReason };
  chunksOf: { params: { path: string }; result: Chunk[] };
  rebuild: { params: NoParams; result: IndexRunSummary };
  close: { params: NoParams; result: null };
}

export type WorkerMethod = keyof WorkerMethods;
export type ParamsOf<M extends WorkerMethod> = WorkerMethods[M]['params'];
export type ResultOf<M extends WorkerMethod> = WorkerMethods[M]['result'];

export type WorkerRequest = { [M in WorkerMethod]: { id: number; method: M; params: ParamsOf<M> } }[WorkerMethod];

export type WorkerEvent = { event: 'progress'; progress: IndexProgress } | { event: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type WorkerResponse = { id: number; result: unknown } | { id: number; error: { name: string; message: string } };

let index: WorkspaceIndex | undefined;
let embed: EmbedderStatus | undefined;
let openParams: OpenParams | undefined;
let updating: AbortController | undefined;
let team: { key: string; router: TeamIndexRouter } | undefined;

const port = parentPort;

const logger: Logger = {
  info: (message) => port?.postMessage({ event: 'log', level: 'info', message } satisfies WorkerEvent),
  warn: (message) => port?.postMessage({ event: 'log', level: 'warn', message } satisfies WorkerEvent),
  error: (message) => port?.postMessage({ event: 'log', level: 'error', message } satisfies WorkerEvent),
};

function need(): WorkspaceIndex {
  if (!index) throw new Error('the index is not open');
  return index;
}

async function open(params: OpenParams): Promise<ResultOf<'open'>> {
  openParams = params;
  embed = await createEmbedder(params.embed, logger, 'run "Groundwork: Download Embedding Model" where huggingface.co is reachable', params.autoDownload);
  // An existing index answers as soon as its read-only view is up; the update that follows waits for
  // the in-memory load (workspaceIndex.ts, `serveWhileLoading`).
  index = await WorkspaceIndex.open({ roots: params.roots, indexDir: params.indexDir, embedder: embed.embedder, options: params.options, logger, serveWhileLoading: true });
  return { vectorsReason: embed.reason, files: index.fileCount, chunks: index.chunkCount, loading: index.isLoading };
}

/** Progress reaches the host at most this often (the engine reports every file), plus every phase change. */
const PROGRESS_INTERVAL_MS = 100;

async function runUpdate(): Promise<IndexRunSummary> {
  const idx = need();
  updating?.abort();
  const controller = new AbortController();
  updating = controller;
  let lastPost = 0;
  let lastPhase = '';
  const onProgress = (progress: IndexProgress) => {
    const now = Date.now();
    if (progress.phase === lastPhase && now - lastPost < PROGRESS_INTERVAL_MS) return;
    lastPost = now;
    lastPhase = progress.phase;
    port?.postMessage({ event: 'progress', progress } satisfies WorkerEvent);
  };
  try {
    return await idx.update({ signal: controller.signal, onProgress });
  } finally {
    if (updating === controller) updating = undefined;
  }
}

/** Opens the team index for the workspace: read-only, the same embedder and versions as the local index. */
function teamRouter(config: TeamParams): TeamIndexRouter {
  const params = openParams;
  if (!params) throw new Error('the index is not open');
  return new TeamIndexRouter(
    async () => {
      const store = await PostgresStore.connect(config.url, { readOnly: true, password: config.password, logger, connectTimeoutMs: 10_000 });
      try {
        const root = params.roots[0];
        const repository = config.repository ?? (root ? repositoryName(root.dir, (await checkoutInfo(root.dir))?.remote) : '');
        const chunkChars = params.options.chunkChars ?? DEFAULT_CHUNK_CHARS;
        const overlay = await TeamOverlay.open(store, {
          repository,
          roots: params.roots,
          embedder: embed?.embedder,
          expected: { schema: SCHEMA_VERSION, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars },
          discovery: params.options,
          logger,
        });
        return {
          overlay,
          close: async () => (await overlay.close(), await store.close()),
          newestSnapshot: async () => (await store.snapshots(repository)).find((s) => s.state === 'ready')?.id,
        };
      } catch (err) {
        await store.close().catch(() => undefined);
        throw err;
      }
    },
    { logger },
  );
}

async function configureTeam(params: ParamsOf<'team'>): Promise<TeamStatus> {
  const key = params.config ? JSON.stringify([params.config.url, params.config.repository ?? '', params.config.password ?? '']) : '';
  if (team && team.key !== key) {
    await team.router.close();
    team = undefined;
  }
  if (!params.config) return { state: 'off' };
  team ??= { key, router: teamRouter(params.config) };
  if (params.force) await team.router.ensure(true);
  return team.router.refresh(new Map(params.unsaved));
}

async function closeAll(): Promise<void> {
  updating?.abort();
  await team?.router.close();
  team = undefined;
  await index?.close();
  index = undefined;
  await embed?.close();
  embed = undefined;
}

/** One handler per method, each checked against its result type in {@link WorkerMethods}. */
const handlers: { [M in WorkerMethod]: (params: ParamsOf<M>) => Promise<ResultOf<M>> } = {
  open: (params) => open(params),
  update: () => runUpdate(),
  updateFiles: (params) => need().updateFiles(params.paths),
  retrieve: async (params) => {
    const local = need();
    if (!team) {
      const hits = await search(local, params.query, { k: params.k, ...params.fusion });
      if (local.vectorState() === 'partial') {
        // The files a question retrieved (and nearly retrieved) are embedded next: a follow-up is likely about them.
        const candidates = await search(local, params.query, { k: QUESTION_FILES, mode: 'lexical' });
        local.embedQueue.prioritize(questionFiles(hits, candidates), 'retrieved');
      }
      return {
        hits,
        coverage: retrievalCoverage(local, params.query, hits),
        vectors: vectorCoverage(local, hits),
        answeredBy: { kind: 'local', description: 'local index' },
      };
    }
    const { value, answeredBy } = await team.router.use(local, async (idx) => {
      const hits = await search(idx, params.query, { k: params.k, ...params.fusion });
      return { hits, coverage: retrievalCoverage(idx, params.query, hits), vectors: vectorCoverage(idx, hits) };
    });
    return { ...value, answeredBy };
  },
  prioritize: async (params) => {
    need().embedQueue.prioritize(params.paths, params.tier);
    return null;
  },
  activity: async () => {
    need().embedQueue.noteActivity();
    return null;
  },
  setThrottle: async (params) => {
    const idx = need();
    idx.embedQueue.setThrottle(params);
    // A pause already running ends now if the new setting no longer asks for it.
    if (!params.quietMs) idx.embedQueue.resume();
    return null;
  },
  team: (params) => configureTeam(params),
  salientTerms: async (params) => salientTerms(need(), params.text, params.max),
  status: async () => ({ ...(await need().status()), vectorsReason: embed?.reason, team: team?.router.status() ?? { state: 'off' } }),
  chunksOf: async (params) => (need().getFile(params.path)?.chunks ?? []).map(plainChunk),
  rebuild: async () => {
    const params = openParams;
    if (!params) throw new Error('the index is not open');
    await closeAll();
    // Forget everything on disk, then index from scratch.
    await fsp.rm(params.indexDir, { recursive: true, force: true });
    await open(params);
    return runUpdate();
  },
  close: async () => {
    await closeAll();
    return null;
  },
};

// Async so that a handler throwing synchronously (need() before open) still answers with an error.
async function handle<M extends WorkerMethod>(req: { method: M; params: ParamsOf<M> }): Promise<ResultOf<M>> {
  return handlers[req.method](req.params);
}

port?.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (result) => port.postMessage({ id: req.id, result } satisfies WorkerResponse),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ id: req.id, error: { name: e.name, message: e.message } } satisfies WorkerResponse);
    },
  );
});
