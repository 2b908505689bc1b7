/**
 * The shared index on PostgreSQL + pgvector (see src/core/indexStore.ts for the port).
 *
 * One database holds several repositories and, per repository, snapshots (one per commit). A
 * snapshot holds what a local index folder holds, in tables:
 *   gw_files     the catalog: one row per file (path, hash, language, chunking method, its
 *                file-level BM25 document number and length)
 *   gw_chunks    one row per chunk (lines, symbols, header, text, chunk-level BM25 number + length)
 *   gw_snapshot_docs one row per snapshot: the chunks' ids, lengths, files, lines, languages and
 *                symbols as packed byteas, what a reader loads at open
 *   gw_snapshot_symbols one row per snapshot: its symbol table (symbol key → defining files), packed
 *                as the local index packs it in files.bin, so a reader does not build it at open
 *   gw_postings  BM25 postings, one row per (level, term): document numbers and field-weighted tfs
 *                packed in one bytea
 *   gw_vectors_<d> one `vector(d)` row per chunk with an HNSW index (cosine), per dimension
 *
 * A reader opens with the file list and the document table only, fetches each search's posting
 * lists and the texts the ranking reads (bounded caches), and runs the unchanged retrieval code of
 * src/core/retrieval.ts over them, so ranking cannot depend on the store; vector neighbours are
 * found on the server through the HNSW index. Every fetch checks the snapshot is still there.
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
  SnapshotGoneError,
  StoreUnavailableError,
  type PreparedSearch,
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
import { LayeredSymbolTable, StoredSymbolTable, SymbolTable, symbolSections, SYMBOL_SECTIONS, type EditableSymbols } from '../core/symbolTable';
import * as os from 'node:os';
import type { Chunk, ChunkMethod, Embedder, Logger } from '../core/types';
import { silentLogger } from '../core/types';
import { parsePgConnection, type PgConnectionSettings } from './pgConnection';

interface Migration {
  version: number;
  description: string;
  statements: string[];
}

/**
 * Fills gw_snapshot_docs (what a reader loads at open: one row of packed arrays per snapshot, in
 * chunk document order) from gw_chunks and gw_files, for the snapshots matched by `where` (over
 * `c`, a gw_chunks row). Numbers are big-endian int4/float4 (int4send/float4send), strings UTF-8
 * joined by NUL (PostgreSQL text never holds one). A chunk id is stored as what follows
 * `<path>#L<start>-L<end>#` (the chunker's form), or whole after a \x01 when it has another form.
 * A language is '' when it is the file's. The same statement serves publish and migration 3.
 */
