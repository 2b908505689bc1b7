/**
 * What a shared index records about a checkout: the commit it reflects, whether the working tree
 * differed from it, and a repository name. Runs the local `git` (no network).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export interface CheckoutInfo {
  commit: string;
  /** Tracked changes or untracked (non-ignored) files: the index holds the working tree, not the commit. */
  dirty: boolean;
  /** `origin`'s URL without credentials, when there is one. */
  remote?: string;
}

function git(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', dir, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(new Error(err.message)) : resolve(stdout)));
  });
}

/** The checkout at `dir`, or undefined when it is not a git work tree (or git is missing). */
export async function checkoutInfo(dir: string): Promise<CheckoutInfo | undefined> {
  let commit: string;
  try {
    commit = (await git(dir, ['rev-parse', '--verify', 'HEAD'])).trim();
  } catch {
    return undefined;
  }
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=normal']).catch(() => '');
  const remote = await git(dir, ['remote', 'get-url', 'origin']).then(
    (s) => withoutCredentials(s.trim()) || undefined,
    () => undefined,
  );
  return { commit, dirty: status.trim().length > 0, remote };
}

/** A URL with any `user:password@` removed (remotes may carry tokens). */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/**
 * The repository name a shared index files a checkout under: `host/owner/name` from its remote
 * (`https://github.com/o/n.git` and `git@github.com:o/n.git` both give `github.com/o/n`), else the
 * folder name.
 */
export function repositoryName(dir: string, remote?: string): string {
  if (remote) {
    const scp = /^[^@/]+@([^:/]+):(.+)$/.exec(remote);
    const url = scp ? `${scp[1]}/${scp[2]}` : withoutCredentials(remote).replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    const name = url.replace(/\.git$/, '').replace(/\/+$/, '');
    if (name) return name;
  }
  return path.basename(path.resolve(dir));
}

/** What differs in a checkout from one commit, as paths relative to the work tree's top. */
export interface WorkingTreeChanges {
  /** Tracked paths whose content differs from the commit (changed, added, deleted; renames as both paths). */
  changed: string[];
  /** Untracked files that are not ignored. */
  untracked: string[];
}

/** Thrown when the checkout cannot be compared with a commit (not fetched, not a git work tree). */
export class CommitUnknownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitUnknownError';
  }
}

/**
 * The files of the working tree at `dir` (its top folder) that differ from `commit`: staged and
 * unstaged changes against it (`git diff --name-only --no-renames <commit>`, so a rename lists the
 * old path too), plus untracked files that git does not ignore.
 */
export async function changedSince(dir: string, commit: string): Promise<WorkingTreeChanges> {
  if (!/^[0-9a-f]{7,64}$/i.test(commit)) throw new CommitUnknownError(`"${commit}" is not a commit id`);
  try {
    await git(dir, ['cat-file', '-e', `${commit}^{commit}`]);
  } catch {
    throw new CommitUnknownError(`commit ${commit.slice(0, 12)} is not in the checkout at ${dir}; run \`git fetch\` so the working tree can be compared with the team index`);
  }
  const split = (s: string) => s.split('\0').filter(Boolean);
  const changed = split(await git(dir, ['-c', 'core.quotepath=off', 'diff', '--name-only', '--no-renames', '-z', commit, '--']));
  const untracked = split(await git(dir, ['ls-files', '--others', '--exclude-standard', '-z']));
  return { changed, untracked };
}

/** The top folder of the git work tree containing `dir`, or undefined. */
export async function workTreeTop(dir: string): Promise<string | undefined> {
  try {
    return (await git(dir, ['rev-parse', '--show-toplevel'])).trim() || undefined;
  } catch {
    return undefined;
  }
}
