/**
 * How the team index's overlay should score local changes (docs/scale.md, "Overlay"): a real
 * repository is committed, indexed and published to a PGlite server (separate process, loopback
 * socket); then files are changed, deleted and added (seeded), and each query is answered
 *   - by the full local index of the changed working tree (the reference),
 *   - merged: the snapshot's own BM25 statistics edited in place (overlayIndex.ts, what ships),
 *   - separate: the snapshot without the changed paths and an index of only the changed files,
 *     each with its own statistics, file lists fused by reciprocal rank (k = 60).
 * Prints, per variant, the share of queries whose top-10 files equal the reference's (as a set and
 * in order) and the mean Jaccard overlap. Keywords only (no embedder): the question is BM25's.
 *
 *   node scripts/runTs.mjs scripts/benchOverlay.ts --repo DIR [--changed N] [--deleted N] [--added N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { makeQueries } from '../src/cli/bench';
import { CHUNKER_VERSION } from '../src/core/chunker/chunker';
import { LEXICAL_VERSION } from '../src/core/lexicalIndex';
import { OverlayIndex } from '../src/core/overlayIndex';
import { seededRandom } from '../src/core/random.mjs';
import { search } from '../src/core/retrieval';
import { TeamOverlay } from '../src/core/teamOverlay';
import { rootsFromDirs, SCHEMA_VERSION, WorkspaceIndex } from '../src/core/workspaceIndex';
import { PostgresStore } from '../src/providers/postgresStore';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const repo = arg('--repo');
if (!repo) throw new Error('--repo DIR (a checkout, e.g. one under /tmp/groundwork-bench) is required');
const nChanged = Number(arg('--changed', '20'));
const nDeleted = Number(arg('--deleted', '5'));
const nAdded = Number(arg('--added', '5'));
const expected = { schema: SCHEMA_VERSION, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars: 800 };

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(process.cwd(), 'scripts', 'pgliteServer.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve(l.trim()));
    child.once('exit', (code) => reject(new Error(`the PGlite server exited (${code})`)));
  });
  return { url, stop: () => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))) };
}

const top10 = (paths: string[]) => [...new Set(paths)].slice(0, 10);

async function main(): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'gw-benchoverlay-'));
  const server = await startServer();
  try {
    const ws = path.join(tmp, 'ws');
    execFileSync('tar', ['-C', repo!, '--exclude=.git', '-cf', path.join(tmp, 'src.tar'), '.']);
    await fsp.mkdir(ws);
    execFileSync('tar', ['-C', ws, '-xf', path.join(tmp, 'src.tar')]);
    git(ws, 'init', '-q');
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'base');
    const commit = git(ws, 'rev-parse', 'HEAD');
    const ci = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'ci') });
    await ci.update();
    const store = await PostgresStore.connect(server.url);
    await store.publish(await ci.snapshotSource(), { repository: 'bench/overlay', commit, dirty: false });
    const paths = ci.indexedPaths().sort();
    await ci.close();

    // Seeded changes: append another file's text to N files, delete D, add A new ones.
    const rand = seededRandom(7);
    const pick = () => paths[Math.floor(rand() * paths.length)]!;
    const touched = new Set<string>();
    const take = () => {
      for (;;) {
        const p = pick();
        if (!touched.has(p)) return (touched.add(p), p);
      }
    };
    for (let i = 0; i < nChanged; i++) {
      const p = take();
      await fsp.appendFile(path.join(ws, p), `\n${await fsp.readFile(path.join(ws, pick()), 'utf8')}`);
    }
    const deleted = new Set<string>();
    for (let i = 0; i < nDeleted; i++) {
      const p = take();
      deleted.add(p);
      await fsp.rm(path.join(ws, p));
    }
    const existing = () => {
      for (;;) {
        const p = pick();
        if (!deleted.has(p)) return p;
      }
    };
    const added: string[] = [];
    for (let i = 0; i < nAdded; i++) {
      const from = existing();
      const to = from.replace(/(\.[^./]+)?$/, `_added${i}$1`);
      await fsp.copyFile(path.join(ws, from), path.join(ws, to));
      added.push(to);
    }

    const reference = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'ref') });
    await reference.update();
    const team = await TeamOverlay.open(store, { repository: 'bench/overlay', roots: rootsFromDirs([ws]), expected });
    const changedPaths = team.index.overlayPaths();

    // "Separate": the snapshot minus the changed paths, and an index of only the changed files.
    const minus = new OverlayIndex(await store.open({ repository: 'bench/overlay' }, { roots: rootsFromDirs([ws]), expected }));
    minus.setOverlay(changedPaths.map((p) => ({ path: p, entry: null })));
    const only = path.join(tmp, 'only');
    for (const p of changedPaths) {
      const src = path.join(ws, p);
      if (!(await fsp.stat(src).catch(() => undefined))) continue;
      await fsp.mkdir(path.dirname(path.join(only, p)), { recursive: true });
      await fsp.copyFile(src, path.join(only, p));
    }
    const localOnly = await WorkspaceIndex.open({ roots: rootsFromDirs([only]), indexDir: path.join(tmp, 'only-ix') });
    await localOnly.update();

    // Queries: the benchmark's generator over the working tree, plus 50 about the changed files.
    const queries = makeQueries(reference).slice(0, 200);
    for (const p of changedPaths.slice(0, 50)) {
      const f = reference.getFile(p);
      const c = f?.chunks[Math.floor(rand() * f.chunks.length)];
      if (c)
        queries.push(
          c.symbols[0] ??
            c.text
              .split(/\s+/)
              .filter((w) => /^[A-Za-z]{4,}$/.test(w))
              .slice(0, 6)
              .join(' '),
        );
    }
    const score = { merged: { set: 0, order: 0, jaccard: 0 }, separate: { set: 0, order: 0, jaccard: 0 } };
    const compare = (name: keyof typeof score, got: string[], want: string[]) => {
      const g = new Set(got);
      const inter = want.filter((p) => g.has(p)).length;
      const union = new Set([...got, ...want]).size;
      score[name].jaccard += union ? inter / union : 1;
      if (inter === want.length && got.length === want.length) score[name].set++;
      if (got.join('\n') === want.join('\n')) score[name].order++;
    };
    for (const q of queries) {
      const want = top10((await search(reference, q, { mode: 'lexical' })).map((h) => h.path));
      compare('merged', top10((await search(team.index, q, { mode: 'lexical' })).map((h) => h.path)), want);
      const a = top10((await search(minus, q, { mode: 'lexical' })).map((h) => h.path));
      const b = top10((await search(localOnly, q, { mode: 'lexical' })).map((h) => h.path));
      const rrf = new Map<string, number>();
      a.forEach((p, i) => rrf.set(p, (rrf.get(p) ?? 0) + 1 / (61 + i)));
      b.forEach((p, i) => rrf.set(p, (rrf.get(p) ?? 0) + 1 / (61 + i)));
      compare(
        'separate',
        [...rrf.entries()]
          .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
          .slice(0, 10)
          .map((x) => x[0]),
        want,
      );
    }
    const n = queries.length;
    const pct = (x: number) => `${((100 * x) / n).toFixed(1)}%`;
    process.stdout.write(
      `${JSON.stringify(
        {
          repo,
          files: paths.length,
          overlay: { changed: nChanged, deleted: nDeleted, added: added.length, overlayPaths: changedPaths.length },
          queries: n,
          merged: { sameTop10Set: pct(score.merged.set), sameTop10Order: pct(score.merged.order), meanJaccard: +(score.merged.jaccard / n).toFixed(3) },
          separateRrf: { sameTop10Set: pct(score.separate.set), sameTop10Order: pct(score.separate.order), meanJaccard: +(score.separate.jaccard / n).toFixed(3) },
        },
        null,
        2,
      )}\n`,
    );
    await localOnly.close();
    await reference.close();
    await team.close();
    await store.close();
  } finally {
    await server.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`benchOverlay: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