function snapshotDocsSql(where: string): string {
  const prefix = `c.path || '#L' || c.start_line || '-L' || c.end_line || '#'`;
  const tail = `CASE WHEN starts_with(c.chunk_id, ${prefix}) AND left(substr(c.chunk_id, length(${prefix}) + 1), 1) <> E'\\x01'
      THEN substr(c.chunk_id, length(${prefix}) + 1) ELSE E'\\x01' || c.chunk_id END`;
  const nums = (expr: string) => `coalesce(string_agg(${expr}, ''::bytea ORDER BY c.doc), ''::bytea)`;
  return `INSERT INTO gw_snapshot_docs (snapshot_id, chunks, ids, lengths, files, ords, starts, ends, languages, symbol_counts, symbols)
    SELECT c.snapshot_id, count(*),
      coalesce(string_agg(convert_to(${tail}, 'UTF8'), '\\x00'::bytea ORDER BY c.doc), ''::bytea),
      ${nums('float4send(c.lex_length)')}, ${nums('int4send(f.doc)')}, ${nums('int4send(c.ord)')},
      ${nums('int4send(c.start_line)')}, ${nums('int4send(c.end_line)')},
      coalesce(string_agg(convert_to(CASE WHEN c.language = f.language THEN '' ELSE c.language END, 'UTF8'), '\\x00'::bytea ORDER BY c.doc), ''::bytea),
      ${nums('int4send(cardinality(c.symbols))')},
      coalesce((SELECT string_agg(convert_to(u.s, 'UTF8'), '\\x00'::bytea ORDER BY c2.doc, u.i)
                FROM gw_chunks c2, unnest(c2.symbols) WITH ORDINALITY AS u(s, i) WHERE c2.snapshot_id = c.snapshot_id), ''::bytea)
    FROM gw_chunks c JOIN gw_files f ON f.snapshot_id = c.snapshot_id AND f.path = c.path
    WHERE ${where}
    GROUP BY c.snapshot_id`;
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
  {
    version: 3,
    description: 'readers fetch per search: postings as packed bytea, each snapshot’s document table packed for opening',
    statements: [
      // Posting lists: n document numbers (int4) then n tfs (float4), big-endian, in one bytea.
      'ALTER TABLE gw_postings ADD COLUMN data bytea',
      `UPDATE gw_postings SET data =
         coalesce((SELECT string_agg(int4send(d), ''::bytea ORDER BY i) FROM unnest(docs) WITH ORDINALITY AS u(d, i)), ''::bytea) ||
         coalesce((SELECT string_agg(float4send(t), ''::bytea ORDER BY i) FROM unnest(tfs) WITH ORDINALITY AS u(t, i)), ''::bytea)`,
      'ALTER TABLE gw_postings DROP COLUMN docs, DROP COLUMN tfs, ALTER COLUMN data SET NOT NULL',
      `CREATE TABLE gw_snapshot_docs (
         snapshot_id bigint PRIMARY KEY REFERENCES gw_snapshots(id) ON DELETE CASCADE,
         chunks int NOT NULL,
         ids bytea NOT NULL,
         lengths bytea NOT NULL,
         files bytea NOT NULL,
         ords bytea NOT NULL,
         starts bytea NOT NULL,
         ends bytea NOT NULL,
         languages bytea NOT NULL,
         symbol_counts bytea NOT NULL,
         symbols bytea NOT NULL)`,
      snapshotDocsSql('TRUE'),
    ],
  },
  {
    version: 4,
    description: 'each snapshot’s symbol table packed for opening (snapshots published before keep building it at open)',
    statements: [
      // The sections of symbolSections() (src/core/symbolTable.ts), offsets and numbers little-endian.
      `CREATE TABLE gw_snapshot_symbols (
         snapshot_id bigint PRIMARY KEY REFERENCES gw_snapshots(id) ON DELETE CASCADE,
         keys bytea NOT NULL,
         key_offsets bytea NOT NULL,
         list_offsets bytea NOT NULL,
         files bytea NOT NULL,
         counts bytea NOT NULL)`,
    ],
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
  /**
   * A reader's posting cache, per level, in posting entries (8 bytes each; default
   * {@link DEFAULT_POSTING_CACHE_ENTRIES}): the lists of recent queries' terms, least recently used
   * dropped first. A list is fetched again when it was dropped.
   */
  postingCacheEntries?: number;
  /** A reader's chunk-text cache in characters (default {@link DEFAULT_TEXT_CACHE_CHARS}). */
  textCacheChars?: number;
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
    // The schema this store writes: the current one, or an older one for tests of the migration path (migrateTo).
    const version = await this.migrate();
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

      // The packed document table readers load at open (built from the rows just written, by the
      // statement migration 3 also uses).
      if (version >= 3) {
        await this.transaction(async (c) => {
          await c.query(snapshotDocsSql('c.snapshot_id = $1'), [snapshotId]);
          await c.query('UPDATE gw_snapshots SET heartbeat_at = now() WHERE id = $1', [snapshotId]);
        });
      }
      if (version >= 4) {
        const sections = Object.fromEntries(symbolSections(SymbolTable.of(files), source.filePostings.ids).map(([name, bytes]) => [name, littleEndian(name, bytes)]));
        await this.transaction(async (c) => {
          await c.query('INSERT INTO gw_snapshot_symbols (snapshot_id, keys, key_offsets, list_offsets, files, counts) VALUES ($1, $2, $3, $4, $5, $6)', [
            snapshotId,
            sections.symKeys,
            sections.symKeyOffsets,
            sections.symListOffsets,
            sections.symFiles,
            sections.symCounts,
          ]);
        });
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
            await (version >= 3 ? insertPostings : insertPostingsV2)(c, snapshotId, level, p, t, end);
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
        const docs = await loadDocuments(c, info);
        await c.query('COMMIT');
        let vectors: VectorSearch | undefined;
        let embedder: Embedder | undefined;
        if (info.vectors > 0 && opts.embedder) {
          if (opts.embedder.id === info.embedder && opts.embedder.dimensions === info.dimensions) {
            embedder = opts.embedder;
            vectors = new PgVectorSearch(this, info, (d) => (d >= 0 && d < docs.count ? chunkIdOf(docs, d) : undefined));
          } else {
            this.logger.warn(
              `The shared snapshot's vectors come from ${info.embedder} (${info.dimensions}-d), not ${opts.embedder.id} (${opts.embedder.dimensions}-d): searching by keywords only.`,
            );
          }
        }
        return new PgSnapshotIndex(this, info, docs, opts.roots ?? [], vectors, embedder, {
          postings: this.opts.postingCacheEntries ?? DEFAULT_POSTING_CACHE_ENTRIES,
          textChars: this.opts.textCacheChars ?? DEFAULT_TEXT_CACHE_CHARS,
        });
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
      const r = await c.query<{ live: string | null; doc: number | null; score: number | null }>(
        `SELECT s.id AS live, v.doc, v.score FROM (${LIVE_SNAPSHOT_ID('$2')}) s
         LEFT JOIN LATERAL (SELECT doc, 1 - (embedding <=> $1::vector) AS score FROM gw_vectors_${d} WHERE snapshot_id = $2 ORDER BY embedding <=> $1::vector LIMIT $3) v ON true`,
        [vectorLiteral(vector), info.id, Math.floor(k)],
      );
      this.assertLive(info, r.rows.length);
      return r.rows.filter((x) => x.doc !== null).map((x) => ({ doc: x.doc!, score: Number(x.score) }));
    }, 'READ ONLY');
  }

  /**
   * The packed posting lists of `terms` at levels 0 (chunks) and 1 (files) of a snapshot, in one
   * statement that also checks the snapshot is still there (a statement sees one state of the database).
   */
  async postings(info: SnapshotInfo, chunkTerms: readonly string[], fileTerms: readonly string[]): Promise<Array<{ level: number; term: string; data: Buffer }>> {
    return this.withClient(async (c) => {
      const r = await c.query<{ live: string | null; level: number | null; term: string | null; data: Buffer | null }>(
        `SELECT s.id AS live, p.level, p.term, p.data FROM (${LIVE_SNAPSHOT}) s
         LEFT JOIN gw_postings p ON p.snapshot_id = s.id AND ((p.level = 0 AND p.term = ANY($2::text[])) OR (p.level = 1 AND p.term = ANY($3::text[])))`,
        [info.id, chunkTerms, fileTerms],
      );
      this.assertLive(info, r.rows.length);
      return r.rows.filter((x) => x.level !== null).map((x) => ({ level: x.level!, term: x.term!, data: x.data! }));
    });
  }

  /** Text, header and hash of chunks of a snapshot by document number (one statement, snapshot checked). */
  async chunkTexts(info: SnapshotInfo, docs: readonly number[]): Promise<Array<{ doc: number; header: string; body: string; hash: string }>> {
    return this.withClient(async (c) => {
      const r = await c.query<{ live: string | null; doc: number | null; header: string; body: string; hash: string }>(
        `SELECT s.id AS live, c.doc, c.header, c.body, c.hash FROM (${LIVE_SNAPSHOT}) s
         LEFT JOIN gw_chunks c ON c.snapshot_id = s.id AND c.doc = ANY($2::int[])`,
        [info.id, docs],
      );
      this.assertLive(info, r.rows.length);
      return r.rows.filter((x) => x.doc !== null).map((x) => ({ doc: x.doc!, header: x.header, body: x.body, hash: x.hash }));
    });
  }

  /** No row at all from a {@link LIVE_SNAPSHOT} join: the snapshot was deleted or replaced since it was opened. */
  private assertLive(info: SnapshotInfo, rows: number): void {
    if (rows > 0) return;
    throw new SnapshotGoneError(
      `the snapshot of ${info.repository}@${info.commit.slice(0, 12)} that was opened is no longer on the shared index at ${this.location} (deleted, or replaced by a new publish of its commit); open the repository's snapshot again`,
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The one-row subquery (snapshot `$1`… or `$2` for k-NN) that is empty once the snapshot is gone. */
const LIVE_SNAPSHOT_ID = (param: string) => `SELECT id FROM gw_snapshots WHERE id = ${param} AND state = 'ready'`;
const LIVE_SNAPSHOT = LIVE_SNAPSHOT_ID('$1');

/** Posting entries a reader keeps per level (both levels: twice this; 8 bytes an entry). */
export const DEFAULT_POSTING_CACHE_ENTRIES = 4_000_000;
/** Characters of chunk text a reader keeps (bodies and headers, UTF-16 in memory: 2 bytes each). */
export const DEFAULT_TEXT_CACHE_CHARS = 8_000_000;

/** What a reader holds of a snapshot from its open on: per-document statistics and the file list, no texts, no postings. */
interface SnapshotDocuments {
  /** Files by document number, and their numbers by path. */
  files: Array<Omit<FileEntry, 'chunks'>>;
  fileNumbers: Map<string, number>;
  fileLengths: Float32Array;
  /** Chunks in the snapshot. */
  count: number;
  /** Chunk BM25 lengths by chunk document number. */
  chunkLengths: Float32Array;
  /**
   * What follows `<path>#L<start>-L<end>#` in each chunk's id (the chunker's form), packed; ids of
   * another form are in `irregularIds` (by document number) and `irregular` (by id). Ids are built
   * one at a time ({@link chunkIdOf}), not held: at a million chunks they were most of the open.
   */
  tails: NulStrings;
  irregularIds: Map<number, string>;
  irregular: Map<string, number>;
  /** Per chunk: its file, lines, language ('' = the file's, packed) and symbols (`symbols[symbolStart[d]…symbolStart[d+1]]`, packed). */
  chunkFile: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
  languages: NulStrings;
  symbolStart: Uint32Array;
  symbols: NulStrings;
  /** The chunks of file f, in file order: `fileChunks[fileChunkStart[f]…fileChunkStart[f+1]]`. */
  fileChunkStart: Uint32Array;
  fileChunks: Int32Array;
  /** True when every file's chunks, in that order, have non-decreasing start lines. */
  startsSorted: boolean;
  /** The snapshot's stored symbol table (schema 4), when it was published with one. */
  symbolTable: Record<(typeof SYMBOL_SECTIONS)[number], Buffer> | undefined;
  timings: { filesMs: number; documentsMs: number; decodeMs: number; documentBytes: number };
}

/**
 * UTF-8 strings joined by NUL (PostgreSQL text never holds one), read one at a time. When every byte
 * is ASCII (ids' hash suffixes, most symbols), the whole block is decoded once into one flat string
 * and each string is a slice of it (byte offsets are character offsets); otherwise each string is
 * decoded from its bytes when read.
 */
class NulStrings {
  private readonly ascii: string | undefined;

  private constructor(
    private readonly bytes: Buffer,
    /** Start of string i; `starts[count]` is one past the end (where a next separator would be). */
    private readonly starts: Uint32Array,
  ) {
    let ascii = true;
    for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i]! < 0x80;
    this.ascii = ascii ? bytes.toString('latin1') : undefined;
  }

  /** Splits `bytes` into `count` strings; undefined when it holds another number of them. */
  static of(bytes: Buffer, count: number): NulStrings | undefined {
    const starts = new Uint32Array(count + 1);
    if (!count) return bytes.length ? undefined : new NulStrings(bytes, starts);
    let n = 1;
    for (let at = bytes.indexOf(0); at >= 0; at = bytes.indexOf(0, at + 1)) {
      if (n >= count) return undefined;
      starts[n++] = at + 1;
    }
    if (n !== count) return undefined;
    starts[count] = bytes.length + 1;
    return new NulStrings(bytes, starts);
  }

  get count(): number {
    return this.starts.length - 1;
  }

  at(i: number): string {
    const a = this.starts[i]!;
    const b = this.starts[i + 1]! - 1;
    return this.ascii !== undefined ? this.ascii.slice(a, b) : this.bytes.toString('utf8', a, b);
  }

  /** True when string i is empty (no decoding). */
  empty(i: number): boolean {
    return this.starts[i + 1]! - 1 === this.starts[i];
  }

  /** The first byte of string i (-1 when it is empty). */
  firstByte(i: number): number {
    return this.empty(i) ? -1 : this.bytes[this.starts[i]!]!;
  }
}

/** A chunk's id from the document table. */
function chunkIdOf(docs: SnapshotDocuments, d: number): string {
  return docs.irregularIds.get(d) ?? `${docs.files[docs.chunkFile[d]!]!.path}#L${docs.starts[d]}-L${docs.ends[d]}#${docs.tails.at(d)}`;
}

/**
 * True when chunk a's id sorts after chunk b's (JavaScript order), building neither id when their
 * paths decide it: ids are `<path>#…`, so two paths of which neither starts with the other differ
 * at a position both ids share, and compare there as the ids do. (BM25 ties are broken by id.)
 */
function chunkIdAfter(docs: SnapshotDocuments, a: number, b: number): boolean {
  if (!docs.irregularIds.has(a) && !docs.irregularIds.has(b)) {
    const pa = docs.files[docs.chunkFile[a]!]!.path;
    const pb = docs.files[docs.chunkFile[b]!]!.path;
    if (pa !== pb && !pa.startsWith(pb) && !pb.startsWith(pa)) return pa > pb;
  }
  return chunkIdOf(docs, a) > chunkIdOf(docs, b);
}

/** A section's bytes little-endian (typed arrays are in the machine's order; the table stores LE). */
function littleEndian(name: string, bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return name === 'symKeys' || os.endianness() === 'LE' ? b : Buffer.from(b).swap32();
}

/** A stored section as an aligned buffer in the machine's order (see {@link littleEndian}). */
function machineOrder(name: string, stored: Buffer): Buffer {
  // A 4-byte aligned copy: a Buffer from pg may start anywhere in its pool.
  const b = Buffer.alloc(stored.length);
  stored.copy(b);
  return name === 'symKeys' || os.endianness() === 'LE' || b.length % 4 ? b : b.swap32();
}

/** n big-endian 4-byte values (int4send, float4send) into `out`, in the machine's order; returns `out`. */
function fromBigEndian<T extends Int32Array | Float32Array>(buf: Buffer, out: T): T {
  const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  buf.copy(bytes, 0, 0, out.byteLength);
  if (os.endianness() === 'LE') bytes.swap32();
  return out;
}

interface DocumentsRow {
  chunks: number;
  ids: Buffer;
  lengths: Buffer;
  files: Buffer;
  ords: Buffer;
  starts: Buffer;
  ends: Buffer;
  languages: Buffer;
  symbol_counts: Buffer;
  symbols: Buffer;
}

/** Reads a snapshot's file rows and its packed document table (gw_snapshot_docs); checks they agree. */
async function loadDocuments(c: pg.PoolClient, info: SnapshotInfo): Promise<SnapshotDocuments> {
  const t0 = performance.now();
  const fileRows = await c.query(
    'SELECT doc, path, size, mtime_ms, content_hash, language, method, fallback_reason, lex_length FROM gw_files WHERE snapshot_id = $1 ORDER BY doc',
    [info.id],
  );
  const t1 = performance.now();
  const bad = (why: string) => new IndexError(`the shared snapshot ${info.repository}@${info.commit.slice(0, 12)} is inconsistent (${why}); publish it again`);
  const files: SnapshotDocuments['files'] = [];
  const fileNumbers = new Map<string, number>();
  const fileLengths = new Float32Array(fileRows.rows.length);
  fileRows.rows.forEach((f, i) => {
    if (f.doc !== i) throw bad('file numbers have gaps');
    files.push({
      path: f.path,
      size: Number(f.size),
      mtimeMs: Number(f.mtime_ms),
      contentHash: f.content_hash,
      language: f.language,
      method: f.method as ChunkMethod,
      fallbackReason: f.fallback_reason ?? undefined,
    });
    fileNumbers.set(f.path, i);
    fileLengths[i] = f.lex_length;
  });
  const d = await c.query<DocumentsRow>('SELECT chunks, ids, lengths, files, ords, starts, ends, languages, symbol_counts, symbols FROM gw_snapshot_docs WHERE snapshot_id = $1', [
    info.id,
  ]);
  const sym = await c.query<{ keys: Buffer; key_offsets: Buffer; list_offsets: Buffer; files: Buffer; counts: Buffer }>(
    'SELECT keys, key_offsets, list_offsets, files, counts FROM gw_snapshot_symbols WHERE snapshot_id = $1',
    [info.id],
  );
  const t2 = performance.now();
  const row = d.rows[0];
  const n = row?.chunks ?? 0;
  if (!row && info.chunks > 0) throw bad('no document table');
  if (n !== info.chunks) throw bad(`${n} chunks in its document table, ${info.chunks} recorded`);
  const ints = (buf: Buffer | undefined, what: string): Int32Array => {
    if (n && (!buf || buf.length !== n * 4)) throw bad(`${what} has ${buf?.length ?? 0} bytes for ${n} chunks`);
    return fromBigEndian(buf ?? Buffer.alloc(0), new Int32Array(n));
  };
  const strings = (buf: Buffer | undefined, count: number, what: string): NulStrings => {
    const packed = NulStrings.of(buf ?? Buffer.alloc(0), count);
    if (!packed) throw bad(`${what} do not hold ${count} entries`);
    return packed;
  };
  if (n && row!.lengths.length !== n * 4) throw bad('chunk lengths');
  const chunkLengths = fromBigEndian(row?.lengths ?? Buffer.alloc(0), new Float32Array(n));
  const chunkFile = ints(row?.files, 'the file column');
  const ords = ints(row?.ords, 'the order column');
  const starts = ints(row?.starts, 'the start lines');
  const ends = ints(row?.ends, 'the end lines');
  const languages = strings(row?.languages, n, 'the languages');
  const counts = ints(row?.symbol_counts, 'the symbol counts');
  const symbolStart = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) symbolStart[i + 1] = symbolStart[i]! + counts[i]!;
  const symbols = strings(row?.symbols, symbolStart[n]!, 'the symbols');
  const tails = strings(row?.ids, n, 'the chunk ids');
  const irregularIds = new Map<number, string>();
  const irregular = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (chunkFile[i]! < 0 || chunkFile[i]! >= files.length) throw bad(`chunk ${i} names file ${chunkFile[i]}`);
    // \x01 marks an id of another form than the chunker's, stored whole.
    if (tails.firstByte(i) === 1) {
      const id = tails.at(i).slice(1);
      irregularIds.set(i, id);
      irregular.set(id, i);
    }
  }
  // Each file's chunks in order: counting sort by file, then by ord within a file.
  const fileChunkStart = new Uint32Array(files.length + 1);
  for (let i = 0; i < n; i++) fileChunkStart[chunkFile[i]! + 1]!++;
  for (let f = 0; f < files.length; f++) fileChunkStart[f + 1]! += fileChunkStart[f]!;
  const fill = fileChunkStart.slice(0, files.length);
  const fileChunks = new Int32Array(n);
  for (let i = 0; i < n; i++) fileChunks[fill[chunkFile[i]!]!++] = i;
  for (let f = 0; f < files.length; f++) {
    const a = fileChunkStart[f]!;
    const b = fileChunkStart[f + 1]!;
    let sorted = true;
    for (let j = a + 1; j < b && sorted; j++) sorted = ords[fileChunks[j - 1]!]! <= ords[fileChunks[j]!]!;
    if (!sorted)
      fileChunks.set(
        Array.from(fileChunks.subarray(a, b)).sort((x, y) => ords[x]! - ords[y]!),
        a,
      );
  }
  // Chunks are in line order within their files (the chunker's order): then a chunk is found by
  // its start line with a binary search. Checked, not assumed.
  let startsSorted = true;
  for (let f = 0; f < files.length && startsSorted; f++) {
    for (let j = fileChunkStart[f]! + 1; j < fileChunkStart[f + 1]! && startsSorted; j++) startsSorted = starts[fileChunks[j - 1]!]! <= starts[fileChunks[j]!]!;
  }
  const s = sym.rows[0];
  const symbolTable = s
    ? {
        symKeys: machineOrder('symKeys', s.keys),
        symKeyOffsets: machineOrder('symKeyOffsets', s.key_offsets),
        symListOffsets: machineOrder('symListOffsets', s.list_offsets),
        symFiles: machineOrder('symFiles', s.files),
        symCounts: machineOrder('symCounts', s.counts),
      }
    : undefined;
  const t3 = performance.now();
  const documentBytes = [...(row ? Object.values(row) : []), ...(s ? Object.values(s) : [])].reduce((sum: number, v: unknown) => sum + (Buffer.isBuffer(v) ? v.length : 0), 0);
  return {
    files,
    fileNumbers,
    fileLengths,
    count: n,
    chunkLengths,
    tails,
    irregularIds,
    irregular,
    chunkFile,
    starts,
    ends,
    languages,
    symbolStart,
    symbols,
    fileChunkStart,
    fileChunks,
    startsSorted,
    symbolTable,
    timings: { filesMs: Math.round(t1 - t0), documentsMs: Math.round(t2 - t1), decodeMs: Math.round(t3 - t2), documentBytes },
  };
}

