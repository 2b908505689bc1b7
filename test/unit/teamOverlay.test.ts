/**
 * The team index with the working tree overlaid (src/core/overlayIndex.ts, teamOverlay.ts,
 * teamRouter.ts) against a real PostgreSQL: PGlite (PostgreSQL 18 + pgvector in WebAssembly) served
 * over the wire protocol on a free loopback port, reached only through `pg`. Real git checkouts,
 * real chunker, the deterministic test embedder for vectors. The servers always stop (after()).
 *
 * What PGlite cannot show: it ignores the login user and the password (no authentication) and runs
 * one backend whose session state every connection shares. So wrong credentials are shown against a
 * stand-in server that speaks the PostgreSQL wire protocol and rejects the password exactly as a
 * real server does (ErrorResponse 28P01), and the read-only role is shown with SET ROLE (which, on
 * PGlite's shared session, applies to the store's connections too) instead of a login as that role.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { CHUNKER_VERSION } from '../../src/core/chunker/chunker';
import { LEXICAL_VERSION } from '../../src/core/lexicalIndex';
import { search } from '../../src/core/retrieval';
import { TeamOverlay } from '../../src/core/teamOverlay';
import { TeamIndexRouter, type TeamConnection } from '../../src/core/teamRouter';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { rootsFromDirs, SCHEMA_VERSION, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { PostgresStore } from '../../src/providers/postgresStore';
import { brief, fixtureCheckout, git, ROLES_FIXTURE as FIXTURE, servePglite, STORE_QUERIES } from '../pgliteTestKit';
import { repoRoot } from '../repoRoot';

const QUERIES = [...STORE_QUERIES, 'zebraQuokkaBackoff jitter', 'quotaWombatWindow sliding window'];

const expected = { schema: SCHEMA_VERSION, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars: 800 };

/** A TCP port with nothing listening on it (bound, then released). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A stand-in PostgreSQL server that asks for a cleartext password and rejects it with the
 * ErrorResponse a real server sends (SQLSTATE 28P01), over the real wire protocol.
 */
