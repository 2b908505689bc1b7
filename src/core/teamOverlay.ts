/**
 * The team index as a front end uses it: a ready snapshot of one repository opened from a shared
 * store, with the local checkout's differences from the snapshot's commit laid over it
 * (overlayIndex.ts): `git diff <commit>` plus untracked files plus unsaved editors, indexed on this
 * machine by {@link OverlayBuilder}. Read-only towards the store: it opens snapshots, never writes.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Chunker } from './chunker/chunker';
import type { DiscoveryOptions, WorkspaceRoot } from './discovery';
import { changedSince, workTreeTop } from './gitInfo';
import { IndexError } from './indexError';
import type { SharedIndexStore, SnapshotInfo, SnapshotSource, StoredIndex } from './indexStore';
import { OverlayBuilder } from './overlayBuilder';
import { OverlayIndex } from './overlayIndex';
import type { Embedder, Logger } from './types';
import { silentLogger } from './types';

export interface TeamOverlayOptions {
  repository: string;
  /** Exactly one root: the repository's checkout (its work tree's top folder). */
  roots: readonly WorkspaceRoot[];
  embedder?: Embedder;
  /** Versions this Groundwork reads (a snapshot built with others is refused). */
  expected: SnapshotSource['versions'];
  discovery?: DiscoveryOptions;
  logger?: Logger;
}

/** What answered a search, for the status bar and the CLI. */
export interface TeamOverlayState {
  repository: string;
  commit: string;
  snapshotFiles: number;
  /** Files of the working tree indexed locally (changed, added, untracked, unsaved). */
  localFiles: number;
  /** Paths of the snapshot hidden because they are deleted (or no longer indexable) locally. */
  deletedFiles: number;
  vectors: boolean;
  /** Set when the overlay's chunks could not be embedded (they are found by keywords). */
  overlayVectorsError?: string;
}

export class TeamOverlay {
  private constructor(
    readonly stored: StoredIndex,
    readonly index: OverlayIndex,
    private readonly top: string,
    private readonly builder: OverlayBuilder,
    private readonly chunker: Chunker,
  ) {}

  get snapshot(): SnapshotInfo {
    return this.stored.snapshot;
  }

  /** Opens the newest ready snapshot of the repository and overlays the working tree. */
  static async open(store: SharedIndexStore, o: TeamOverlayOptions, signal?: AbortSignal): Promise<TeamOverlay> {
    if (o.roots.length !== 1) throw new IndexError('the team index needs a workspace of exactly one folder: the checkout of its repository');
    const root = o.roots[0]!;
    // The server first: whether the team index can be reached is what the user needs to know first.
    const stored = await store.open({ repository: o.repository }, { embedder: o.embedder, roots: o.roots, expected: o.expected });
    const top = await workTreeTop(root.dir);
    const problem = !top
      ? `${root.dir} is not a git checkout: the team index is compared with the working tree through git`
      : (await fsp.realpath(top)) !== (await fsp.realpath(root.dir))
        ? `the team index needs the checkout's top folder open (${top}), not a folder inside it (${root.dir})`
        : undefined;
    if (problem || !top) {
      await stored.close();
      throw new IndexError(problem ?? 'not a git checkout');
    }
    const chunker = new Chunker({ maxChars: o.expected.chunkChars });
    const builder = new OverlayBuilder({ roots: o.roots, chunker, options: o.discovery, embedder: stored.embedder, logger: o.logger ?? silentLogger });
    const t = new TeamOverlay(stored, new OverlayIndex(stored), top, builder, chunker);
    try {
      await t.refresh(new Map(), signal);
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** Recomputes the overlay from git and the given unsaved editors (absolute path → text). */
  async refresh(unsaved: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<TeamOverlayState> {
    const changes = await changedSince(this.top, this.snapshot.commit);
    const paths = [...changes.changed, ...changes.untracked].map((rel) => path.join(this.top, ...rel.split('/')));
    const files = await this.builder.build({ paths, unsaved }, signal);
    this.index.setOverlay(files);
    return this.state();
  }

  state(): TeamOverlayState {
    return {
      repository: this.snapshot.repository,
      commit: this.snapshot.commit,
      snapshotFiles: this.stored.fileCount,
      localFiles: this.index.localFileCount,
      deletedFiles: this.index.deletedCount,
      vectors: Boolean(this.index.vectors),
      overlayVectorsError: this.builder.vectorsError,
    };
  }

  async close(): Promise<void> {
    this.chunker.dispose();
    await this.stored.close();
  }
}

/** "team github.com/o/r@1a2b3c4 + 3 local files" — what answered. */
export function describeTeamState(s: TeamOverlayState): string {
  const local = s.localFiles + s.deletedFiles;
  return `team index ${s.repository}@${s.commit.slice(0, 7)}${local ? ` + ${s.localFiles} local file${s.localFiles === 1 ? '' : 's'}${s.deletedFiles ? ` (${s.deletedFiles} deleted)` : ''}` : ''}`;
}