/** A chunk of a snapshot: lines and symbols from the document table; text, header and hash fetched on demand. */
class SnapshotChunk implements Chunk {
  readonly id: string;
  readonly path: string;
  readonly startLine: number;
  readonly endLine: number;
  private lang: string | undefined;
  private syms: string[] | undefined;

  constructor(
    readonly owner: PgSnapshotIndex,
    readonly doc: number,
    private readonly docs: SnapshotDocuments,
  ) {
    this.id = chunkIdOf(docs, doc);
    this.path = docs.files[docs.chunkFile[doc]!]!.path;
    this.startLine = docs.starts[doc]!;
    this.endLine = docs.ends[doc]!;
  }

  /** Decoded when first read (most chunks a search touches are never shown). */
  get language(): string {
    this.lang ??= this.docs.languages.empty(this.doc) ? this.docs.files[this.docs.chunkFile[this.doc]!]!.language : this.docs.languages.at(this.doc);
    return this.lang;
  }

  get symbols(): string[] {
    if (!this.syms) {
      this.syms = [];
      for (let i = this.docs.symbolStart[this.doc]!; i < this.docs.symbolStart[this.doc + 1]!; i++) this.syms.push(this.docs.symbols.at(i));
    }
    return this.syms;
  }

  get text(): string {
    return this.owner.textOf(this).body;
  }

