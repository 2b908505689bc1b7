/**
 * The shared index on PostgreSQL + pgvector (see src/core/indexStore.ts for the port).
 *
 * One database holds several repositories and, per repository, snapshots (one per commit). A
 * snapshot holds what a local index folder holds, in tables:
 *   gw_files     the catalog: one row per file (path, hash, language, chunking method, its
 *                file-level BM25 document number and length)
 *   gw_chunks    one row per chunk (lines, symbols, header, text, chunk-level BM25 number + length)
 *   gw_postings  BM25 postings, one row per (level, term): document numbers and field-weighted tfs
 *   gw_vectors_<d> one `vector(d)` row per chunk with an HNSW index (cosine), per dimension
 *
 * A reader loads the snapshot's documents and statistics and runs the unchanged retrieval code of
 * src/core/retrieval.ts over them, so ranking cannot depend on the store; vector neighbours are
 * found on the server through the HNSW index.
 *
 * Writers publish in batches, each its own transaction, into a snapshot marked `building`; one last
 * transaction marks it `ready` and drops an older snapshot of the same commit. Readers only open
 * ready snapshots, so they never see a half-written one, and a crashed writer leaves a building
 * snapshot that the next writer removes once its heartbeat is stale.
 */
import pg from 'pg';
import type { FileEntry } from '../core/catalog';
import { absolutePathOf, type WorkspaceRoot } from '../core/discovery';
import { IndexError } from '../core/indexError';
import { errMessage } from '../core/errMessage';
import {
  StoreUnavailableError,
  type PublishMeta,
  type PublishProgress,
  type SharedIndexStore,
  type SnapshotInfo,
  type SnapshotRef,
  type SnapshotSource,
  type StoredIndex,
  type StoreStatus,
  type VectorNeighbour,
  type VectorSearch,
} from '../core/indexStore';
import { LexicalIndex, type LexicalPostings } from '../core/lexicalIndex';
import { SymbolTable } from '../core/symbolTable';
import type { Chunk, ChunkMethod, Embedder, Logger } from '../core/types';
import { silentLogger } from '../core/types';
import { parsePgConnection, type PgConnectionSettings } from './pgConnection';

interface Migration {
  version: number;
  description: string;
  statements: string[];
}

/**
 * The schema, as migrations applied in order, each in its own transaction and recorded in
 * gw_schema. Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'repositories, snapshots, files, chunks, postings',
    statements: [
      'CREATE EXTENSION IF NOT EXISTS vector',
      `CREATE TABLE gw_repositories (
         id serial PRIMARY KEY,
         name text NOT NULL UNIQUE,
         created_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE TABLE gw_snapshots (
         id bigserial PRIMARY KEY,
         repository_id int NOT NULL REFERENCES gw_repositories(id) ON DELETE CASCADE,
         commit text NOT NULL,
         dirty boolean NOT NULL DEFAULT false,
         state text NOT NULL CHECK (state IN ('building', 'ready')),
         schema_version int NOT NULL,
         chunker_version int NOT NULL,
         lexical_version int NOT NULL,
         chunk_chars int NOT NULL,
         embedder text,
         dimensions int,
         files int NOT NULL DEFAULT 0,
         chunks int NOT NULL DEFAULT 0,
         vectors int NOT NULL DEFAULT 0,
         created_at timestamptz NOT NULL DEFAULT now(),
         heartbeat_at timestamptz NOT NULL DEFAULT now(),
         ready_at timestamptz)`,
      'CREATE INDEX gw_snapshots_lookup ON gw_snapshots (repository_id, state, ready_at DESC)',
      `CREATE TABLE gw_files (
         snapshot_id bigint NOT NULL REFERENCES gw_snapshots(id) ON DELETE CASCADE,
         doc int NOT NULL,
         path text NOT NULL,
         size bigint NOT NULL,
         mtime_ms double precision NOT NULL,
         content_hash text NOT NULL,
         language text NOT NULL,
         method text NOT NULL,
         fallback_reason text,
         lex_length real NOT NULL,
         PRIMARY KEY (snapshot_id, doc),
         UNIQUE (snapshot_id, path))`,
      `CREATE TABLE gw_chunks (
         snapshot_id bigint NOT NULL REFERENCES gw_snapshots(id) ON DELETE CASCADE,
         doc int NOT NULL,
         chunk_id text NOT NULL,
         path text NOT NULL,
         ord int NOT NULL,
         start_line int NOT NULL,
         end_line int NOT NULL,
         language text NOT NULL,
         symbols text[] NOT NULL,
         header text NOT NULL,
         body text NOT NULL,
         hash text NOT NULL,
         lex_length real NOT NULL,
         PRIMARY KEY (snapshot_id, doc))`,
      `CREATE TABLE gw_postings (
         snapshot_id bigint NOT NULL REFERENCES gw_snapshots(id) ON DELETE CASCADE,
         level smallint NOT NULL,
         term text NOT NULL,
         docs int[] NOT NULL,
         tfs real[] NOT NULL,
         PRIMARY KEY (snapshot_id, level, term))`,
      `CREATE TABLE gw_vector_tables (
         dimensions int PRIMARY KEY,
         created_at timestamptz NOT NULL DEFAULT now())`,
    ],
  },
  {
    version: 2,
    description: 'chunks by file (overlay and per-file reads)',
    statements: ['CREATE INDEX gw_chunks_by_path ON gw_chunks (snapshot_id, path, ord)'],
  },
];

export const PG_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Rows per INSERT in a publish (each batch is one transaction; a reader waits at most one batch). */
const BATCH_ROWS = 500;
/** A building snapshot whose writer has not written for this long is abandoned and removed. */
const STALE_BUILD_MINUTES = 15;
/** Arbitrary constant key of the advisory lock that serialises migrations across writers. */
const MIGRATION_LOCK = 7_349_221;

