/**
 * Which index answers: the team index (a shared snapshot with the working tree overlaid) when it can
 * be reached, else the local index, with the reason, and a retry after {@link TeamRouterOptions.retryMs}.
 * Used by the extension's index worker; pure engine code (the connection is a function it is given).
 */
import { errMessage } from './errMessage';
import { SnapshotGoneError, StoreUnavailableError, type SearchableIndex } from './indexStore';
import { describeTeamState, type TeamOverlay, type TeamOverlayState } from './teamOverlay';
import type { Logger } from './types';
import { silentLogger } from './types';

/** An open team index and how to let go of it (the overlay and the store's connections). */
export interface TeamConnection {
  overlay: TeamOverlay;
  close(): Promise<void>;
  /**
   * The id of the repository's newest ready snapshot on the server, so that {@link TeamIndexRouter.refresh}
   * moves to a snapshot CI published after this one was opened. Absent: never checked.
   */
  newestSnapshot?(): Promise<number | undefined>;
}

export type TeamStatus =
  { state: 'off' } | { state: 'connecting' } | { state: 'ready'; team: TeamOverlayState; description: string } | { state: 'unavailable'; message: string; retryAt: number };

/** Which index answered one request. */
export interface AnsweredBy {
  kind: 'team' | 'local';
  /** e.g. "team index github.com/o/r@1a2b3c4 + 2 local files", or "local index (team index unavailable: …)". */
  description: string;
}

export interface TeamRouterOptions {
  /** Wait this long after a failure before trying the server again (default 60 s). */
  retryMs?: number;
  logger?: Logger;
  now?: () => number;
}

export const TEAM_RETRY_MS = 60_000;

export class TeamIndexRouter {
  private conn: TeamConnection | undefined;
  private connecting: Promise<void> | undefined;
  private failure: { message: string; retryAt: number } | undefined;
  private unsaved: ReadonlyMap<string, string> = new Map();
  private readonly retryMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private closed = false;
  /** Requests running on each connection, so one replaced by a newer snapshot closes only when they end. */
  private readonly inFlight = new Map<TeamConnection, number>();
  private readonly retired = new Set<TeamConnection>();
  /** A newer snapshot that could not be opened (not retried until a newer one appears). */
  private unopenable: number | undefined;

  constructor(
    private readonly connect: () => Promise<TeamConnection>,
    opts: TeamRouterOptions = {},
  ) {
    this.retryMs = opts.retryMs ?? TEAM_RETRY_MS;
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
  }

  status(): TeamStatus {
    if (this.conn) {
      const team = this.conn.overlay.state();
      return { state: 'ready', team, description: describeTeamState(team) };
    }
    if (this.connecting) return { state: 'connecting' };
    if (this.failure) return { state: 'unavailable', ...this.failure };
    return { state: 'off' };
  }

  /** Connects when not connected and no retry is pending; never throws (a failure is the status). */
  async ensure(force = false): Promise<TeamStatus> {
    if (this.closed) return this.status();
    if (this.conn) return this.status();
    if (!this.connecting && (force || !this.failure || this.now() >= this.failure.retryAt)) {
      this.connecting = (async () => {
        try {
          const conn = await this.connect();
          if (this.closed) {
            await conn.close();
            return;
          }
          this.conn = conn;
          this.failure = undefined;
          if (this.unsaved.size) await conn.overlay.refresh(this.unsaved);
          this.logger.info(`Searching the ${describeTeamState(conn.overlay.state())}.`);
        } catch (err) {
          this.fail(err);
        } finally {
          this.connecting = undefined;
        }
      })();
    }
    await this.connecting;
    return this.status();
  }

  private fail(err: unknown): void {
    const message = errMessage(err);
    this.failure = { message, retryAt: this.now() + this.retryMs };
    this.logger.warn(`The team index is unavailable, the local index answers (retry in ${Math.round(this.retryMs / 1000)} s): ${message}`);
  }

  /**
   * Drops a connection after a failure (the next {@link ensure} after the retry delay reconnects).
   * A connection already replaced by a newer snapshot's leaves the current one alone.
   */
  private async drop(err: unknown, conn = this.conn): Promise<void> {
    if (!conn) return;
    if (conn === this.conn) {
      this.conn = undefined;
      this.fail(err);
    }
    await this.release(conn, true);
  }