  get header(): string {
    return this.owner.textOf(this).header;
  }

  get hash(): string {
    return this.owner.textOf(this).hash;
  }
}

interface ChunkText {
  header: string;
  body: string;
  hash: string;
}

/** The snapshot's stored symbol table (schema 4), checked against its file list. */
function storedSymbols(docs: SnapshotDocuments, snapshot: SnapshotInfo): EditableSymbols {
  try {
    return new LayeredSymbolTable(StoredSymbolTable.from(docs.symbolTable!, docs.files.length, (f) => docs.files[f]!.path));
  } catch (err) {
    throw new IndexError(`the shared snapshot ${snapshot.repository}@${snapshot.commit.slice(0, 12)} is inconsistent (its symbol table: ${errMessage(err)}); publish it again`);
  }
}

/** The symbol table of a snapshot published without one (before schema 4), from every chunk's symbols. */
function builtSymbols(docs: SnapshotDocuments): SymbolTable {
  return SymbolTable.of(
    docs.files.map((file, f) => {
      const chunks: Array<Pick<Chunk, 'symbols'>> = [];
      for (let j = docs.fileChunkStart[f]!; j < docs.fileChunkStart[f + 1]!; j++) {
        const d = docs.fileChunks[j]!;
        const symbols: string[] = [];
        for (let i = docs.symbolStart[d]!; i < docs.symbolStart[d + 1]!; i++) symbols.push(docs.symbols.at(i));
        chunks.push({ symbols });
      }
      return { path: file.path, chunks };
    }),
  );
}

