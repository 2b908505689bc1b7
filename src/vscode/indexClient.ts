/**
 * Host side of the index worker (indexWorker.ts): typed request/response over a worker_threads
 * Worker, progress and log events, and an {@link AnswerRetriever} so the answer pipeline runs on
 * the extension host against the worker's index. No `vscode` import: the extension wires events to
 * the UI.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AnswerRetriever } from '../core/answer';
import type { Chunk } from '../core/types';
import { fusionSettings } from './settings';
import type { EmbedThrottle, EmbedTier } from '../core/embedQueue';
import type { IndexProgress, IndexRunSummary } from '../core/workspaceIndex';
import type { AnsweredBy, TeamStatus } from '../core/teamRouter';
import type { OpenParams, ParamsOf, ResultOf, StatusWithReason, TeamParams, WorkerEvent, WorkerMethod, WorkerResponse } from './indexWorker';

export interface IndexClientEvents {
  onProgress?: (p: IndexProgress) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The worker stopped unexpectedly (it is restarted on the next request). */
  onExit?: (code: number) => void;
  /** Which index answered the last retrieval (team + overlay, or local and why). */
  onAnsweredBy?: (a: AnsweredBy) => void;
}

/** Finds the bundled worker next to the extension bundle (dist/indexWorker.js). */
export function resolveIndexWorker(extensionDir: string): string {
  const candidates = [path.join(extensionDir, 'dist', 'indexWorker.js'), path.join(__dirname, 'indexWorker.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the index worker is missing (looked in ${candidates.join(', ')}); rebuild the extension`);
  return found;
}

export class IndexClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private opened: OpenParams | undefined;
  private disposed = false;

  constructor(
    private readonly workerFile: string,
    private readonly events: IndexClientEvents = {},
  ) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerFile);
    worker.on('message', (msg: WorkerResponse | WorkerEvent) => {
      if ('event' in msg) {
        if (msg.event === 'progress') this.events.onProgress?.(msg.progress);
        else this.events.onLog?.(msg.level, msg.message);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if ('error' in msg) {
        const e = new Error(msg.error.message);
        e.name = msg.error.name;
        p.reject(e);
      } else p.resolve(msg.result);
    });
    worker.on('error', (err) => this.events.onLog?.('error', `index worker error: ${err.message}`));
    worker.on('exit', (code) => {
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the index worker stopped (exit code ${code})`));
      this.pending.clear();
      if (!this.disposed) this.events.onExit?.(code);
    });
    this.worker = worker;
    return worker;
  }

  private async call<M extends WorkerMethod>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.disposed) throw new Error('the index is closed');
    const restarted = !this.worker && this.opened && method !== 'open';
    const worker = this.start();
    if (restarted && this.opened) {
      // The worker died; reopen the index before serving the request.
      await this.send(worker, 'open', this.opened);
    }
    return this.send(worker, method, params);
  }

  private send<M extends WorkerMethod>(worker: Worker, method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      // The one place the wire is trusted: the worker answers request `id` from the handler of
      // `method`, whose result type WorkerMethods fixes (indexWorker.ts).
      this.pending.set(id, { resolve: (v) => resolve(v as ResultOf<M>), reject });
      worker.postMessage({ id, method, params } satisfies { id: number; method: WorkerMethod; params: ParamsOf<M> });
    });
  }

  async open(params: OpenParams): Promise<ResultOf<'open'>> {
    this.opened = params;
    return this.call('open', params);
  }

  async update(): Promise<IndexRunSummary> {
    return this.call('update', {});
  }

  async updateFiles(paths: string[]): Promise<string[]> {
    return this.call('updateFiles', { paths });
  }

  /** Best hits for a query, fused with the weights of the `groundwork.search.*` settings. */
  async retrieve(query: string, k: number): Promise<ResultOf<'retrieve'>> {
    const r = await this.call('retrieve', { query, k, fusion: fusionSettings() });
    this.events.onAnsweredBy?.(r.answeredBy);
    return r;
  }

  /** Sets or clears the team index and refreshes its overlay (see WorkerMethods.team). */
  async team(config: TeamParams | null, unsaved: Array<[string, string]>, force = false): Promise<TeamStatus> {
    return this.call('team', { config, unsaved, force });
  }

  /** Embed these index paths first (no-op before the index is open). */
  async prioritize(paths: string[], tier: EmbedTier): Promise<void> {
    if (!this.opened || !paths.length) return;
    await this.call('prioritize', { paths, tier });
  }

  /** A new embedding pace (takes effect at the next batch). */
  async setThrottle(throttle: EmbedThrottle): Promise<void> {
    if (!this.opened) return;
    this.opened = { ...this.opened, options: { ...this.opened.options, embedThrottle: throttle } };
    await this.call('setThrottle', throttle);
  }

  /** The user is typing: embedding pauses (see embedQueue.ts). */
  async activity(): Promise<void> {
    if (!this.opened) return;
    await this.call('activity', {});
  }

  async salientTerms(text: string, max: number): Promise<string[]> {
    return this.call('salientTerms', { text, max });
  }

  async status(): Promise<StatusWithReason> {
    return this.call('status', {});
  }

  async chunksOf(indexPath: string): Promise<Chunk[]> {
    return this.call('chunksOf', { path: indexPath });
  }

  async rebuild(): Promise<IndexRunSummary> {
    return this.call('rebuild', {});
  }

  /** An answer retriever over this worker; `absolutePath` maps index paths with the given roots. */
  retriever(absolutePath: (indexPath: string) => string | undefined): AnswerRetriever {
    return {
      retrieve: async (query, k, signal) => {
        signal?.throwIfAborted();
        return this.retrieve(query, k);
      },
      salientTerms: (text, max) => this.salientTerms(text, max),
      absolutePath,
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    // Marked first: terminating the worker emits 'exit', which must not be reported as a crash.
    this.disposed = true;
    const worker = this.worker;
    if (worker) {
      await this.send(worker, 'close', {}).catch(() => undefined);
      await worker.terminate();
    }
  }
}
