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