/**
 * A ready snapshot as retrieval reads it. Held from the open on: the file list and each chunk's
 * id, lines, symbols and BM25 length (proportional to the files and chunks, not to the postings or
 * the texts). Fetched per search and kept in bounded caches: the posting lists of the query's
 * terms ({@link prepare}, one statement for both levels) and the texts of the chunks the ranking
 * reads ({@link loadTexts}, one statement). Vectors stay on the server. Every fetch checks that the
 * snapshot is still there and fails with {@link SnapshotGoneError} otherwise, so nothing of another
 * snapshot is ever mixed in.
 */
class PgSnapshotIndex implements StoredIndex {
  readonly generation = 0;
  readonly lexical: LexicalIndex;
  readonly fileLexical: LexicalIndex;
  readonly symbols: EditableSymbols;
  /** Where the open spent its time (the benchmark prints it). */
  readonly openTimings: SnapshotDocuments['timings'];
  private readonly texts = new Map<number, ChunkText>();
  private textChars = 0;

  constructor(
    private readonly store: PostgresStore,
    readonly snapshot: SnapshotInfo,
    private readonly docs: SnapshotDocuments,
    private readonly roots: readonly WorkspaceRoot[],
    readonly vectors: VectorSearch | undefined,
    readonly embedder: Embedder | undefined,
    private readonly limits: { postings: number; textChars: number },
  ) {
    this.openTimings = docs.timings;
    this.lexical = LexicalIndex.partial({ count: docs.count, idOf: (d) => chunkIdOf(docs, d), after: (a, b) => chunkIdAfter(docs, a, b) }, docs.chunkLengths, (id) =>
      this.chunkNumber(id),
    );
    this.fileLexical = LexicalIndex.partial(
      docs.files.map((f) => f.path),
      docs.fileLengths,
      (p) => docs.fileNumbers.get(p),
    );
    this.symbols = docs.symbolTable ? storedSymbols(docs, snapshot) : builtSymbols(docs);
  }

