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
import type { SearchHit } from '../core/retrieval';
import type { IndexProgress, IndexRunSummary, IndexStatus } from '../core/workspaceIndex';
import type { OpenParams, WorkerEvent, WorkerRequest, WorkerResponse } from './indexWorker';

export type StatusWithReason = IndexStatus & { vectorsReason?: string };

type Method = WorkerRequest['method'];
type ParamsOf<M extends Method> = Extract<WorkerRequest, { method: M }>['params'];

export interface IndexClientEvents {
  onProgress?: (p: IndexProgress) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The worker stopped unexpectedly (it is restarted on the next request). */
  onExit?: (code: number) => void;
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

  private async call<M extends Method>(method: M, params: ParamsOf<M>): Promise<unknown> {
    if (this.disposed) throw new Error('the index is closed');
    const restarted = !this.worker && this.opened && method !== 'open';
    const worker = this.start();
    if (restarted && this.opened) {
      // The worker died; reopen the index before serving the request.
      await this.send(worker, 'open', this.opened);
    }
    return this.send(worker, method, params);
  }

  private send<M extends Method>(worker: Worker, method: M, params: ParamsOf<M>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, params });
    });
  }

  async open(params: OpenParams): Promise<{ vectorsReason?: string }> {
    this.opened = params;
    return (await this.call('open', params)) as { vectorsReason?: string };
  }

  async update(): Promise<IndexRunSummary> {
    return (await this.call('update', {})) as IndexRunSummary;
  }

  async updateFiles(paths: string[]): Promise<string[]> {
    return (await this.call('updateFiles', { paths })) as string[];
  }

  async retrieve(query: string, k: number): Promise<{ hits: SearchHit[]; coverage: number }> {
    return (await this.call('retrieve', { query, k })) as { hits: SearchHit[]; coverage: number };
  }

  async salientTerms(text: string, max: number): Promise<string[]> {
    return (await this.call('salientTerms', { text, max })) as string[];
  }

  async status(): Promise<StatusWithReason> {
    return (await this.call('status', {})) as StatusWithReason;
  }

  async chunksOf(indexPath: string): Promise<Chunk[]> {
    return (await this.call('chunksOf', { path: indexPath })) as Chunk[];
  }

  async rebuild(): Promise<IndexRunSummary> {
    return (await this.call('rebuild', {})) as IndexRunSummary;
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
