/**
 * What the PostgreSQL store tests share: the fixture repository and its queries, a git helper that
 * commits as a fixed author, a hit list reduced to places, and a PGlite wire-protocol server on a
 * loopback port (the tests talk to it only through `pg`, as to a production server).
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import * as path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { SearchHit } from '../src/core/retrieval';
import { repoRoot } from './repoRoot';

/** The real-looking repository (source, tests, docs, templates, changelog) the store tests publish. */
export const ROLES_FIXTURE = path.join(repoRoot(), 'test', 'fixtures', 'roles-workspace');

/** Questions whose rankings the store tests compare between stores. */
export const STORE_QUERIES: readonly string[] = [
  'rate limiter refill tokens after the clock moves back',
  'where is the Retry-After header computed?',
  'how do I configure the capacity?',
  'release script changelog',
  'RateLimiter check client',
];

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
}

/** Copies `fixture` to `dir` and commits it there as one git checkout; returns the commit. */
export function fixtureCheckout(fixture: string, dir: string): string {
  cpSync(fixture, dir, { recursive: true });
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'first');
  return git(dir, 'rev-parse', 'HEAD');
}

/** A hit list as `path:start-end` places, for comparing rankings. */
export const brief = (hits: SearchHit[]): string[] => hits.map((h) => `${h.path}:${h.startLine}-${h.endLine}`);

/** Serves `db` over the PostgreSQL wire protocol on 127.0.0.1 (`port` 0: a free one); returns the server and its port. */
export async function servePglite(db: PGlite, port: number): Promise<{ server: PGLiteSocketServer; port: number }> {
  const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 32 });
  await server.start();
  return { server, port: (server as unknown as { server: { address(): { port: number } } }).server.address().port };
}