  get fileCount(): number {
    return this.docs.files.length;
  }

  get chunkCount(): number {
    return this.docs.count;
  }

  /** A chunk's document number from its id: through its file for the chunker's ids (no map over all chunks). */
  private chunkNumber(id: string): number | undefined {
    const m = /#L(\d+)-L(\d+)#([^#]*)$/.exec(id);
    if (m) {
      const f = this.docs.fileNumbers.get(id.slice(0, m.index));
      if (f !== undefined) {
        const start = Number(m[1]);
        const end = Number(m[2]);
        const { fileChunks, starts, ends } = this.docs;
        let j = this.docs.fileChunkStart[f]!;
        const stop = this.docs.fileChunkStart[f + 1]!;
        if (this.docs.startsSorted) {
          // The first of the file's chunks (in line order) that starts on `start` or later.
          let hi = stop;
          while (j < hi) {
            const mid = (j + hi) >>> 1;
            if (starts[fileChunks[mid]!]! < start) j = mid + 1;
            else hi = mid;
          }
        }
        // Lines first; the id's tail is decoded only for the chunk (usually one) on those lines.
        for (; j < stop; j++) {
          const d = fileChunks[j]!;
          if (this.docs.startsSorted && starts[d]! > start) break;
          if (starts[d] === start && ends[d] === end && !this.docs.irregularIds.has(d) && this.docs.tails.at(d) === m[3]) return d;
        }
      }
    }
    return this.docs.irregular.get(id);
  }

