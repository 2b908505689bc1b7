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
import { search } from '../core/retrieval';
import type { Logger } from '../core/types';
import { WorkspaceIndex, type IndexOptions, type IndexProgress } from '../core/workspaceIndex';
import { createEmbedder, type EmbedderStatus, type EmbedSettings } from '../providers/config';

export interface OpenParams {
  roots: WorkspaceRoot[];
  indexDir: string;
  options: IndexOptions;
  embed: EmbedSettings;
  /** Download a missing local embedding model on first use. */
  autoDownload: boolean;
}

export type WorkerRequest =
  | { id: number; method: 'open'; params: OpenParams }
  | { id: number; method: 'update'; params: Record<string, never> }
  | { id: number; method: 'updateFiles'; params: { paths: string[] } }
  | { id: number; method: 'retrieve'; params: { query: string; k: number } }
  | { id: number; method: 'salientTerms'; params: { text: string; max: number } }
  | { id: number; method: 'status'; params: Record<string, never> }
  | { id: number; method: 'chunksOf'; params: { path: string } }
  | { id: number; method: 'rebuild'; params: Record<string, never> }
  | { id: number; method: 'close'; params: Record<string, never> };

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

async function open(params: OpenParams): Promise<unknown> {
  openParams = params;
  embed = await createEmbedder(params.embed, logger, 'run "Groundwork: Download Embedding Model" where huggingface.co is reachable', params.autoDownload);
  index = await WorkspaceIndex.open({ roots: params.roots, indexDir: params.indexDir, embedder: embed.embedder, options: params.options, logger });
  return { vectorsReason: embed.reason };
}

/** Progress reaches the host at most this often (the engine reports every file), plus every phase change. */
const PROGRESS_INTERVAL_MS = 100;

async function runUpdate(): Promise<unknown> {
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

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.method) {
    case 'open':
      return open(req.params);
    case 'update':
      return runUpdate();
    case 'updateFiles':
      return need().updateFiles(req.params.paths);
    case 'retrieve': {
      const idx = need();
      const hits = await search(idx, req.params.query, { k: req.params.k });
      return { hits, coverage: retrievalCoverage(idx, req.params.query, hits) };
    }
    case 'salientTerms':
      return salientTerms(need(), req.params.text, req.params.max);
    case 'status':
      return { ...(await need().status()), vectorsReason: embed?.reason };
    case 'chunksOf':
      return (need().getFile(req.params.path)?.chunks ?? []).map(plainChunk);
    case 'rebuild': {
      const params = openParams;
      if (!params) throw new Error('the index is not open');
      await closeAll();
      // Forget everything on disk, then index from scratch.
      await fsp.rm(params.indexDir, { recursive: true, force: true });
      await open(params);
      return runUpdate();
    }
    case 'close':
      await closeAll();
      return null;
  }
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