  /** Closes a connection now (`force`) or, when requests still run on it, after the last one. */
  private async release(conn: TeamConnection, force = false): Promise<void> {
    if (!force && (this.inFlight.get(conn) ?? 0) > 0) {
      this.retired.add(conn);
      return;
    }
    this.retired.delete(conn);
    await conn.close().catch(() => undefined);
  }

  /**
   * Moves to the repository's newest ready snapshot when CI has published one since this connection
   * was opened. If the newer one cannot be opened (e.g. its commit is not fetched here), the current
   * one keeps answering and the reason is logged.
   */
  private async followNewest(conn: TeamConnection): Promise<void> {
    const newest = await conn.newestSnapshot?.();
    if (newest === undefined || newest === conn.overlay.snapshot.id || newest === this.unopenable) return;
    let next: TeamConnection;
    try {
      next = await this.connect();
    } catch (err) {
      // Not tried again at every refresh: only when an even newer snapshot appears.
      this.unopenable = newest;
      this.logger.warn(`A newer team index snapshot is on the server, but it could not be opened; ${describeTeamState(conn.overlay.state())} keeps answering: ${errMessage(err)}`);
      return;
    }
    if (this.closed || this.conn !== conn) {
      await next.close().catch(() => undefined);
      return;
    }
    this.conn = next;
    if (this.unsaved.size) await next.overlay.refresh(this.unsaved);
    this.logger.info(`A newer team index snapshot is ready: searching the ${describeTeamState(next.overlay.state())}.`);
    await this.release(conn);
  }

  /**
   * Recomputes the overlay (after saves, file events, branch switches, editor changes), and moves to
   * a newer snapshot of the repository when the server has one.
   */
  async refresh(unsaved?: ReadonlyMap<string, string>): Promise<TeamStatus> {
    if (unsaved) this.unsaved = unsaved;
    await this.ensure();
    if (!this.conn) return this.status();
    try {
      await this.followNewest(this.conn);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      await this.drop(err);
      return this.status();
    }
    const conn = this.conn;
    if (!conn) return this.status();
    try {
      await conn.overlay.refresh(this.unsaved);
    } catch (err) {
      // The working tree cannot be compared with the snapshot (e.g. its commit is not fetched):
      // answers from it would not reflect the working tree.
      await this.drop(err);
    }
    return this.status();
  }

  /**
   * Runs `fn` on the team index when it is available, else on `local`. A connection failure during
   * `fn` (postings, texts and vectors are fetched from the server per search) falls back to `local`
   * for this request too; a snapshot gone from the server is reopened and `fn` run once more.
   */
  async use<T>(local: SearchableIndex | undefined, fn: (index: SearchableIndex) => Promise<T>): Promise<{ value: T; answeredBy: AnsweredBy }> {
    await this.ensure();
    // A snapshot removed or replaced on the server since it was opened: reopen (the repository's
    // current snapshot) at once and run the request there, once; any other failure falls back.
    for (let attempt = 0; this.conn && attempt < 2; attempt++) {
      const conn = this.conn;
      this.inFlight.set(conn, (this.inFlight.get(conn) ?? 0) + 1);
      try {
        const value = await fn(conn.overlay.index);
        return { value, answeredBy: { kind: 'team', description: describeTeamState(conn.overlay.state()) } };
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        await this.drop(err, conn);
        if (!(err instanceof SnapshotGoneError) || attempt > 0) break;
        this.logger.info('The team index snapshot changed on the server: reopening it.');
        await this.ensure(true);
      } finally {
        const left = (this.inFlight.get(conn) ?? 1) - 1;
        if (left > 0) this.inFlight.set(conn, left);
        else {
          this.inFlight.delete(conn);
          if (this.retired.has(conn)) await this.release(conn);
        }
      }
    }
    if (!local) throw new Error(`the team index is unavailable (${this.failure?.message ?? 'not connected'}) and there is no local index`);
    const why = this.failure ? ` (team index unavailable: ${this.failure.message})` : '';
    return { value: await fn(local), answeredBy: { kind: 'local', description: `local index${why}` } };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting;
    const conn = this.conn;
    this.conn = undefined;
    for (const old of [...this.retired]) await this.release(old, true);
    await conn?.close();
  }
}