  private chunkAt(d: number): SnapshotChunk {
    return new SnapshotChunk(this, d, this.docs);
  }

  getChunk(id: string): Chunk | undefined {
    const d = this.chunkNumber(id);
    return d === undefined ? undefined : this.chunkAt(d);
  }

  getFile(indexPath: string): FileEntry | undefined {
    const f = this.docs.fileNumbers.get(indexPath);
    if (f === undefined) return undefined;
    const docs = this.docs;
    let chunks: Chunk[] | undefined;
    // The chunks are built when first read: retrieval looks most files up only to know they are here.
    return Object.defineProperty({ ...docs.files[f]! }, 'chunks', {
      enumerable: true,
      get: () => {
        if (!chunks) {
          chunks = [];
          for (let j = docs.fileChunkStart[f]!; j < docs.fileChunkStart[f + 1]!; j++) chunks.push(this.chunkAt(docs.fileChunks[j]!));
        }
        return chunks;
      },
    }) as FileEntry;
  }

  indexedPaths(): string[] {
    return this.docs.files.map((f) => f.path);
  }

  absolutePath(indexPath: string): string | undefined {
    return this.roots.length ? absolutePathOf(this.roots, indexPath) : undefined;
  }

  async prepare(terms: readonly string[], signal?: AbortSignal): Promise<PreparedSearch> {
    signal?.throwIfAborted();
    const chunkTerms = this.lexical.missingTerms(terms);
    const fileTerms = this.fileLexical.missingTerms(terms);
    if (chunkTerms.length || fileTerms.length) {
      const rows = await this.store.postings(this.snapshot, chunkTerms, fileTerms);
      const found: Array<Array<{ term: string; docs: Int32Array; tfs: Float32Array }>> = [[], []];
      for (const r of rows) found[r.level]?.push({ term: r.term, ...unpackPostings(r.data, r.term) });
      const absent = (asked: string[], got: Array<{ term: string }>) => {
        const have = new Set(got.map((g) => g.term));
        return asked.filter((t) => !have.has(t));
      };
      this.lexical.addPostings(found[0]!, absent(chunkTerms, found[0]!));
      this.fileLexical.addPostings(found[1]!, absent(fileTerms, found[1]!));
    }
    const releases = [this.lexical.pinPostings(terms), this.fileLexical.pinPostings(terms)];
    this.lexical.evictPostings(this.limits.postings);
    this.fileLexical.evictPostings(this.limits.postings);
    return { release: () => releases.forEach((r) => r()) };
  }

