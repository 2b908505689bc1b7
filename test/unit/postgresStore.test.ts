/**
 * The shared index on a real PostgreSQL: PGlite (PostgreSQL 18 in WebAssembly) with pgvector,
 * served over the wire protocol on a free loopback port by pglite-socket, and reached only through
 * `pg`, exactly as a production server would be. The server always stops (after()).
 *
 * What PGlite cannot show: it accepts any user and any password (no authentication), and it runs
 * one backend, so transactions of different connections are serialised rather than concurrent.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { checkoutInfo, repositoryName } from '../../src/core/gitInfo';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { rootsFromDirs, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { ConfigError } from '../../src/providers/config';
import { parsePgConnection } from '../../src/providers/pgConnection';
import { StoreUnavailableError } from '../../src/core/indexStore';
import { PG_SCHEMA_VERSION, PostgresStore, type PostgresStoreOptions } from '../../src/providers/postgresStore';
import { CHUNKER_VERSION } from '../../src/core/chunker/chunker';
import { LEXICAL_VERSION } from '../../src/core/lexicalIndex';
import { brief, git, ROLES_FIXTURE as FIXTURE, servePglite, STORE_QUERIES as QUERIES } from '../pgliteTestKit';

describe('PostgreSQL shared index (PGlite over the wire protocol)', function () {
  this.timeout(120_000);
  let db: PGlite;
  let server: PGLiteSocketServer;
  let port = 0;
  let url = '';
  let tmp = '';
  let ws = '';
  const stores: PostgresStore[] = [];
  const embedder = new HashingTestEmbedder(64);
  const expected = { schema: 5, chunker: CHUNKER_VERSION, lexical: LEXICAL_VERSION, chunkChars: 800 };

  async function startServer(): Promise<void> {
    ({ server, port } = await servePglite(db, port));
  }

  async function newStore(opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const s = await PostgresStore.connect(url, opts);
    stores.push(s);
    return s;
  }

  async function localIndex(dir: string, indexDir: string): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([dir]), indexDir, embedder });
    await index.update();
    return index;
  }

  before(async () => {
    db = await PGlite.create({ extensions: { vector } });
    await startServer();
    url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-pg-'));
    ws = path.join(tmp, 'ws');
    cpSync(FIXTURE, ws, { recursive: true });
    git(ws, 'init', '-q');
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'first');
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('migrates step by step to the current schema, idempotently, and refuses a newer one', async () => {
    const first = await newStore({ migrateTo: 1 });
    assert.equal(await first.schemaVersion(), 0);
    assert.equal(await first.migrate(), 1);
    const current = await newStore();
    // A reader does not migrate: it says what to do.
    await assert.rejects(() => current.open({ repository: 'x' }), /schema 1, this Groundwork needs 2/);
    assert.equal(await current.migrate(), PG_SCHEMA_VERSION);
    assert.equal(await current.migrate(), PG_SCHEMA_VERSION);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT version FROM gw_schema ORDER BY version')).rows.map((r) => r.version);
      assert.deepEqual(rows, [1, 2]);
      await c.query(`INSERT INTO gw_schema (version, description) VALUES (99, 'from the future')`);
      try {
        await assert.rejects(() => (async () => (await newStore()).migrate())(), /newer than this Groundwork understands/);
      } finally {
        await c.query('DELETE FROM gw_schema WHERE version = 99');
      }
    } finally {
      await c.end();
    }
  });

  it('ranks exactly like the local index it was published from, with vectors through HNSW', async () => {
    const store = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-a'));
    try {
      const co = await checkoutInfo(ws);
      assert.ok(co && /^[0-9a-f]{40}$/.test(co.commit) && !co.dirty);
      const info = await store.publish(index.snapshotSource(), { repository: 'acme/limiter', commit: co.commit, dirty: co.dirty });
      assert.equal(info.state, 'ready');
      assert.equal(info.commit, co.commit);
      assert.equal(info.files, index.fileCount);
      assert.equal(info.chunks, index.chunkCount);
      assert.equal(info.vectors, index.chunkCount);
      const stored = await store.open({ repository: 'acme/limiter' }, { embedder, roots: index.roots, expected });
      assert.equal(stored.fileCount, index.fileCount);
      assert.ok(stored.vectors && stored.vectors.count === index.chunkCount);
      for (const q of QUERIES) {
        const lexLocal = await search(index, q, { mode: 'lexical' });
        const lexStored = await search(stored, q, { mode: 'lexical' });
        assert.ok(lexLocal.length > 0, q);
        assert.deepEqual(brief(lexStored), brief(lexLocal), q);
        assert.deepEqual(
          lexStored.map((h) => h.score),
          lexLocal.map((h) => h.score),
          q,
        );
        assert.deepEqual(
          lexStored.map((h) => h.text),
          lexLocal.map((h) => h.text),
          q,
        );
        const hybLocal = await search(index, q);
        const hybStored = await search(stored, q);
        assert.ok(
          hybStored.some((h) => h.retrievers.includes('vector')),
          q,
        );
        assert.deepEqual(brief(hybStored), brief(hybLocal), q);
      }
      // The checkout maps paths back to files for citations.
      assert.equal(stored.absolutePath(index.indexedPaths()[0]!), index.absolutePath(index.indexedPaths()[0]!));
      // A reader of another version refuses rather than rank with other statistics.
      await assert.rejects(() => store.open({ repository: 'acme/limiter' }, { expected: { ...expected, lexical: expected.lexical + 1 } }), /another Groundwork version/);
      // Another embedder: keywords only, never vectors of two models.
      const other = await store.open({ repository: 'acme/limiter' }, { embedder: new HashingTestEmbedder(32), expected });
      assert.equal(other.vectors, undefined);
    } finally {
      await index.close();
    }
  });

  it('holds several repositories and commits; a reader during an update keeps the previous snapshot', async () => {
    const store = await newStore();
    const reader = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-b'));
    try {
      const c1 = git(ws, 'rev-parse', 'HEAD');
      await store.publish(index.snapshotSource(), { repository: 'acme/limiter', commit: c1, dirty: false });
      await store.publish(index.snapshotSource(), { repository: 'acme/other', commit: c1, dirty: false });
      writeFileSync(path.join(ws, 'src', 'zebraHorizon.ts'), 'export function zebraHorizonCrossing(stripes: number) {\n  return stripes * 2;\n}\n');
      git(ws, 'add', '-A');
      git(ws, 'commit', '-qm', 'second');
      const c2 = git(ws, 'rev-parse', 'HEAD');
      await index.update();
      let seenDuring: string | undefined;
      let buildingDuring = 0;
      await store.publish(
        index.snapshotSource(),
        { repository: 'acme/limiter', commit: c2, dirty: false },
        {
          onProgress: async (p) => {
            if (p.phase !== 'files' || seenDuring) return;
            // The writer waits here, its first batch committed: a reader sees the previous snapshot.
            const during = await reader.open({ repository: 'acme/limiter' }, { expected });
            seenDuring = during.snapshot.commit;
            buildingDuring = (await reader.snapshots('acme/limiter')).filter((s) => s.state === 'building').length;
          },
        },
      );
      assert.equal(seenDuring, c1);
      assert.equal(buildingDuring, 1);
      const newest = await reader.open({ repository: 'acme/limiter' }, { expected });
      const old = await reader.open({ repository: 'acme/limiter', commit: c1.slice(0, 10) }, { expected });
      assert.equal(newest.snapshot.commit, c2);
      assert.equal(old.snapshot.commit, c1);
      assert.equal((await search(newest, 'zebraHorizonCrossing'))[0]?.path, 'src/zebraHorizon.ts');
      assert.ok(!(await search(old, 'zebraHorizonCrossing')).some((h) => h.path === 'src/zebraHorizon.ts'));
      const status = await reader.status();
      assert.deepEqual(
        status.snapshots
          .filter((s) => s.state === 'ready')
          .map((s) => `${s.repository}@${s.commit === c1 ? 'c1' : s.commit === c2 ? 'c2' : s.commit}`)
          .sort(),
        ['acme/limiter@c1', 'acme/limiter@c2', 'acme/other@c1'],
      );
      assert.ok(status.sizeBytes > 0);
      assert.match(status.serverVersion, /PostgreSQL/);
    } finally {
      await index.close();
    }
  });

  it('two writers of the same commit leave one complete snapshot; an interrupted one leaves none', async () => {
    const a = await newStore();
    const b = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-c'));
    try {
      const commit = git(ws, 'rev-parse', 'HEAD');
      const [ra, rb] = await Promise.all([
        a.publish(index.snapshotSource(), { repository: 'acme/twice', commit, dirty: false }),
        b.publish(index.snapshotSource(), { repository: 'acme/twice', commit, dirty: false }),
      ]);
      assert.notEqual(ra.id, rb.id);
      const snaps = await a.snapshots('acme/twice');
      assert.equal(snaps.length, 1);
      assert.equal(snaps[0]!.state, 'ready');
      const opened = await a.open({ repository: 'acme/twice' }, { expected });
      assert.equal(opened.fileCount, index.fileCount);

      const abort = new AbortController();
      await assert.rejects(() =>
        a.publish(
          index.snapshotSource(),
          { repository: 'acme/twice', commit: 'f'.repeat(40), dirty: false },
          {
            signal: abort.signal,
            onProgress: () => abort.abort(new Error('stop')),
          },
        ),
      );
      assert.deepEqual(
        (await a.snapshots('acme/twice')).map((s) => s.id),
        [snaps[0]!.id],
      );
    } finally {
      await index.close();
    }
  });

  it('a dropped connection fails with a clear error, and the store works again after the server restarts', async () => {
    const store = await newStore();
    await store.status();
    await server.stop();
    await assert.rejects(
      () => store.status(),
      (err: unknown) => err instanceof StoreUnavailableError && /unavailable/.test(err.message),
    );
    await startServer();
    const st = await store.status();
    assert.equal(st.schemaVersion, PG_SCHEMA_VERSION);
  });

  it('never takes a password from the command line; reads it from a file or a variable', async () => {
    await assert.rejects(
      () => parsePgConnection('postgres://ci:hunter2@db/gw'),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'),
    );
    await assert.rejects(() => parsePgConnection('mysql://db/gw'), ConfigError);
    await assert.rejects(() => parsePgConnection('postgres://ci@db/gw?passwordEnv=GW_NO_SUCH_VAR', {}), /GW_NO_SUCH_VAR/);
    const env = await parsePgConnection('postgres://ci@db:5433/gw?passwordEnv=GW_PW&sslmode=verify-full&sslrootcert=/etc/ca.pem', { GW_PW: 's3cret' });
    assert.equal(env.password, 's3cret');
    assert.equal(env.location, 'postgres://ci@db:5433/gw');
    assert.match(env.connectionString, /sslmode=verify-full/);
    assert.match(env.connectionString, /sslrootcert=/);
    assert.doesNotMatch(env.connectionString, /passwordEnv|s3cret/);
    const file = path.join(tmp, 'pw');
    writeFileSync(file, 'from-file\n');
    chmodSync(file, 0o644);
    await assert.rejects(() => parsePgConnection(`postgres://ci@db/gw?passwordFile=${file}`), /readable by others/);
    chmodSync(file, 0o600);
    assert.equal((await parsePgConnection(`postgres://ci@db/gw?passwordFile=${file}`)).password, 'from-file');
    // PGlite does not authenticate, so a wrong password cannot be shown to fail here; the password
    // from the file does reach a real connection.
    const store = await PostgresStore.connect(`postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable&passwordFile=${file}`);
    stores.push(store);
    assert.equal((await store.status()).schemaVersion, PG_SCHEMA_VERSION);
  });

  it('names repositories from their remote without credentials', () => {
    assert.equal(repositoryName('/x/y', 'https://tok:x-oauth@github.com/acme/limiter.git'), 'github.com/acme/limiter');
    assert.equal(repositoryName('/x/y', 'git@github.com:acme/limiter.git'), 'github.com/acme/limiter');
    assert.equal(repositoryName('/x/limiter'), 'limiter');
  });
});
