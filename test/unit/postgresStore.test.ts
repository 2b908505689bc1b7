/**
 * The shared index on a real PostgreSQL: PGlite (PostgreSQL 18 in WebAssembly) with pgvector,
 * served over the wire protocol on a free loopback port by pglite-socket, and reached only through
 * `pg`, exactly as a production server would be. The server always stops (after()).
 *
 * What PGlite cannot show: it accepts any user and any password (no authentication), and it runs
 * one backend, so transactions of different connections are serialised rather than concurrent.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { checkoutInfo, repositoryName } from '../../src/core/gitInfo';
import { localRetriever } from '../../src/core/answer';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { rootsFromDirs, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { ConfigError } from '../../src/providers/config';
import { parsePgConnection } from '../../src/providers/pgConnection';
import { SnapshotGoneError, StoreUnavailableError } from '../../src/core/indexStore';
import { PG_SCHEMA_VERSION, PostgresStore, type PostgresStoreOptions } from '../../src/providers/postgresStore';
import { CHUNKER_VERSION } from '../../src/core/chunker/chunker';
import { LEXICAL_VERSION } from '../../src/core/lexicalIndex';
import { brief, fixtureCheckout, git, ROLES_FIXTURE as FIXTURE, servePglite, STORE_QUERIES as QUERIES } from '../pgliteTestKit';

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
    fixtureCheckout(FIXTURE, ws);
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
    await assert.rejects(() => current.open({ repository: 'x' }), /schema 1, this Groundwork needs 4/);
    assert.equal(await current.migrate(), PG_SCHEMA_VERSION);
    assert.equal(await current.migrate(), PG_SCHEMA_VERSION);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT version FROM gw_schema ORDER BY version')).rows.map((r) => r.version);
      assert.deepEqual(rows, [1, 2, 3, 4]);
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
      const info = await store.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit: co.commit, dirty: co.dirty });
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
      await store.publish(await index.snapshotSource(), { repository: 'acme/limiter', commit: c1, dirty: false });
      await store.publish(await index.snapshotSource(), { repository: 'acme/other', commit: c1, dirty: false });
      writeFileSync(path.join(ws, 'src', 'zebraHorizon.ts'), 'export function zebraHorizonCrossing(stripes: number) {\n  return stripes * 2;\n}\n');
      git(ws, 'add', '-A');
      git(ws, 'commit', '-qm', 'second');
      const c2 = git(ws, 'rev-parse', 'HEAD');
      await index.update();
      let seenDuring: string | undefined;
      let buildingDuring = 0;
      await store.publish(
        await index.snapshotSource(),
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
        a.publish(await index.snapshotSource(), { repository: 'acme/twice', commit, dirty: false }),
        b.publish(await index.snapshotSource(), { repository: 'acme/twice', commit, dirty: false }),
      ]);
      assert.notEqual(ra.id, rb.id);
      const snaps = await a.snapshots('acme/twice');
      assert.equal(snaps.length, 1);
      assert.equal(snaps[0]!.state, 'ready');
      const opened = await a.open({ repository: 'acme/twice' }, { expected });
      assert.equal(opened.fileCount, index.fileCount);

      const abort = new AbortController();
      await assert.rejects(async () =>
        a.publish(
          await index.snapshotSource(),
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

  it('migration 3 converts a schema-2 database in place: its snapshot ranks exactly like the local index, its packed rows equal a fresh publish’s', async () => {
    // A database of its own, written by a store that stays at schema 2 (postings as int[]/real[], no document table).
    const oldDb = await PGlite.create({ extensions: { vector } });
    const served = await servePglite(oldDb, 0);
    const oldUrl = `postgres://postgres@127.0.0.1:${served.port}/postgres?sslmode=disable`;
    const index = await localIndex(ws, path.join(tmp, 'idx-mig'));
    const admin = new pg.Client({ connectionString: oldUrl });
    try {
      const v2 = await PostgresStore.connect(oldUrl, { migrateTo: 2 });
      stores.push(v2);
      const commit = git(ws, 'rev-parse', 'HEAD');
      const old = await v2.publish(await index.snapshotSource(), { repository: 'acme/old', commit, dirty: false });
      assert.equal(await v2.schemaVersion(), 2);
      const current = await PostgresStore.connect(oldUrl);
      stores.push(current);
      // A reader never migrates: it refuses and says what to do.
      await assert.rejects(
        () => current.open({ repository: 'acme/old' }, { expected }),
        /has schema 2, this Groundwork needs 4; run `groundwork index --store …` once to migrate it/,
      );
      assert.equal(await current.migrate(), PG_SCHEMA_VERSION);
      const stored = await current.open({ repository: 'acme/old' }, { embedder, roots: index.roots, expected });
      assert.equal(stored.snapshot.id, old.id);
      for (const q of QUERIES) {
        const local = await search(index, q, { mode: 'lexical' });
        const migrated = await search(stored, q, { mode: 'lexical' });
        assert.ok(local.length > 0, q);
        assert.deepEqual(brief(migrated), brief(local), q);
        assert.deepEqual(
          migrated.map((h) => [h.score, h.text, h.hash]),
          local.map((h) => [h.score, h.text, h.hash]),
          q,
        );
        assert.deepEqual(brief(await search(stored, q)), brief(await search(index, q)), q);
      }
      // What the migration built in SQL is byte for byte what a schema-3 publish writes.
      const fresh = await current.publish(await index.snapshotSource(), { repository: 'acme/new', commit, dirty: false });
      await admin.connect();
      const docs = await admin.query(
        `SELECT count(*)::int AS n FROM gw_snapshot_docs a, gw_snapshot_docs b WHERE a.snapshot_id = $1 AND b.snapshot_id = $2
           AND (a.chunks, a.ids, a.lengths, a.files, a.ords, a.starts, a.ends, a.languages, a.symbol_counts, a.symbols)
             = (b.chunks, b.ids, b.lengths, b.files, b.ords, b.starts, b.ends, b.languages, b.symbol_counts, b.symbols)`,
        [old.id, fresh.id],
      );
      assert.equal(docs.rows[0].n, 1);
      const postings = await admin.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE a.data IS DISTINCT FROM b.data)::int AS differ
         FROM gw_postings a FULL JOIN gw_postings b ON b.snapshot_id = $2 AND a.level = b.level AND a.term = b.term WHERE a.snapshot_id = $1`,
        [old.id, fresh.id],
      );
      assert.ok(postings.rows[0].n > 100);
      assert.equal(postings.rows[0].differ, 0);
      const total = await admin.query('SELECT count(*)::int AS n FROM gw_postings WHERE snapshot_id = $1', [fresh.id]);
      assert.equal(total.rows[0].n, postings.rows[0].n);
      // Schema 4: a fresh publish stores its symbol table; the migrated snapshot has none, and its
      // reader builds the table from the chunks' symbols. Both answer every key the same.
      const symbolRows = await admin.query('SELECT snapshot_id::int AS id FROM gw_snapshot_symbols WHERE snapshot_id = ANY($1)', [[old.id, fresh.id]]);
      assert.deepEqual(
        symbolRows.rows.map((r) => r.id),
        [fresh.id],
      );
      const freshStored = await current.open({ repository: 'acme/new' }, { roots: index.roots, expected });
      const keys = new Set(index.indexedPaths().flatMap((p) => index.getFile(p)!.chunks.flatMap((c) => c.symbols)));
      assert.ok(keys.size > 10);
      for (const key of [...keys, 'no-such-symbol']) {
        const want = [...(index.symbols.definers(key)?.entries() ?? [])].sort();
        assert.deepEqual([...(freshStored.symbols.definers(key)?.entries() ?? [])].sort(), want, key);
        assert.deepEqual([...(stored.symbols.definers(key)?.entries() ?? [])].sort(), want, key);
      }
      for (const q of QUERIES) assert.deepEqual(brief(await search(freshStored, q, { mode: 'lexical' })), brief(await search(index, q, { mode: 'lexical' })), q);
      // A damaged stored table is refused with what to do, not read.
      await admin.query(`UPDATE gw_snapshot_symbols SET counts = '\\x0100'::bytea WHERE snapshot_id = $1`, [fresh.id]);
      await assert.rejects(() => current.open({ repository: 'acme/new' }, { roots: index.roots, expected }), /is inconsistent \(its symbol table: .*\); publish it again/);
    } finally {
      await admin.end().catch(() => undefined);
      await index.close();
      for (const s of stores.splice(0)) await s.close().catch(() => undefined);
      await served.server.stop();
      await oldDb.close();
    }
  });

  it('a reader holds only the file list and document statistics: postings per query (bounded cache), texts of the chunks it reads', async () => {
    const writer = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-lazy'));
    try {
      await writer.publish(await index.snapshotSource(), { repository: 'acme/lazy', commit: git(ws, 'rev-parse', 'HEAD'), dirty: false });
      // Caches far smaller than one query needs: lists are dropped and fetched again, rankings do not change.
      const tiny = await newStore({ postingCacheEntries: 1, textCacheChars: 1 });
      const stored = await tiny.open({ repository: 'acme/lazy' }, { embedder, roots: index.roots, expected });
      assert.equal(stored.lexical.heldPostings, 0);
      // Nothing was fetched for this term: reading it without the prepare step is an error, not a wrong score.
      assert.throws(() => stored.lexical.search([{ term: 'limiter', weight: 1 }], 10), /postings of "limiter" were not fetched/);
      assert.throws(() => stored.getFile(index.indexedPaths()[0]!)!.chunks[0]!.text, /was not fetched from the shared index/);
      // What one query's lists amount to, measured on a reader that keeps everything.
      const alone = async (q: string) => {
        const r = await (await newStore()).open({ repository: 'acme/lazy' }, { embedder, roots: index.roots, expected });
        await search(r, q);
        return r.lexical.heldPostings;
      };
      for (const round of [1, 2]) {
        for (const q of QUERIES) {
          const local = await search(index, q, { mode: 'lexical' });
          const hits = await search(stored, q, { mode: 'lexical' });
          assert.deepEqual(brief(hits), brief(local), `${q} (round ${round})`);
          assert.deepEqual(
            hits.map((h) => [h.score, h.text]),
            local.map((h) => [h.score, h.text]),
            q,
          );
          // Few chunk candidates: the top files' other chunks are scored directly (scoreIds by id).
          const few = { mode: 'lexical' as const, candidates: 2 };
          const direct = await search(stored, q, few);
          const directLocal = await search(index, q, few);
          assert.deepEqual(
            direct.map((h) => [h.path, h.startLine, h.endLine, h.score]),
            directLocal.map((h) => [h.path, h.startLine, h.endLine, h.score]),
            q,
          );
          // Hybrid: the same places (vector neighbours come from the server's HNSW index).
          assert.deepEqual(brief(await search(stored, q)), brief(await search(index, q)), q);
          // Lists of earlier queries are dropped: what remains is this query's (kept for its caller's
          // coverage check until the next search) within the limit of 1 entry.
          const mine = await alone(q);
          assert.ok(mine > 1 && stored.lexical.heldPostings <= mine + 1, `held ${stored.lexical.heldPostings}, the query's own ${mine}`);
        }
      }
      // The follow-up rewriting's term frequencies come through the same fetch.
      assert.deepEqual(
        await localRetriever(stored).salientTerms('RateLimiter refill tokens configure', 3),
        await localRetriever(index).salientTerms('RateLimiter refill tokens configure', 3),
      );
      // A roomy cache keeps the lists: a second pass fetches nothing.
      const roomy = await newStore();
      const kept = await roomy.open({ repository: 'acme/lazy' }, { roots: index.roots, expected });
      for (const q of QUERIES) await search(kept, q, { mode: 'lexical' });
      const held = kept.lexical.heldPostings;
      assert.ok(held > 0);
      for (const q of QUERIES) await search(kept, q, { mode: 'lexical' });
      assert.equal(kept.lexical.heldPostings, held);
    } finally {
      await index.close();
    }
  });

  it('a connection dropped between open and a search fails the search as unavailable (keywords too); after a restart the same reader answers', async () => {
    const writer = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-drop'));
    try {
      await writer.publish(await index.snapshotSource(), { repository: 'acme/drop', commit: git(ws, 'rev-parse', 'HEAD'), dirty: false });
      const store = await newStore({ connectTimeoutMs: 3000 });
      const stored = await store.open({ repository: 'acme/drop' }, { roots: index.roots, expected });
      assert.ok((await search(stored, 'capacity', { mode: 'lexical' })).length > 0);
      await server.stop();
      try {
        // New terms: their postings are on the server.
        await assert.rejects(
          () => search(stored, 'release script changelog', { mode: 'lexical' }),
          (err: unknown) => err instanceof StoreUnavailableError && !(err instanceof SnapshotGoneError) && /is unavailable/.test(err.message),
        );
      } finally {
        await startServer();
      }
      // The pool's dead connections are replaced: the reader opened before the drop answers again.
      assert.deepEqual(brief(await search(stored, 'release script changelog', { mode: 'lexical' })), brief(await search(index, 'release script changelog', { mode: 'lexical' })));
    } finally {
      await index.close();
    }
  });

  it('a snapshot replaced or deleted after open: the reader refuses to read on from it (never mixing two snapshots); reopening reads the new one', async () => {
    const writer = await newStore();
    const index = await localIndex(ws, path.join(tmp, 'idx-gone'));
    try {
      const commit = git(ws, 'rev-parse', 'HEAD');
      const first = await writer.publish(await index.snapshotSource(), { repository: 'acme/gone', commit, dirty: false });
      const reader = await newStore();
      const stored = await reader.open({ repository: 'acme/gone' }, { embedder, roots: index.roots, expected });
      assert.ok((await search(stored, 'capacity')).length > 0);
      // The same commit published again replaces the snapshot (a new id; the old one's rows are deleted).
      const second = await writer.publish(await index.snapshotSource(), { repository: 'acme/gone', commit, dirty: false });
      assert.notEqual(second.id, first.id);
      const gone = (err: unknown) =>
        err instanceof SnapshotGoneError && err instanceof StoreUnavailableError && /no longer on the shared index .*open the repository's snapshot again/.test(err.message);
      // Postings of new terms, vector neighbours, texts of chunks not held: each refuses.
      await assert.rejects(() => search(stored, 'release script changelog', { mode: 'lexical' }), gone);
      await assert.rejects(async () => stored.vectors!.query(new Float32Array(64).fill(0.1), 5), gone);
      const f = stored.getFile(index.indexedPaths()[0]!)!;
      await assert.rejects(() => stored.loadTexts!(f.chunks), gone);
      const reopened = await reader.open({ repository: 'acme/gone' }, { embedder, roots: index.roots, expected });
      assert.equal(reopened.snapshot.id, second.id);
      assert.deepEqual(brief(await search(reopened, 'release script changelog')), brief(await search(index, 'release script changelog')));
      // Deleted (pruned) rather than replaced: the same refusal.
      await writer.publish(await index.snapshotSource(), { repository: 'acme/gone2', commit, dirty: false });
      const pruned = await reader.open({ repository: 'acme/gone2' }, { roots: index.roots, expected });
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`DELETE FROM gw_snapshots WHERE id = $1`, [pruned.snapshot.id]);
      } finally {
        await admin.end();
      }
      await assert.rejects(() => search(pruned, 'how do I configure the capacity?', { mode: 'lexical' }), gone);
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
