/**
 * Files the user is likely to ask about, from git, for the embedding order of a front end without
 * editors (the CLI): files modified in the working tree (and untracked ones), then files touched by
 * the most recent commits. Runs the local `git` (no network); a folder that is not a git work tree,
 * or a missing git, gives nothing.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { indexPathOf, type WorkspaceRoot } from './discovery';

/** Commits read for "recently committed" (default 200: a few weeks of a busy repository, ~30 ms). */
export const RECENT_COMMITS = 200;
/** At most this many paths per list. */
const MAX_PATHS = 1000;

function git(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 10_000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

export interface RecentFiles {
  /** Modified, staged or untracked files (index paths). */
  modified: string[];
  /** Files of the last {@link RECENT_COMMITS} commits, most recent first (index paths), without the modified ones. */
  committed: string[];
}

/** Recent files of every root, as index paths of `roots`. */
export async function recentGitFiles(roots: readonly WorkspaceRoot[], commits = RECENT_COMMITS): Promise<RecentFiles> {
  const modified: string[] = [];
  const committed: string[] = [];
  const seen = new Set<string>();
  const add = (list: string[], root: WorkspaceRoot, out: string) => {
    for (const line of out.split(/[\0\n]/)) {
      const rel = line.trim();
      if (!rel || list.length >= MAX_PATHS) continue;
      const p = indexPathOf(roots, path.join(root.dir, rel));
      if (p && !seen.has(p)) {
        seen.add(p);
        list.push(p);
      }
    }
  };
  for (const root of roots) {
    // --relative: paths relative to the root (a root may be a sub-folder of its repository).
    add(modified, root, await git(root.dir, ['diff', '-z', '--name-only', '--relative', 'HEAD']));
    add(modified, root, await git(root.dir, ['ls-files', '-z', '--others', '--exclude-standard']));
    add(committed, root, await git(root.dir, ['log', '-z', '--relative', '--name-only', '--no-merges', '--format=', '-n', String(commits)]));
  }
  return { modified, committed };
}