export interface PostgresStoreOptions {
  logger?: Logger;
  /** Pool size (default 4). */
  maxConnections?: number;
  /** Give up connecting after this many milliseconds (default 10,000). */
  connectTimeoutMs?: number;
  /** Apply migrations only up to this version (tests of the migration path). */
  migrateTo?: number;
  /** The password, when it comes from elsewhere than the URL's parameters (the editor's secret storage). */
  password?: string;
  /**
   * Readers that must never write (the extension): migrate() and publish() refuse. A reader's
   * snapshot load and vector queries run in `READ ONLY` transactions either way; a role with only
   * SELECT on the server is the real guard (docs/scale.md). Not a session-level
   * `default_transaction_read_only`: PGlite's one backend would share it with every other client.
   */
  readOnly?: boolean;
}

export class PostgresStore implements SharedIndexStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private schemaChecked = false;

  private constructor(
    settings: PgConnectionSettings,
    private readonly opts: PostgresStoreOptions,
  ) {
    this.location = settings.location;
    this.logger = opts.logger ?? silentLogger;
    const password = opts.password ?? settings.password;
    this.pool = new pg.Pool({
      connectionString: settings.connectionString,
      ...(password !== undefined ? { password } : {}),
      max: opts.maxConnections ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: 'groundwork',
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => this.logger.debug?.(`PostgreSQL connection lost while idle: ${err.message}`));
  }

  /** A store for a `postgres://` URL (see pgConnection.ts for where the password comes from). */
  static async connect(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    return new PostgresStore(await parsePgConnection(url), opts);
  }

  /** Runs `fn` on one pooled connection; connection-level failures become {@link StoreUnavailableError}. */
  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>, retries = 1): Promise<T> {
    try {
      return await this.withClientOnce(fn);
    } catch (err) {
      // A pooled connection the server dropped while idle (a restart, a failover) fails on first
      // use: one retry on a fresh connection. Everything run here is a read or a whole transaction.
      if (retries > 0 && err instanceof StoreUnavailableError && /terminated|closed|ended|ECONNRESET/i.test(err.message)) {
        return this.withClient(fn, retries - 1);
      }
      throw err;
    }
  }

  private async withClientOnce<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    let broken = false;
    // While checked out, a connection that drops emits 'error' besides failing the query; without a
    // listener that event would crash the process. The failed query carries the error to the caller.
    const onError = (err: Error) => {
      broken = true;
      this.logger.debug?.(`PostgreSQL connection lost: ${err.message}`);
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      broken ||= isConnectionError(err);
      throw isConnectionError(err) ? this.unavailable(err) : err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, mode = ''): Promise<T> {
    return this.withClient(async (c) => {
      await c.query(`BEGIN${mode ? ` ${mode}` : ''}`);
      try {
        const r = await fn(c);
        await c.query('COMMIT');
        return r;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private unavailable(err: unknown): StoreUnavailableError {
    const e = err as { code?: string; message?: string };
    const why =
      e.code === '28P01' || e.code === '28000'
        ? 'the server rejected the credentials (check the user and the password file or variable)'
        : e.code === '3D000'
          ? 'the database does not exist'
          : e.code === 'ECONNREFUSED'
            ? 'nothing is listening there (is the server running?)'
            : e.code === 'ENOTFOUND'
              ? 'the host name does not resolve'
              : (e.message ?? String(err)).split('\n')[0];
    return new StoreUnavailableError(`the shared index at ${this.location} is unavailable: ${why}`);
  }

  /** The schema version the database is at (0 = no Groundwork tables yet). */
  async schemaVersion(): Promise<number> {
    return this.withClient((c) => readSchemaVersion(c));
  }

  /** Brings the schema up to date (writers); refuses a database newer than this Groundwork. */
  async migrate(): Promise<number> {
    if (this.opts.readOnly) throw new IndexError(`the connection to the shared index at ${this.location} is read-only: it cannot migrate or publish`);
    const target = this.opts.migrateTo ?? PG_SCHEMA_VERSION;
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await c.query(`CREATE TABLE IF NOT EXISTS gw_schema (
          version int PRIMARY KEY,
          description text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now())`);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      let current = await readSchemaVersion(c);
      assertNotNewer(current);
      for (const m of MIGRATIONS) {
        if (m.version <= current || m.version > target) continue;
        await c.query('BEGIN');
        try {
          await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
          // Another writer may have applied it while we waited for the lock.
          if ((await readSchemaVersion(c)) >= m.version) {
            await c.query('COMMIT');
            continue;
          }
          for (const sql of m.statements) await c.query(sql);
          await c.query('INSERT INTO gw_schema (version, description) VALUES ($1, $2)', [m.version, m.description]);
          await c.query('COMMIT');
          this.logger.info(`Shared index schema: applied migration ${m.version} (${m.description}).`);
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw new IndexError(`migration ${m.version} of the shared index failed: ${errMessage(err)}`);
        }
        current = m.version;
      }
      this.schemaChecked = true;
      return current;
    });
  }

  /** Readers never migrate (they may hold a read-only role): they check. */
  private async assertSchema(c: pg.PoolClient): Promise<void> {
    if (this.schemaChecked) return;
    const v = await readSchemaVersion(c);
    if (v === 0) throw new IndexError(`the shared index at ${this.location} is empty; run \`groundwork index --store …\` first`);
    assertNotNewer(v);
    if (v < PG_SCHEMA_VERSION) {
      throw new IndexError(
        `the shared index at ${this.location} has schema ${v}, this Groundwork needs ${PG_SCHEMA_VERSION}; run \`groundwork index --store …\` once to migrate it`,
      );
    }
    this.schemaChecked = true;
  }

  async publish(source: SnapshotSource, meta: PublishMeta, opts: { signal?: AbortSignal; onProgress?: (p: PublishProgress) => void | Promise<void> } = {}): Promise<SnapshotInfo> {
    await this.migrate();
    const { signal } = opts;
    const progress = async (phase: PublishProgress['phase'], done: number, total: number) => {
      await opts.onProgress?.({ phase, done, total });
    };
    const chunkNumbers = new Map<string, number>();
    source.chunkPostings.ids.forEach((id, i) => chunkNumbers.set(id, i));
    const fileNumbers = new Map<string, number>();
    source.filePostings.ids.forEach((id, i) => fileNumbers.set(id, i));
    for (const f of source.files) {
      if (!fileNumbers.has(f.path)) throw new IndexError(`the index is inconsistent: ${f.path} has no file-level BM25 document`);
      for (const c of f.chunks) if (!chunkNumbers.has(c.id)) throw new IndexError(`the index is inconsistent: chunk ${c.id} has no BM25 document`);
    }

    const snapshotId = await this.transaction(async (c) => {
      const repo = await c.query<{ id: number }>('INSERT INTO gw_repositories (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id', [
        meta.repository,
      ]);
      const repositoryId = repo.rows[0]!.id;
      const stale = await c.query(`DELETE FROM gw_snapshots WHERE repository_id = $1 AND state = 'building' AND heartbeat_at < now() - make_interval(mins => $2)`, [
        repositoryId,
        STALE_BUILD_MINUTES,
      ]);
      if (stale.rowCount) this.logger.info(`Removed ${stale.rowCount} abandoned unfinished snapshot(s) of ${meta.repository}.`);
      const v = source.versions;
      const r = await c.query<{ id: string }>(
        `INSERT INTO gw_snapshots (repository_id, commit, dirty, state, schema_version, chunker_version, lexical_version, chunk_chars, embedder, dimensions)
         VALUES ($1, $2, $3, 'building', $4, $5, $6, $7, $8, $9) RETURNING id`,
        [repositoryId, meta.commit, meta.dirty, v.schema, v.chunker, v.lexical, v.chunkChars, source.embedder?.id ?? null, source.embedder?.dimensions ?? null],
      );
      return Number(r.rows[0]!.id);
    });

    try {
      // Files and their chunks.
      const files = source.files;
      let done = 0;
      for (let i = 0; i < files.length;) {
        signal?.throwIfAborted();
        const batch: FileEntry[] = [];
        let rows = 0;
        while (i < files.length && (rows < BATCH_ROWS || !batch.length)) {
          batch.push(files[i]!);
          rows += files[i]!.chunks.length;
          i++;
        }
        await this.transaction(async (c) => {
          await insertFiles(c, snapshotId, batch, fileNumbers, source.filePostings.lengths);
          await insertChunks(c, snapshotId, batch, chunkNumbers, source.chunkPostings.lengths);
          await c.query('UPDATE gw_snapshots SET heartbeat_at = now() WHERE id = $1', [snapshotId]);
        });
        done += batch.length;
        await progress('files', done, files.length);
      }

      // Postings of both levels.
      const levels: Array<[number, LexicalPostings]> = [
        [0, source.chunkPostings],
        [1, source.filePostings],
      ];
      const termTotal = source.chunkPostings.terms.length + source.filePostings.terms.length;
      let termsDone = 0;
      for (const [level, p] of levels) {
        for (let t = 0; t < p.terms.length; t += BATCH_ROWS * 4) {
          signal?.throwIfAborted();
          const end = Math.min(p.terms.length, t + BATCH_ROWS * 4);
          await this.transaction(async (c) => {
            await insertPostings(c, snapshotId, level, p, t, end);
            await c.query('UPDATE gw_snapshots SET heartbeat_at = now() WHERE id = $1', [snapshotId]);
          });
          termsDone += end - t;
          await progress('postings', termsDone, termTotal);
        }
      }

      // Vectors.
      let vectorCount = 0;
      if (source.embedder) {
        const table = await this.ensureVectorTable(source.embedder.dimensions);
        const pending: Array<{ doc: number; v: Float32Array }> = [];
        for (const f of files) {
          for (const ch of f.chunks) {
            const v = source.vectorOf(ch);
            if (v) pending.push({ doc: chunkNumbers.get(ch.id)!, v });
          }
        }
        for (let i = 0; i < pending.length; i += BATCH_ROWS) {
          signal?.throwIfAborted();
          const slice = pending.slice(i, i + BATCH_ROWS);
          await this.transaction(async (c) => {
            await c.query(`INSERT INTO ${table} (snapshot_id, doc, embedding) SELECT $1, u.doc, u.v::vector FROM unnest($2::int[], $3::text[]) AS u(doc, v)`, [
              snapshotId,
              slice.map((x) => x.doc),
              slice.map((x) => vectorLiteral(x.v)),
            ]);
            await c.query('UPDATE gw_snapshots SET heartbeat_at = now() WHERE id = $1', [snapshotId]);
          });
          vectorCount += slice.length;
          await progress('vectors', vectorCount, pending.length);
        }
      }

      // Make it visible, replacing an earlier snapshot of the same commit.
      signal?.throwIfAborted();
      const chunkCount = files.reduce((n, f) => n + f.chunks.length, 0);
      const info = await this.transaction(async (c) => {
        const s = await c.query<{ repository_id: number }>('SELECT repository_id FROM gw_snapshots WHERE id = $1', [snapshotId]);
        if (!s.rows.length) throw new IndexError('the snapshot being written was removed by another writer (its heartbeat went stale); run the command again');
        await c.query('SELECT id FROM gw_repositories WHERE id = $1 FOR UPDATE', [s.rows[0]!.repository_id]);
        await c.query(`DELETE FROM gw_snapshots WHERE repository_id = $1 AND commit = $2 AND state = 'ready' AND id <> $3`, [s.rows[0]!.repository_id, meta.commit, snapshotId]);
        await c.query(`UPDATE gw_snapshots SET state = 'ready', files = $2, chunks = $3, vectors = $4, ready_at = clock_timestamp(), heartbeat_at = now() WHERE id = $1`, [
          snapshotId,
          files.length,
          chunkCount,
          vectorCount,
        ]);
        // Read inside the transaction: a second writer of the same commit may replace it right after.
        const r = await c.query(`${SNAPSHOT_SELECT} WHERE s.id = $1`, [snapshotId]);
        return toSnapshotInfo(r.rows[0]);
      });
      await progress('finish', 1, 1);
      return info;
    } catch (err) {
      // Best effort: an unfinished snapshot is invisible to readers either way, and a later writer
      // removes it when its heartbeat is stale.
      await this.withClient((c) => c.query(`DELETE FROM gw_snapshots WHERE id = $1 AND state = 'building'`, [snapshotId])).catch(() => undefined);
      throw err;
    }
  }

  /** The table of `d`-dimensional vectors, created with its HNSW index on first use. */
  private async ensureVectorTable(d: number): Promise<string> {
    if (!Number.isInteger(d) || d < 1 || d > 16000) throw new IndexError(`unsupported vector dimension ${d}`);
    const table = `gw_vectors_${d}`;
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const known = await c.query('SELECT 1 FROM gw_vector_tables WHERE dimensions = $1', [d]);
      if (known.rows.length) return;
      await c.query(`CREATE TABLE ${table} (
        snapshot_id bigint NOT NULL REFERENCES gw_snapshots(id) ON DELETE CASCADE,
        doc int NOT NULL,
        embedding vector(${d}) NOT NULL,
        PRIMARY KEY (snapshot_id, doc))`);
      await c.query(`CREATE INDEX ${table}_hnsw ON ${table} USING hnsw (embedding vector_cosine_ops)`);
      await c.query('INSERT INTO gw_vector_tables (dimensions) VALUES ($1)', [d]);
    });
    return table;
  }

  /** Snapshots of one repository (all when absent), newest first. */
  async snapshots(repository?: string): Promise<SnapshotInfo[]> {
    return this.withClient(async (c) => {
      if ((await readSchemaVersion(c)) === 0) return [];
      const r = await c.query(
        `SELECT s.id, r.name, s.commit, s.dirty, s.state, s.files, s.chunks, s.vectors, s.embedder, s.dimensions, s.created_at, s.ready_at
         FROM gw_snapshots s JOIN gw_repositories r ON r.id = s.repository_id
         WHERE ($1::text IS NULL OR r.name = $1) ORDER BY r.name, s.ready_at DESC NULLS FIRST, s.id DESC`,
        [repository ?? null],
      );
      return r.rows.map(toSnapshotInfo);
    });
  }

  async status(repository?: string): Promise<StoreStatus> {
    const snapshots = await this.snapshots(repository);
    return this.withClient(async (c) => {
      const version = await readSchemaVersion(c);
      const server = (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
      const size = await c.query<{ n: string | null }>(`SELECT sum(pg_total_relation_size(c.oid))::bigint AS n FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'gw\\_%'`);
      return { location: this.location, schemaVersion: version, serverVersion: server, sizeBytes: Number(size.rows[0]?.n ?? 0), snapshots };
    });
  }

  async open(ref: SnapshotRef, opts: { embedder?: Embedder; roots?: readonly WorkspaceRoot[]; expected?: SnapshotSource['versions'] } = {}): Promise<StoredIndex> {
    return this.withClient(async (c) => {
      await this.assertSchema(c);
      // One consistent view of the snapshot even if a writer replaces it meanwhile.
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const r = await c.query(
          `SELECT s.id, r.name, s.commit, s.dirty, s.state, s.files, s.chunks, s.vectors, s.embedder, s.dimensions, s.created_at, s.ready_at,
                  s.chunker_version, s.lexical_version, s.chunk_chars
           FROM gw_snapshots s JOIN gw_repositories r ON r.id = s.repository_id
           WHERE r.name = $1 AND s.state = 'ready' AND ($2::text IS NULL OR s.commit = $2 OR (length($2) >= 7 AND s.commit LIKE $2 || '%'))
           ORDER BY s.ready_at DESC, s.id DESC LIMIT 1`,
          [ref.repository, ref.commit ?? null],
        );
        const row = r.rows[0];
        if (!row) {
          throw new IndexError(
            `the shared index at ${this.location} has no ready snapshot of ${ref.repository}${ref.commit ? ` at ${ref.commit}` : ''}; run \`groundwork index --store …\` in a checkout`,
          );
        }
        const exp = opts.expected;
        if (exp && (row.lexical_version !== exp.lexical || row.chunker_version !== exp.chunker || row.chunk_chars !== exp.chunkChars)) {
          throw new IndexError(
            `the snapshot of ${ref.repository} was built by another Groundwork version (chunker ${row.chunker_version}, lexical ${row.lexical_version}, ${row.chunk_chars}-character chunks; this one uses ${exp.chunker}, ${exp.lexical}, ${exp.chunkChars}); re-index it with this version`,
          );
        }
        const info = toSnapshotInfo(row);
        const loaded = await loadSnapshot(c, info.id);
        await c.query('COMMIT');
        let vectors: VectorSearch | undefined;
        let embedder: Embedder | undefined;
        if (info.vectors > 0 && opts.embedder) {
          if (opts.embedder.id === info.embedder && opts.embedder.dimensions === info.dimensions) {
            embedder = opts.embedder;
            vectors = new PgVectorSearch(this, info, loaded.chunkIds);
          } else {
            this.logger.warn(
              `The shared snapshot's vectors come from ${info.embedder} (${info.dimensions}-d), not ${opts.embedder.id} (${opts.embedder.dimensions}-d): searching by keywords only.`,
            );
          }
        }
        return new PgSnapshotIndex(info, loaded, opts.roots ?? [], vectors, embedder);
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Nearest chunks (document numbers and cosine similarity) of a snapshot through the HNSW index. */
  async nearest(info: SnapshotInfo, vector: Float32Array, k: number): Promise<Array<{ doc: number; score: number }>> {
    const d = info.dimensions!;
    if (vector.length !== d) throw new IndexError(`the query vector has ${vector.length} dimensions, the snapshot ${d}`);
    return this.transaction(async (c) => {
      // The HNSW scan filters by snapshot after the index: let it continue past ef_search rows
      // (pgvector ≥ 0.8) so a database of many snapshots still returns k neighbours.
      await c.query(`SET LOCAL hnsw.ef_search = ${Math.max(40, Math.min(1000, Math.floor(k)))}`);
      await c.query(`SET LOCAL hnsw.iterative_scan = strict_order`);
      const r = await c.query<{ doc: number; score: number }>(
        `SELECT doc, 1 - (embedding <=> $1::vector) AS score FROM gw_vectors_${d} WHERE snapshot_id = $2 ORDER BY embedding <=> $1::vector LIMIT $3`,
        [vectorLiteral(vector), info.id, Math.floor(k)],
      );
      return r.rows.map((x) => ({ doc: x.doc, score: Number(x.score) }));
    }, 'READ ONLY');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface LoadedSnapshot {
  files: Map<string, FileEntry>;
  chunks: Map<string, Chunk>;
  chunkIds: string[];
  lexical: LexicalIndex;
  fileLexical: LexicalIndex;
  symbols: SymbolTable;
}

async function loadSnapshot(c: pg.PoolClient, id: number): Promise<LoadedSnapshot> {
  const fileRows = await c.query(
    'SELECT doc, path, size, mtime_ms, content_hash, language, method, fallback_reason, lex_length FROM gw_files WHERE snapshot_id = $1 ORDER BY doc',
    [id],
  );
  const files = new Map<string, FileEntry>();
  const filePaths: string[] = [];
  const fileLengths = new Float32Array(fileRows.rows.length);
  fileRows.rows.forEach((f, i) => {
    if (f.doc !== i) throw new IndexError('the shared snapshot is inconsistent (file numbers have gaps)');
    files.set(f.path, {
      path: f.path,
      size: Number(f.size),
      mtimeMs: Number(f.mtime_ms),
      contentHash: f.content_hash,
      language: f.language,
      method: f.method as ChunkMethod,
      fallbackReason: f.fallback_reason ?? undefined,
      chunks: [],
    });
    filePaths.push(f.path);
    fileLengths[i] = f.lex_length;
  });
  const chunkRows = await c.query(
    'SELECT doc, chunk_id, path, ord, start_line, end_line, language, symbols, header, body, hash, lex_length FROM gw_chunks WHERE snapshot_id = $1 ORDER BY doc',
    [id],
  );
  const chunks = new Map<string, Chunk>();
  const chunkIds: string[] = [];
  const chunkLengths = new Float32Array(chunkRows.rows.length);
  const byFile = new Map<string, Array<{ ord: number; chunk: Chunk }>>();
  chunkRows.rows.forEach((r, i) => {
    if (r.doc !== i) throw new IndexError('the shared snapshot is inconsistent (chunk numbers have gaps)');
    const chunk: Chunk = {
      id: r.chunk_id,
      path: r.path,
      language: r.language,
      startLine: r.start_line,
      endLine: r.end_line,
      symbols: r.symbols,
      header: r.header,
      text: r.body,
      hash: r.hash,
    };
    chunks.set(chunk.id, chunk);
    chunkIds.push(chunk.id);
    chunkLengths[i] = r.lex_length;
    let list = byFile.get(chunk.path);
    if (!list) byFile.set(chunk.path, (list = []));
    list.push({ ord: r.ord, chunk });
  });
  for (const [p, list] of byFile) {
    const f = files.get(p);
    if (!f) throw new IndexError(`the shared snapshot is inconsistent (chunks of ${p}, which is not in its catalog)`);
    f.chunks = list.sort((a, b) => a.ord - b.ord).map((x) => x.chunk);
  }
  const postings = async (level: number, ids: string[], lengths: Float32Array): Promise<LexicalIndex> => {
    const r = await c.query<{ term: string; docs: number[]; tfs: number[] }>('SELECT term, docs, tfs FROM gw_postings WHERE snapshot_id = $1 AND level = $2', [id, level]);
    const terms: string[] = [];
    const offsets = new Uint32Array(r.rows.length + 1);
    let total = 0;
    for (const row of r.rows) total += row.docs.length;
    const docs = new Int32Array(total);
    const tfs = new Float32Array(total);
    let w = 0;
    r.rows.forEach((row, i) => {
      terms.push(row.term);
      if (row.docs.length !== row.tfs.length) throw new IndexError(`the shared snapshot is inconsistent (postings of "${row.term}")`);
      docs.set(row.docs, w);
      tfs.set(row.tfs.map(Number), w);
      w += row.docs.length;
      offsets[i + 1] = w;
    });
    return LexicalIndex.fromPostings({ ids, lengths, terms, offsets, docs, tfs });
  };
  const lexical = await postings(0, chunkIds, chunkLengths);
  const fileLexical = await postings(1, filePaths, fileLengths);
  const symbols = new SymbolTable();
  for (const f of files.values()) symbols.add(f.path, f.chunks);
  return { files, chunks, chunkIds, lexical, fileLexical, symbols };
}

/** A ready snapshot held in memory for retrieval; vectors stay on the server. */
class PgSnapshotIndex implements StoredIndex {
  readonly generation = 0;
  readonly lexical: LexicalIndex;
  readonly fileLexical: LexicalIndex;
  readonly symbols: SymbolTable;
  private readonly files: Map<string, FileEntry>;
  private readonly chunks: Map<string, Chunk>;

  constructor(
    readonly snapshot: SnapshotInfo,
    loaded: LoadedSnapshot,
    private readonly roots: readonly WorkspaceRoot[],
    readonly vectors: VectorSearch | undefined,
    readonly embedder: Embedder | undefined,
  ) {
    this.lexical = loaded.lexical;
    this.fileLexical = loaded.fileLexical;
    this.symbols = loaded.symbols;
    this.files = loaded.files;
    this.chunks = loaded.chunks;
  }

  get fileCount(): number {
    return this.files.size;
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  getChunk(id: string): Chunk | undefined {
    return this.chunks.get(id);
  }

  getFile(indexPath: string): FileEntry | undefined {
    return this.files.get(indexPath);
  }

  indexedPaths(): string[] {
    return [...this.files.keys()];
  }

  absolutePath(indexPath: string): string | undefined {
    return this.roots.length ? absolutePathOf(this.roots, indexPath) : undefined;
  }

  async close(): Promise<void> {
    // Nothing is held open: the store's pool is closed by its owner.
  }
}

class PgVectorSearch implements VectorSearch {
  constructor(
    private readonly store: PostgresStore,
    private readonly info: SnapshotInfo,
    private readonly chunkIds: readonly string[],
  ) {}

  get count(): number {
    return this.info.vectors;
  }

  async query(vector: Float32Array, k: number): Promise<VectorNeighbour[]> {
    const rows = await this.store.nearest(this.info, vector, k);
    const out: VectorNeighbour[] = [];
    for (const r of rows) {
      const id = this.chunkIds[r.doc];
      if (id !== undefined) out.push({ id, score: r.score });
    }
    // Same order as the local store: score, then id on ties.
    out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }
}

async function readSchemaVersion(c: pg.PoolClient): Promise<number> {
  const exists = await c.query<{ t: string | null }>(`SELECT to_regclass('gw_schema')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM gw_schema');
  return r.rows[0]?.v ?? 0;
}

function assertNotNewer(version: number): void {
  if (version > PG_SCHEMA_VERSION) {
    throw new IndexError(`the shared index has schema ${version}, newer than this Groundwork understands (${PG_SCHEMA_VERSION}); upgrade Groundwork`);
  }
}

async function insertFiles(c: pg.PoolClient, snapshotId: number, files: FileEntry[], numbers: Map<string, number>, lengths: ArrayLike<number>): Promise<void> {
  await c.query(
    `INSERT INTO gw_files (snapshot_id, doc, path, size, mtime_ms, content_hash, language, method, fallback_reason, lex_length)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bigint[], $5::float8[], $6::text[], $7::text[], $8::text[], $9::text[], $10::real[])`,
    [
      snapshotId,
      files.map((f) => numbers.get(f.path)!),
      files.map((f) => f.path),
      files.map((f) => f.size),
      files.map((f) => f.mtimeMs),
      files.map((f) => f.contentHash),
      files.map((f) => f.language),
      files.map((f) => f.method),
      files.map((f) => f.fallbackReason ?? null),
      files.map((f) => lengths[numbers.get(f.path)!]!),
    ],
  );
}

async function insertChunks(c: pg.PoolClient, snapshotId: number, files: FileEntry[], numbers: Map<string, number>, lengths: ArrayLike<number>): Promise<void> {
  const rows = files.flatMap((f) => f.chunks.map((ch, ord) => ({ ch, ord })));
  if (!rows.length) return;
  // symbols is a text[] per row: unnest cannot take an array of arrays of different lengths, so
  // they travel as JSON and are expanded on the server.
  await c.query(
    `INSERT INTO gw_chunks (snapshot_id, doc, chunk_id, path, ord, start_line, end_line, language, symbols, header, body, hash, lex_length)
     SELECT $1, u.doc, u.chunk_id, u.path, u.ord, u.start_line, u.end_line, u.language,
            ARRAY(SELECT jsonb_array_elements_text(u.symbols)), u.header, u.body, u.hash, u.lex_length
     FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::jsonb[], $10::text[], $11::text[], $12::text[], $13::real[])
       AS u(doc, chunk_id, path, ord, start_line, end_line, language, symbols, header, body, hash, lex_length)`,
    [
      snapshotId,
      rows.map((r) => numbers.get(r.ch.id)!),
      rows.map((r) => r.ch.id),
      rows.map((r) => r.ch.path),
      rows.map((r) => r.ord),
      rows.map((r) => r.ch.startLine),
      rows.map((r) => r.ch.endLine),
      rows.map((r) => r.ch.language),
      rows.map((r) => JSON.stringify(r.ch.symbols)),
      rows.map((r) => r.ch.header),
      rows.map((r) => stripNul(r.ch.text)),
      rows.map((r) => r.ch.hash),
      rows.map((r) => lengths[numbers.get(r.ch.id)!]!),
    ],
  );
}

async function insertPostings(c: pg.PoolClient, snapshotId: number, level: number, p: LexicalPostings, from: number, to: number): Promise<void> {
  const terms: string[] = [];
  const docs: string[] = [];
  const tfs: string[] = [];
  for (let t = from; t < to; t++) {
    const a = p.offsets[t]!;
    const b = p.offsets[t + 1]!;
    const d: number[] = [];
    const f: number[] = [];
    for (let r = a; r < b; r++) {
      d.push(p.docs[r]!);
      f.push(p.tfs[r]!);
    }
    terms.push(p.terms[t]!);
    // Posting lists travel as array literals (one text per term) and are cast on the server.
    docs.push(`{${d.join(',')}}`);
    tfs.push(`{${f.join(',')}}`);
  }
  await c.query(
    `INSERT INTO gw_postings (snapshot_id, level, term, docs, tfs)
     SELECT $1, $2, u.term, u.docs::int[], u.tfs::real[] FROM unnest($3::text[], $4::text[], $5::text[]) AS u(term, docs, tfs)`,
    [snapshotId, level, terms, docs, tfs],
  );
}

/**
 * PostgreSQL text cannot hold U+0000. Files with NUL bytes are rejected as binary before chunking,
 * so this never changes an indexed chunk; it guards the insert.
 */
function stripNul(s: string): string {
  return s.includes('\u0000') ? s.replace(/\u0000/g, '\uFFFD') : s;
}

function vectorLiteral(v: ArrayLike<number>): string {
  return `[${Array.prototype.join.call(v, ',')}]`;
}

const SNAPSHOT_SELECT = `SELECT s.id, r.name, s.commit, s.dirty, s.state, s.files, s.chunks, s.vectors, s.embedder, s.dimensions, s.created_at, s.ready_at
  FROM gw_snapshots s JOIN gw_repositories r ON r.id = s.repository_id`;

function toSnapshotInfo(r: Record<string, unknown>): SnapshotInfo {
  const iso = (x: unknown) => (x instanceof Date ? x.toISOString() : typeof x === 'string' ? x : null);
  return {
    id: Number(r.id),
    repository: String(r.name),
    commit: String(r.commit),
    dirty: Boolean(r.dirty),
    state: r.state as SnapshotInfo['state'],
    files: Number(r.files),
    chunks: Number(r.chunks),
    vectors: Number(r.vectors),
    embedder: (r.embedder as string | null) ?? null,
    dimensions: (r.dimensions as number | null) ?? null,
    createdAt: iso(r.created_at) ?? '',
    readyAt: iso(r.ready_at),
  };
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && /^(08|57P0|28)/.test(e.code)) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(e?.code ?? '')) return true;
  return /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error/i.test(e?.message ?? '');
}
