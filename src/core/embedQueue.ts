/**
 * The order, pace and progress of the embedding phase (workspaceIndex.ts `update()`), fed by the
 * front ends while it runs.
 *
 * - **Priority.** Files are embedded tier by tier: `open` (open editors, recently edited or
 *   modified files), `retrieved` (files that recent questions retrieved or nearly retrieved; see
 *   {@link questionFiles}), `nearby` (implicit: the other files of an open file's folder, which
 *   questions about it tend to reach), `recent` (recently committed files, from git), then the
 *   rest. Within a tier the most recently named file comes first; the rest keep the vector-shard
 *   order that makes each shard write cover many files.
 *   {@link EmbedQueue.prioritize} may be called at any time: the embedding loop re-sorts what is
 *   left before its next batch, so a new question's files jump the queue.
 * - **Throttle.** {@link EmbedQueue.pace} runs between batches: it always yields to the event loop
 *   (so searches are served between batches), keeps the embedder busy for at most `cpuShare` of the
 *   wall time, and pauses while the user is active ({@link EmbedQueue.noteActivity}, e.g. typing).
 * - **Rate and ETA.** {@link RateMeter} measures chunks per second over a sliding window of recent
 *   batches (including the throttle's pauses), so the ETA is what this machine does right now.
 *
 * The same priorities order the keyword phase of an update ({@link EmbedQueue.prioritized}): on a
 * first index, the open files and their folders are chunked and searchable before the rest.
 *
 * No I/O here; the index persists vectors after each write group, which is what makes a run
 * resumable (the next run embeds only files without vectors).
 */

export type EmbedTier = 'open' | 'retrieved' | 'nearby' | 'recent' | 'rest';

/** Tier → sort rank (lower first). `nearby` is never named: it follows from the open files' folders. */
export const TIER_RANK: Record<EmbedTier, number> = { open: 0, retrieved: 1, nearby: 2, recent: 3, rest: 4 };

/**
 * Paths remembered per tier; older ones fall back to `rest`. Default 2000: far more than the open
 * editors or a session's questions name, small enough that a re-sort stays cheap.
 */
export const MAX_PRIORITY_PATHS = 2000;

export interface EmbedThrottle {
  /**
   * Share of wall time the embedder may be busy, in (0, 1] (default 1: no pause beyond a yield).
   * After a batch that took `d` ms, the loop waits `d × (1 − share) / share` ms.
   */
  cpuShare?: number;
  /** Pause embedding until the user has been idle this long after {@link EmbedQueue.noteActivity} (default 1500 ms; 0 = never pause). */
  quietMs?: number;
}

export const DEFAULT_QUIET_MS = 1500;

interface Mark {
  rank: number;
  /** Larger = named more recently. */
  seq: number;
}

export class EmbedQueue {
  private readonly marks = new Map<string, Mark>();
  private seq = 0;
  private lastActivity = Number.NEGATIVE_INFINITY;
  /** Bumped whenever priorities change; the embedding loop re-sorts when it sees a new value. */
  version = 0;
  cpuShare: number;
  quietMs: number;
  /** Wakes a pause early (new activity re-arms it; an abort ends it). */
  private wake?: () => void;

  constructor(throttle: EmbedThrottle = {}) {
    this.cpuShare = 1;
    this.quietMs = DEFAULT_QUIET_MS;
    this.setThrottle(throttle);
  }

  setThrottle(t: EmbedThrottle): void {
    if (t.cpuShare !== undefined) {
      if (!(t.cpuShare > 0 && t.cpuShare <= 1)) throw new RangeError(`cpuShare must be in (0, 1], got ${t.cpuShare}`);
      this.cpuShare = t.cpuShare;
    }
    if (t.quietMs !== undefined) {
      if (!(t.quietMs >= 0) || !Number.isFinite(t.quietMs)) throw new RangeError(`quietMs must be a finite number ≥ 0, got ${t.quietMs}`);
      this.quietMs = t.quietMs;
    }
  }