  async loadTexts(chunks: readonly Chunk[], signal?: AbortSignal): Promise<void> {
    const wanted = new Set<number>();
    const needed = new Set<number>();
    for (const c of chunks) {
      if (!(c instanceof SnapshotChunk) || c.owner !== this) continue;
      needed.add(c.doc);
      const held = this.texts.get(c.doc);
      if (held) {
        // Most recently used.
        this.texts.delete(c.doc);
        this.texts.set(c.doc, held);
      } else wanted.add(c.doc);
    }
    if (!wanted.size) return;
    signal?.throwIfAborted();
    const rows = await this.store.chunkTexts(this.snapshot, [...wanted]);
    if (rows.length !== wanted.size)
      throw new IndexError(`the shared snapshot ${this.snapshot.repository}@${this.snapshot.commit.slice(0, 12)} is inconsistent (chunk texts missing); publish it again`);
    // Make room first, and never from what this call asked for: the caller reads it next.
    const incoming = rows.reduce((n, r) => n + r.body.length + r.header.length, 0);
    for (const [doc, t] of this.texts) {
      if (this.textChars + incoming <= this.limits.textChars) break;
      if (needed.has(doc)) continue;
      this.texts.delete(doc);
      this.textChars -= t.body.length + t.header.length;
    }
    for (const r of rows) {
      this.texts.set(r.doc, { header: r.header, body: r.body, hash: r.hash });
      this.textChars += r.body.length + r.header.length;
    }
  }

  /** The fetched text of a chunk; reading one that was not fetched is a programming error. */
  textOf(c: SnapshotChunk): ChunkText {
    const t = this.texts.get(c.doc);
    if (!t) throw new Error(`the text of ${c.id} was not fetched from the shared index before it was read (a missing loadTexts step)`);
    return t;
  }

  async close(): Promise<void> {
    // Nothing is held open: the store's pool is closed by its owner.
  }
}

/** A packed posting list: n big-endian int4 document numbers, then n float4 tfs. */
function unpackPostings(data: Buffer, term: string): { docs: Int32Array; tfs: Float32Array } {
  if (data.length % 8) throw new IndexError(`the shared snapshot is inconsistent (postings of "${term}")`);
  const n = data.length / 8;
  const docs = new Int32Array(n);
  const tfs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    docs[i] = data.readInt32BE(i * 4);
    tfs[i] = data.readFloatBE((n + i) * 4);
  }
  return { docs, tfs };
}

/** The packed form of {@link unpackPostings} (what migration 3 builds in SQL). */
function packPostings(p: LexicalPostings, t: number): Buffer {
  const a = p.offsets[t]!;
  const n = p.offsets[t + 1]! - a;
  const buf = Buffer.allocUnsafe(n * 8);
  for (let i = 0; i < n; i++) {
    buf.writeInt32BE(p.docs[a + i]!, i * 4);
    buf.writeFloatBE(p.tfs[a + i]!, (n + i) * 4);
  }
  return buf;
}

class PgVectorSearch implements VectorSearch {
  constructor(
    private readonly store: PostgresStore,
    private readonly info: SnapshotInfo,
    private readonly idOf: (doc: number) => string | undefined,
  ) {}

  get count(): number {
    return this.info.vectors;
  }

  async query(vector: Float32Array, k: number): Promise<VectorNeighbour[]> {
    const rows = await this.store.nearest(this.info, vector, k);
    const out: VectorNeighbour[] = [];
    for (const r of rows) {
      const id = this.idOf(r.doc);
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
  const data: Buffer[] = [];
  for (let t = from; t < to; t++) {
    terms.push(p.terms[t]!);
    data.push(packPostings(p, t));
  }
  await c.query(`INSERT INTO gw_postings (snapshot_id, level, term, data) SELECT $1, $2, u.term, u.data FROM unnest($3::text[], $4::bytea[]) AS u(term, data)`, [
    snapshotId,
    level,
    terms,
    data,
  ]);
}

/**
 * Postings as schema 1-2 stored them (int[] and real[] per term): written only by a store told to
 * stay at such a schema (`migrateTo`), which the tests of migration 3 use to build an old database.
 */
async function insertPostingsV2(c: pg.PoolClient, snapshotId: number, level: number, p: LexicalPostings, from: number, to: number): Promise<void> {
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
