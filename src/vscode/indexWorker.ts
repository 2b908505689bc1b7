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

export interface OpenParams {
  roots: WorkspaceRoot[];
  indexDir: string;
  options: IndexOptions;
  embed: EmbedSettings;
  /** Download a missing local embedding model on first use. */
  autoDownload: boolean;
}

export type StatusWithReason = IndexStatus & { vectorsReason?: string };

type NoParams = Record<string, never>;

/**
 * The worker's methods: what each takes and what it answers. Both sides are checked against this
 * map: the handlers below must return each method's result type, and IndexClient's calls get it.
 */
export interface WorkerMethods {
  open: { params: OpenParams; result: { vectorsReason?: string } };
  update: { params: NoParams; result: IndexRunSummary };
  updateFiles: { params: { paths: string[] }; result: string[] };
  retrieve: { params: { query: string; k: number; fusion?: FusionWeights }; result: { hits: SearchHit[]; coverage: number; vectors: VectorCoverage } };
  /** Files to embed first (open editors, edited files); see embedQueue.ts. */
  prioritize: { params: { paths: string[]; tier: EmbedTier }; result: null };
  /** The user is typing: embedding pauses until they stop. */
  activity: { params: NoParams; result: null };
  /** A new embedding pace (settings changed). */
  setThrottle: { params: EmbedThrottle; result: null };
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

export type WorkerEvent =
  | { event: 'progress'; progress: IndexProgress }
  | { event: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type WorkerResponse = { id: number; result: unknown } | { id: number; error: { name: string; message: string } };

let index: WorkspaceIndex | undefined;
let embed: EmbedderStatus | undefined;
let openParams: OpenParams | undefined;
let updating: AbortController | undefined;

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
  index = await WorkspaceIndex.open({ roots: params.roots, indexDir: params.indexDir, embedder: embed.embedder, options: params.options, logger });
  return { vectorsReason: embed.reason };
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

async function closeAll(): Promise<void> {
  updating?.abort();
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
    const idx = need();
    const hits = await search(idx, params.query, { k: params.k, ...params.fusion });
    if (idx.vectorState() === 'partial') {
      // The files a question retrieved (and nearly retrieved) are embedded next: a follow-up is likely about them.
      const candidates = await search(idx, params.query, { k: QUESTION_FILES, mode: 'lexical' });
      idx.embedQueue.prioritize(questionFiles(hits, candidates), 'retrieved');
    }
    return { hits, coverage: retrievalCoverage(idx, params.query, hits), vectors: vectorCoverage(idx, hits) };
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
  salientTerms: async (params) => salientTerms(need(), params.text, params.max),
  status: async () => ({ ...(await need().status()), vectorsReason: embed?.reason }),
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