async function rejectingServer(): Promise<{ port: number; close(): Promise<void> }> {
  const field = (code: string, value: string) => Buffer.concat([Buffer.from(code), Buffer.from(value), Buffer.from([0])]);
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0);
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let startup = true;
    sock.on('data', (data) => {
      if (startup) {
        startup = false;
        const auth = Buffer.alloc(4);
        auth.writeInt32BE(3); // AuthenticationCleartextPassword
        sock.write(message('R', auth));
        return;
      }
      if (data[0] === 'p'.charCodeAt(0)) {
        const body = Buffer.concat([
          field('S', 'FATAL'),
          field('V', 'FATAL'),
          field('C', '28P01'),
          field('M', 'password authentication failed for user "reader"'),
          Buffer.from([0]),
        ]);
        sock.end(message('E', body));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('team index with the working tree overlaid (PGlite over the wire protocol)', function () {
  this.timeout(180_000);
  let db: PGlite;
  let server: PGLiteSocketServer;
  let port = 0;
  let url = '';
  let tmp = '';
  let ws = '';
  let commit = '';
  const embedder = new HashingTestEmbedder(64);
  const closers: Array<() => Promise<void>> = [];

  async function startServer(): Promise<void> {
    ({ server, port } = await servePglite(db, port));
  }

  async function reader(u = url, opts: { password?: string } = {}): Promise<PostgresStore> {
    const s = await PostgresStore.connect(u, { readOnly: true, connectTimeoutMs: 5000, ...opts });
    closers.push(() => s.close());
    return s;
  }

  async function openTeam(store: PostgresStore): Promise<TeamOverlay> {
    const t = await TeamOverlay.open(store, { repository: 'acme/limiter', roots: rootsFromDirs([ws]), embedder, expected });
    closers.push(() => t.close());
    return t;
  }

  /** The working tree indexed from scratch, locally: what the overlay must answer like. */
  async function fullLocal(name: string): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, name), embedder });
    await index.update();
    closers.push(() => index.close());
    return index;
  }

  function restoreWorkingTree(): void {
    git(ws, 'checkout', '-q', '--', '.');
    git(ws, 'clean', '-qfd');
  }

  before(async () => {
    db = await PGlite.create({ extensions: { vector } });
    await startServer();
    url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-team-'));
    ws = path.join(tmp, 'ws');
    commit = fixtureCheckout(FIXTURE, ws);
    // CI's job: index the checkout at its commit and publish it (a writer, not read-only).
    const writer = await PostgresStore.connect(url);
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'ci-index'), embedder });
    try {
      await index.update();
      await writer.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit, dirty: false });
    } finally {
      await index.close();
      await writer.close();
    }
  });

  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    restoreWorkingTree();
  });

  after(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('finds a changed file’s new content and an untracked file, drops a deleted file’s hits, and ranks like a full local index of the working tree', async () => {
    appendFileSync(
      path.join(ws, 'src', 'retry.ts'),
      '\n/** Backoff with jitter for the zebra quokka client. */\nexport function zebraQuokkaBackoff(attempt: number): number {\n  return Math.min(30_000, 2 ** attempt * 100) * Math.random();\n}\n',
    );
    writeFileSync(
      path.join(ws, 'src', 'quota.ts'),
      'export class QuotaWindow {\n  /** quotaWombatWindow: a sliding window of requests per client. */\n  quotaWombatWindow(client: string): number {\n    return client.length;\n  }\n}\n',
    );
    const deleted = 'docs/rate-limiting.md';
    const deletedText = readFileSync(path.join(ws, deleted), 'utf8');
    unlinkSync(path.join(ws, deleted));

    const store = await reader();
    const team = await openTeam(store);
    const st = team.state();
    assert.equal(st.commit, commit);
    assert.equal(st.localFiles, 2);
    assert.equal(st.deletedFiles, 1);
    assert.deepEqual(team.index.overlayPaths().sort(), [deleted, 'src/quota.ts', 'src/retry.ts']);

    const changed = await search(team.index, 'zebraQuokkaBackoff');
    assert.equal(changed[0]?.path, 'src/retry.ts');
    assert.match(changed[0].text, /zebraQuokkaBackoff/);
    const untracked = await search(team.index, 'quotaWombatWindow');
    assert.equal(untracked[0]?.path, 'src/quota.ts');
    // The deleted file's words are still in the snapshot, but its hits are gone.
    const docWords = deletedText
      .split(/\s+/)
      .filter((w) => /^[A-Za-z]{6,}$/.test(w))
      .slice(0, 8)
      .join(' ');
    for (const mode of ['lexical', 'hybrid'] as const) {
      const hits = await search(team.index, docWords, { mode });
      assert.ok(!hits.some((h) => h.path === deleted), `${mode}: ${brief(hits).join(', ')}`);
    }
    assert.equal(team.index.getFile(deleted), undefined);
    assert.ok(!team.index.indexedPaths().includes(deleted));

    // The merged BM25 statistics are those of the working tree: the same hits and scores as
    // indexing the whole working tree locally.
    const local = await fullLocal('wt-1');
    for (const q of [...QUERIES, docWords]) {
      const a = await search(team.index, q, { mode: 'lexical' });
      const b = await search(local, q, { mode: 'lexical' });
      assert.deepEqual(brief(a), brief(b), q);
      assert.deepEqual(
        a.map((h) => h.score.toFixed(9)),
        b.map((h) => h.score.toFixed(9)),
        q,
      );
      const ha = await search(team.index, q);
      const hb = await search(local, q);
      assert.ok(
        ha.some((h) => h.retrievers.includes('vector')),
        q,
      );
      assert.deepEqual(brief(ha), brief(hb), q);
    }
  });

  it('takes unsaved editors, follows edits and reverts, and returns to the snapshot’s exact ranking when the tree is clean again', async () => {
    const store = await reader();
    const team = await openTeam(store);
    const plain = await store.open({ repository: 'acme/limiter' }, { embedder, roots: rootsFromDirs([ws]), expected });
    assert.equal(team.state().localFiles, 0);
    const routerFile = path.join(ws, 'src', 'router.ts');
    const unsaved = new Map([[routerFile, `${readFileSync(routerFile, 'utf8')}\nexport const unsavedPangolinRoute = '/pangolin';\n`]]);
    await team.refresh(unsaved);
    assert.equal((await search(team.index, 'unsavedPangolinRoute'))[0]?.path, 'src/router.ts');
    // A second edit of the same file replaces the first.
    unsaved.set(routerFile, `${readFileSync(routerFile, 'utf8')}\nexport const unsavedArmadilloRoute = '/armadillo';\n`);
    await team.refresh(unsaved);
    assert.equal((await search(team.index, 'unsavedArmadilloRoute'))[0]?.path, 'src/router.ts');
    assert.ok(!(await search(team.index, 'unsavedPangolinRoute', { mode: 'lexical' })).some((h) => /Pangolin/.test(h.text)));
    // Saved and committed-to-be: a file on disk that differs from the commit.
    appendFileSync(path.join(ws, 'src', 'retry.ts'), '\nexport const retryOkapiLimit = 7;\n');
    await team.refresh(new Map());
    assert.equal((await search(team.index, 'retryOkapiLimit'))[0]?.path, 'src/retry.ts');
    assert.ok(!(await search(team.index, 'unsavedArmadilloRoute', { mode: 'lexical' })).some((h) => /Armadillo/.test(h.text)));
    // Clean again: the overlay is empty and the ranking is the snapshot's, score for score.
    restoreWorkingTree();
    await team.refresh(new Map());
    assert.equal(team.index.overlayPaths().length, 0);
    for (const q of QUERIES) {
      const a = await search(team.index, q);
      const b = await search(plain, q);
      assert.deepEqual(brief(a), brief(b), q);
      assert.deepEqual(
        a.map((h) => h.score.toFixed(9)),
        b.map((h) => h.score.toFixed(9)),
        q,
      );
    }
  });

  it('groundwork ask --store answers from the team index with the checkout overlaid; citations verified against the checkout', async () => {
    appendFileSync(path.join(ws, 'src', 'retry.ts'), '\n/** The capybara retry budget: at most five attempts per minute. */\nexport const capybaraRetryBudget = 5;\n');
    const cli = path.join(repoRoot(), 'dist', 'cli.js');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [cli, 'ask', 'what is the capybaraRetryBudget?', '--store', url, '--repo', 'acme/limiter', '--workspace', ws, '--embedder', 'none', '--provider', 'extractive', '--json'],
        {
          env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', GROUNDWORK_CACHE_DIR: path.join(tmp, 'cli-cache') },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`team index acme/limiter@${commit.slice(0, 7)} \\+ 1 local file`));
    const result = JSON.parse(r.stdout) as { answer: string; sources: Array<{ path: string }>; citations: Array<{ path?: string; status: string }> };
    assert.equal(result.sources[0]?.path, 'src/retry.ts');
    // The excerpt comes from the working tree's version of the file, not the snapshot's.
    assert.match(result.answer, /capybara retry budget/);
    assert.ok(result.citations.length > 0);
    assert.ok(
      result.citations.every((c) => c.status === 'verified'),
      JSON.stringify(result.citations),
    );
    // Without a checkout to compare with, it says what is wrong rather than answer from a stale tree.
    const plain = path.join(tmp, 'not-git');
    rmSync(plain, { recursive: true, force: true });
    cpSync(FIXTURE, plain, { recursive: true });
    const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [cli, 'ask', 'capacity?', '--store', url, '--repo', 'acme/limiter', '--workspace', plain, '--embedder', 'none', '--provider', 'extractive'],
        {
          env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', GROUNDWORK_CACHE_DIR: path.join(tmp, 'cli-cache') },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not a git checkout/);
  });

  it('refuses a working tree whose snapshot commit is unknown, and a folder inside the checkout', async () => {
    const store = await reader();
    const sub = path.join(ws, 'src');
    await assert.rejects(() => TeamOverlay.open(store, { repository: 'acme/limiter', roots: rootsFromDirs([sub]), embedder, expected }), /top folder open/);
    const other = path.join(tmp, 'other');
    rmSync(other, { recursive: true, force: true });
    cpSync(FIXTURE, other, { recursive: true });
    git(other, 'init', '-q');
    git(other, 'add', '-A');
    git(other, 'commit', '-qm', 'unrelated history');
    await assert.rejects(
      () => TeamOverlay.open(store, { repository: 'acme/limiter', roots: rootsFromDirs([other]), embedder, expected }),
      /is not in the checkout .* run `git fetch`/,
    );
  });

  describe('falling back to the local index', () => {
    let clock = 0;
    const now = () => clock;

    /** A router as the extension builds one; `opened` collects the stores of its connections. */
    function routerFor(u: string, opts: { password?: string } = {}, opened: PostgresStore[] = []): TeamIndexRouter {
      const r = new TeamIndexRouter(
        async (): Promise<TeamConnection> => {
          const store = await PostgresStore.connect(u, { readOnly: true, connectTimeoutMs: 5000, ...opts });
          try {
            const overlay = await TeamOverlay.open(store, { repository: 'acme/limiter', roots: rootsFromDirs([ws]), embedder, expected });
            opened.push(store);
            return {
              overlay,
              close: async () => (await overlay.close(), await store.close()),
              newestSnapshot: async () => (await store.snapshots('acme/limiter')).find((s) => s.state === 'ready')?.id,
            };
          } catch (err) {
            await store.close();
            throw err;
          }
        },
        { retryMs: 60_000, now },
      );
      closers.push(() => r.close());
      return r;
    }

    it('an unreachable server: the local index answers, the reason is given, and no retry happens before its time', async () => {
      const local = await fullLocal('fallback-1');
      const r = routerFor(`postgres://reader@127.0.0.1:${await deadPort()}/gw?sslmode=disable`);
      const { value, answeredBy } = await r.use(local, (i) => search(i, 'RateLimiter check client'));
      assert.ok(value.length > 0);
      assert.equal(answeredBy.kind, 'local');
      assert.match(answeredBy.description, /team index unavailable: .*nothing is listening there/);
      const st = r.status();
      assert.equal(st.state, 'unavailable');
      assert.ok(st.state === 'unavailable' && st.retryAt === clock + 60_000);
      // Within the retry delay the router does not try again (the status stays the same failure).
      clock += 30_000;
      assert.equal((await r.ensure()).state, 'unavailable');
    });

    it('wrong credentials (stand-in server rejecting the password as PostgreSQL does): says so and falls back', async () => {
      const rejecting = await rejectingServer();
      closers.push(() => rejecting.close());
      const local = await fullLocal('fallback-2');
      const r = routerFor(`postgres://reader@127.0.0.1:${rejecting.port}/gw?sslmode=disable`, { password: 'not-the-password' });
      const { answeredBy } = await r.use(local, (i) => search(i, 'capacity'));
      assert.equal(answeredBy.kind, 'local');
      assert.match(answeredBy.description, /rejected the credentials/);
      assert.ok(!answeredBy.description.includes('not-the-password'));
    });

    it('the server restarts: the team index answers, the local one while it is down, the team one again after the retry', async () => {
      const local = await fullLocal('fallback-3');
      const r = routerFor(url);
      const first = await r.use(local, (i) => search(i, 'Retry-After header'));
      assert.equal(first.answeredBy.kind, 'team');
      assert.match(first.answeredBy.description, new RegExp(`team index acme/limiter@${commit.slice(0, 7)}`));
      await server.stop();
      try {
        // Hybrid search asks the server for vector neighbours: the failure falls back for this request.
        const during = await r.use(local, (i) => search(i, 'Retry-After header'));
        assert.equal(during.answeredBy.kind, 'local');
        assert.match(during.answeredBy.description, /unavailable/);
        assert.deepEqual(brief(during.value), brief(await search(local, 'Retry-After header')));
      } finally {
        await startServer();
      }
      clock += 60_001;
      const after = await r.use(local, (i) => search(i, 'Retry-After header'));
      assert.equal(after.answeredBy.kind, 'team');
      assert.deepEqual(brief(after.value), brief(first.value));
    });

    it('a connection dropped between open and a keyword search: the postings are on the server, so that request falls back too', async () => {
      const local = await fullLocal('fallback-4');
      const r = routerFor(url);
      assert.equal((await r.use(local, (i) => search(i, 'capacity', { mode: 'lexical' }))).answeredBy.kind, 'team');
      await server.stop();
      try {
        const during = await r.use(local, (i) => search(i, 'release script changelog', { mode: 'lexical' }));
        assert.equal(during.answeredBy.kind, 'local');
        assert.match(during.answeredBy.description, /team index unavailable: .*unavailable/);
        assert.deepEqual(brief(during.value), brief(await search(local, 'release script changelog', { mode: 'lexical' })));
      } finally {
        await startServer();
      }
    });

    it('the snapshot is replaced on the server after open: the router reopens it at once and the team index answers from the new one', async () => {
      const local = await fullLocal('fallback-5');
      const r = routerFor(url);
      const first = await r.use(local, (i) => search(i, 'RateLimiter check client'));
      assert.equal(first.answeredBy.kind, 'team');
      const before = r.status();
      assert.ok(before.state === 'ready');
      // CI publishes the same commit again: the opened snapshot's rows are deleted.
      const writer = await PostgresStore.connect(url);
      closers.push(() => writer.close());
      const index = await fullLocal('republish');
      const republished = await writer.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit, dirty: false });
      const after = await r.use(local, (i) => search(i, 'how do I configure the capacity?'));
      assert.equal(after.answeredBy.kind, 'team');
      assert.deepEqual(brief(after.value), brief(await search(local, 'how do I configure the capacity?')));
      const conn = (r as unknown as { conn?: TeamConnection }).conn;
      assert.equal(conn?.overlay.snapshot.id, republished.id);
    });

    it('CI publishes a newer commit while a reader is open: a refresh moves to it, and a newer one it cannot open leaves the current one answering', async () => {
      const local = await fullLocal('fallback-6');
      const opened: PostgresStore[] = [];
      const r = routerFor(url, {}, opened);
      const connOf = () => (r as unknown as { conn?: TeamConnection }).conn;
      assert.equal((await r.use(local, (i) => search(i, 'RateLimiter check client'))).answeredBy.kind, 'team');
      const first = connOf()!.overlay.snapshot;
      // Nothing newer: a refresh keeps the same connection.
      await r.refresh();
      assert.equal(connOf()!.overlay.snapshot.id, first.id);

      const writer = await PostgresStore.connect(url);
      closers.push(() => writer.close());
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      closers.push(() => admin.end());
      git(ws, 'commit', '--allow-empty', '-q', '-m', 'a newer commit, published by CI');
      const newer = git(ws, 'rev-parse', 'HEAD').trim();
      const published: number[] = [];
      try {
        const index = await fullLocal('newer-commit');
        const info = await writer.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit: newer, dirty: false });
        published.push(info.id);
        const st = await r.refresh();
        assert.ok(st.state === 'ready');
        assert.equal(connOf()!.overlay.snapshot.id, info.id);
        assert.equal(connOf()!.overlay.snapshot.commit, newer);
        assert.match(st.description, new RegExp(`@${newer.slice(0, 7)}`));
        const after = await r.use(local, (i) => search(i, 'how do I configure the capacity?'));
        assert.equal(after.answeredBy.kind, 'team');
        assert.deepEqual(brief(after.value), brief(await search(local, 'how do I configure the capacity?')));
        // The replaced connection was closed: its store refuses further work.
        await assert.rejects(() => opened[0]!.snapshots('acme/limiter'));

        // A snapshot of a commit this checkout does not have: it cannot be overlaid, the current one stays.
        const unknown = 'c0ffee'.padEnd(40, '0');
        const foreign = await writer.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit: unknown, dirty: false });
        published.push(foreign.id);
        const still = await r.refresh();
        assert.ok(still.state === 'ready');
        assert.equal(connOf()!.overlay.snapshot.id, info.id);
        assert.equal((await r.use(local, (i) => search(i, 'capacity'))).answeredBy.kind, 'team');
      } finally {
        // Later tests expect the fixture's commit to be the newest snapshot and HEAD.
        for (const id of published) await admin.query('DELETE FROM gw_snapshots WHERE id = $1', [id]);
        git(ws, 'reset', '-q', '--hard', 'HEAD~1');
      }
    });
  });

  it('a read-only role: the reader opens and searches, a publish is refused by the server; the read-only store refuses to write itself', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    closers.push(() => admin.end());
    // The grants docs/scale.md gives a team's reader role.
    await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gw_reader') THEN CREATE ROLE gw_reader NOLOGIN; END IF; END $$`);
    await admin.query('GRANT USAGE ON SCHEMA public TO gw_reader');
    await admin.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO gw_reader');
    await admin.query('SET ROLE gw_reader');
    try {
      assert.equal((await admin.query('SELECT current_user AS u')).rows[0].u, 'gw_reader');
      const store = await reader();
      const team = await openTeam(store);
      assert.ok((await search(team.index, 'RateLimiter check client')).length > 0);
      // A writer under that role: PostgreSQL refuses (the migration check's table creation, or the insert).
      const writer = await PostgresStore.connect(url);
      closers.push(() => writer.close());
      const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'ro-writer'), embedder });
      closers.push(() => index.close());
      await index.update();
      await assert.rejects(async () => writer.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit, dirty: false }), /permission denied/);
    } finally {
      await admin.query('RESET ROLE');
    }
    // Our own guard, whatever the role: a read-only store never writes.
    const ro = await reader();
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'ro-writer-2'), embedder });
    closers.push(() => index.close());
    await index.update();
    await assert.rejects(async () => ro.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit, dirty: false }), /read-only: it cannot migrate or publish/);
  });
});