  /**
   * Moves `paths` (index paths) to `tier`, the first of them ahead of the others. A path already in
   * a better tier stays there (an open file that a question also retrieved is still `open`), unless
   * `tier` is `rest`, which clears it.
   */
  prioritize(paths: readonly string[], tier: EmbedTier): void {
    if (!paths.length) return;
    if (tier === 'nearby') throw new RangeError('the nearby tier follows from the open files; name them as open');
    const rank = TIER_RANK[tier];
    // Named in reverse so the first path gets the highest sequence number.
    for (let i = paths.length - 1; i >= 0; i--) {
      const p = paths[i]!;
      const old = this.marks.get(p);
      if (tier === 'rest') this.marks.delete(p);
      else if (!old || old.rank >= rank) {
        this.marks.delete(p); // re-inserted last: Map order is recency, for trimming
        this.marks.set(p, { rank, seq: ++this.seq });
      }
    }
    this.trim();
    this.version++;
  }

  /** Forgets every priority. */
  clear(): void {
    this.marks.clear();
    this.version++;
  }

  /** The tier a path is in now. */
  tierOf(path: string): EmbedTier {
    const rank = this.rankOf(path, this.openFolders());
    return (Object.keys(TIER_RANK) as EmbedTier[]).find((t) => TIER_RANK[t] === rank)!;
  }

  /** Folders of the files in the `open` tier (cached per {@link version}). */
  private openFolders(): Set<string> {
    if (this.foldersVersion !== this.version) {
      this.folders = new Set();
      for (const [p, m] of this.marks) if (m.rank === TIER_RANK.open) this.folders.add(folderOf(p));
      this.foldersVersion = this.version;
    }
    return this.folders;
  }
  private folders = new Set<string>();
  private foldersVersion = -1;

  private rankOf(path: string, folders: Set<string>): number {
    const m = this.marks.get(path);
    if (m && m.rank < TIER_RANK.nearby) return m.rank;
    if (folders.has(folderOf(path))) return TIER_RANK.nearby;
    return m?.rank ?? TIER_RANK.rest;
  }

  /**
   * Sort comparator for files: tier, then most recently named, then `fallback` (the index passes
   * vector-shard order, so the bulk keeps its write locality).
   */
  comparator<T extends { path: string }>(fallback: (a: T, b: T) => number): (a: T, b: T) => number {
    const folders = this.openFolders();
    return (a, b) => {
      const ra = this.rankOf(a.path, folders);
      const rb = this.rankOf(b.path, folders);
      if (ra !== rb) return ra - rb;
      const ma = this.marks.get(a.path);
      const mb = this.marks.get(b.path);
      const sa = ma?.seq ?? 0;
      const sb = mb?.seq ?? 0;
      if (sa !== sb) return sb - sa;
      return fallback(a, b);
    };
  }

  /**
   * `items` with those in a priority tier first (in {@link comparator} order), then the others in
   * the order given; each path's tier is looked up once. The keyword phase of an update chunks files
   * in this order, so the files the user works on are searchable first (workspaceIndex.ts).
   */
  prioritized<T extends { path: string }>(items: readonly T[]): { ordered: T[]; priority: number } {
    if (!this.marks.size) return { ordered: [...items], priority: 0 };
    const folders = this.openFolders();
    const first: Array<{ item: T; rank: number; seq: number }> = [];
    const rest: T[] = [];
    for (const item of items) {
      const rank = this.rankOf(item.path, folders);
      if (rank === TIER_RANK.rest) rest.push(item);
      else first.push({ item, rank, seq: this.marks.get(item.path)?.seq ?? 0 });
    }
    // Stable: within a tier and sequence, the given order stays.
    first.sort((a, b) => a.rank - b.rank || b.seq - a.seq);
    return { ordered: [...first.map((x) => x.item), ...rest], priority: first.length };
  }

