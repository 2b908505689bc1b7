/**
 * `--store postgres://…`: the shared team index from the command line (index publishes a snapshot of
 * the checkout at its commit; search, eval and stats read snapshots). See src/core/indexStore.ts.
 */
import * as path from 'node:path';
import { CHUNKER_VERSION } from '../core/chunker/chunker';
import { checkoutInfo, repositoryName } from '../core/gitInfo';
import { IndexError } from '../core/indexError';
import type { PublishProgress, SnapshotInfo, SnapshotSource, StoredIndex } from '../core/indexStore';
import { LEXICAL_VERSION } from '../core/lexicalIndex';
import type { Embedder, Logger } from '../core/types';
import { SCHEMA_VERSION, type WorkspaceIndex } from '../core/workspaceIndex';
import type { WorkspaceRoot } from '../core/discovery';
import { PostgresStore } from '../providers/postgresStore';
import { formatBytes } from './output';

/** Opens the store named by `--store`; the caller closes it. */
export async function connectStore(url: string, logger: Logger): Promise<PostgresStore> {
  return PostgresStore.connect(url, { logger });
}

/** The versions this Groundwork builds and reads snapshots with. */
export function expectedVersions(chunkChars: number): SnapshotSource['versions'] {
  return { schema: SCHEMA_VERSION, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars };
}

/** The repository a checkout is filed under: `--repo`, else from its `origin` remote, else the folder name. */
export async function repositoryOf(dir: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const co = await checkoutInfo(dir);
  return repositoryName(dir, co?.remote);
}

/** Publishes an up-to-date local index of one checkout as the snapshot of its commit. */
export async function publishCheckout(
  store: PostgresStore,
  index: WorkspaceIndex,
  opts: { repository?: string; commit?: string; logger: Logger; signal?: AbortSignal; allowNoGit?: boolean },
): Promise<SnapshotInfo> {
  if (index.roots.length !== 1) throw new IndexError('--store takes exactly one --workspace (one repository checkout)');
  const dir = index.roots[0]!.dir;
  const co = await checkoutInfo(dir);
  if (!co && !opts.allowNoGit) throw new IndexError(`${dir} is not a git checkout: a shared snapshot records the commit it reflects`);
  const commit = opts.commit ?? co?.commit ?? 'working-tree';
  const dirty = co ? co.dirty : true;
  const repository = opts.repository ?? repositoryName(dir, co?.remote);
  if (co?.dirty) opts.logger.warn(`The working tree of ${dir} has uncommitted or untracked changes: the snapshot holds them and is marked dirty (commit ${commit.slice(0, 12)}).`);
  const started = Date.now();
  let lastPhase = '';
  const info = await store.publish(
    await index.snapshotSource(),
    { repository, commit, dirty },
    {
      signal: opts.signal,
      onProgress: (p: PublishProgress) => {
        if (p.phase !== lastPhase) opts.logger.debug?.(`publish: ${p.phase}`);
        lastPhase = p.phase;
      },
    },
  );
  opts.logger.info(
    `Published ${repository}@${commit.slice(0, 12)}${dirty ? ' (dirty)' : ''} to ${store.location}: ${info.files} files, ${info.chunks} chunks, ${info.vectors} vectors in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return info;
}

/** Opens the snapshot `search`/`eval` read: `--repo` (or the checkout's), at `--commit` or the newest. */
export async function openStored(
  store: PostgresStore,
  opts: { repository: string; commit?: string; embedder?: Embedder; roots: readonly WorkspaceRoot[]; chunkChars: number },
): Promise<StoredIndex> {
  return store.open({ repository: opts.repository, commit: opts.commit }, { embedder: opts.embedder, roots: opts.roots, expected: expectedVersions(opts.chunkChars) });
}

/** `groundwork stats --store`: the store, its schema and its snapshots. */
export async function printStoreStats(store: PostgresStore, repository: string | undefined, json: boolean): Promise<void> {
  const st = await store.status(repository);
  if (json) {
    process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
    return;
  }
  const lines = [
    `Store:     ${st.location} (${formatBytes(st.sizeBytes)} in Groundwork tables)`,
    `Server:    ${st.serverVersion.split(' on ')[0]}`,
    `Schema:    ${st.schemaVersion}`,
    `Snapshots: ${st.snapshots.length}${repository ? ` of ${repository}` : ''}`,
  ];
  for (const s of st.snapshots) {
    lines.push(
      `  ${s.repository}@${s.commit.slice(0, 12)}${s.dirty ? ' (dirty)' : ''}  ${s.state}  ${s.files} files, ${s.chunks} chunks, ${s.vectors ? `${s.vectors} vectors (${s.embedder}, ${s.dimensions}-d)` : 'no vectors'}  ${s.readyAt ?? s.createdAt}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function workspaceName(dir: string): string {
  return path.basename(path.resolve(dir));
}