  /** The user is typing (or otherwise busy): embedding pauses until {@link quietMs} of quiet. */
  noteActivity(now = Date.now()): void {
    this.lastActivity = now;
  }

  /**
   * Runs between batches: yields to the event loop, then waits out the CPU share for a batch that
   * kept the embedder busy `busyMs`, then waits while the user is active. Returns the milliseconds
   * spent waiting (not counting the yield). Rejects with the abort reason when `signal` aborts.
   */
  async pace(busyMs: number, signal?: AbortSignal): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    const started = Date.now();
    const rest = this.cpuShare < 1 ? (busyMs * (1 - this.cpuShare)) / this.cpuShare : 0;
    if (rest >= 1) await this.sleep(rest, signal);
    for (;;) {
      const quietFor = Date.now() - this.lastActivity;
      if (this.quietMs <= 0 || quietFor >= this.quietMs) break;
      await this.sleep(this.quietMs - quietFor, signal);
    }
    return Date.now() - started;
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.wake === done) this.wake = undefined;
      };
      const onAbort = () => {
        done();
        const reason: unknown = signal!.reason;
        reject(reason instanceof Error ? reason : new Error('aborted'));
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, Math.ceil(ms));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        done();
        resolve();
      };
    });
  }

  /** Ends a pause now (e.g. the throttle was switched off). */
  resume(): void {
    this.lastActivity = Number.NEGATIVE_INFINITY;
    this.wake?.();
  }

  private trim(): void {
    const perTier = new Map<number, number>();
    for (const m of this.marks.values()) perTier.set(m.rank, (perTier.get(m.rank) ?? 0) + 1);
    for (const [path, m] of this.marks) {
      // Map order is insertion (= recency) order: the oldest entries of an over-full tier go first.
      const n = perTier.get(m.rank)!;
      if (n <= MAX_PRIORITY_PATHS) continue;
      this.marks.delete(path);
      perTier.set(m.rank, n - 1);
    }
  }
}

/**
 * Chunks per second over the last `windowMs` of samples (default 30 s, at least the last 3 batches):
 * recent enough to follow a throttle change, long enough to smooth one slow batch.
 */
export class RateMeter {
  private readonly samples: Array<{ at: number; chunks: number; ms: number }> = [];

  constructor(private readonly windowMs = 30_000) {}

  /** `chunks` embedded in `ms` of wall time (embedding plus the pauses that followed the previous batch). */
  add(chunks: number, ms: number, at = Date.now()): void {
    this.samples.push({ at, chunks, ms });
    while (this.samples.length > 3 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  /** Chunks per second, or undefined before the first sample. */
  get rate(): number | undefined {
    let chunks = 0;
    let ms = 0;
    for (const s of this.samples) {
      chunks += s.chunks;
      ms += s.ms;
    }
    if (!chunks) return undefined;
    return (chunks * 1000) / Math.max(ms, 1);
  }

  /** Seconds to embed `remaining` chunks at the measured rate (undefined before a measurement). */
  eta(remaining: number): number | undefined {
    const r = this.rate;
    return r === undefined ? undefined : remaining / r;
  }
}

function folderOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/**
 * Files a question points at, for the `retrieved` tier: those of its results, then those of the next
 * best keyword candidates up to {@link QUESTION_FILES} files. Once their vectors exist, fusion can
 * lift any of those candidates into the results, so embedding only the results' own files would
 * leave the next answer partly keyword-ranked.
 */
export const QUESTION_FILES = 30;

export function questionFiles(hits: ReadonlyArray<{ path: string }>, candidates: ReadonlyArray<{ path: string }>, max = QUESTION_FILES): string[] {
  const out: string[] = [];
  for (const h of [...hits, ...candidates]) {
    if (out.length >= max) break;
    if (!out.includes(h.path)) out.push(h.path);
  }
  return out;
}

/** "42 s", "7 min", "1 h 05 min": a duration for a status line. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}
