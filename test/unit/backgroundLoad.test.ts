/**
 * A writer that answers from a read-only view while it loads in memory (`serveWhileLoading`, issue 10:
 * the extension's index worker): searches during the load equal searches after it, edits made during
 * the load are indexed once it ends, close() during the load leaves nothing open or half-written, and
 * a failure found by the background load takes the open's rebuild or error path.
 */
import { strict as assert } from 'node:assert';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import type { Logger } from '../../src/core/types';
import { rootsFromDirs, WorkspaceIndex, type IndexProgress, type OpenOptions } from '../../src/core/workspaceIndex';
import { CatalogCorruptError } from '../../src/core/catalog';
import { IndexLockedError } from '../../src/core/indexLock';
import { errMessage } from '../../src/core/errMessage';

const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');

/** The index worker's answer to a request (src/vscode/indexWorker.ts, which only the extension imports). */
type WorkerResponse = { id: number; result: unknown } | { id: number; error: { name: string; message: string } };

const QUERIES = [
  'token bucket rate limiting per client',
  'how are session tokens signed and verified?',
  'hash a password',
  'export rows to csv',
  'router middleware',
  'deployment',
  'TokenBucket',
  'where is verifySession implemented and how is it used',
];

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
}

/** Descriptors this process has open (Linux; undefined elsewhere). */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Every file under `dir` with its size and content, to check that nothing was written. */
function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'index.lock') out[path.relative(dir, p)] = `${statSync(p).size}:${readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

describe('writer serving searches while it loads', function () {
  let tmp: string;
  let ws: string;
  let indexDir: string;
  let opened: WorkspaceIndex[] = [];

  async function open(extra: Partial<OpenOptions> = {}): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, ...extra });
    opened.push(index);
    return index;
  }

  async function build(extra: Partial<OpenOptions> = {}): Promise<void> {
    const w = await open(extra);
    await w.update();
    await w.close();
  }

  const hitsOf = (index: WorkspaceIndex) =>
    Promise.all(
      QUERIES.map(async (q) => (await search(index, q, { k: 10 })).map((h) => [h.path, h.startLine, h.endLine, h.score, h.text, h.retrievers, h.lexicalScore, h.vectorScore])),
    );

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-bgload-'));
    ws = path.join(tmp, 'ws');
    indexDir = path.join(tmp, 'index');
    cpSync(FIXTURE, ws, { recursive: true });
  });
  afterEach(async () => {
    for (const i of opened) await i.close();
    opened = [];
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const vectors of [false, true]) {
    it(`answers during the load exactly as after it and as a writer that loads first${vectors ? ' (hybrid, with vectors)' : ''}`, async () => {
      const embedder = () => (vectors ? { embedder: new HashingTestEmbedder(64) } : {});
      await build(embedder());
      const plain = await open(embedder());
      const expected = await hitsOf(plain);
      const paths = plain.indexedPaths();
      const status = await plain.status();
      await plain.close();

      const index = await open({ ...embedder(), serveWhileLoading: true });
      assert.ok(index.isLoading, 'the open returned before the in-memory load');
      assert.ok(index.prepare, 'searches read the on-disk view meanwhile');
      assert.equal(index.fileCount, paths.length);
      assert.equal(index.chunkCount, status.chunks);
      assert.deepEqual(index.indexedPaths(), paths);
      assert.equal(index.vectorState(), vectors ? 'ready' : 'off');
      const during = await hitsOf(index);
      assert.ok(index.isLoading, 'those searches ran on the view');
      assert.deepEqual(during, expected);
      await index.whenLoaded();
      assert.ok(!index.isLoading);
      assert.equal(index.prepare, undefined, 'after the switch searches read memory');
      assert.deepEqual(await hitsOf(index), expected);
      assert.deepEqual(index.indexedPaths(), paths);
      const after = await index.status();
      assert.equal(after.files, status.files);
      assert.equal(after.chunks, status.chunks);
      assert.deepEqual(after.languages, status.languages);
    });
  }

  it('keeps the view open for a search that began on it until that search ends, then closes it', async () => {
    await build();
    const index = await open({ serveWhileLoading: true });
    const entry = index.getFile('src/http/rateLimit.ts')!;
    const unread = index.getFile('src/server.ts')!;
    // What a search holds from prepare to release.
    const held = await index.prepare!(['token', 'bucket']);
    await index.whenLoaded();
    assert.equal(index.prepare, undefined);
    // Switched over, but this search's files are still open.
    assert.ok(entry.chunks[0]!.text.length > 0);
    held.release();
    // The view is closed now: what it had not read cannot be read any more, and says so.
    assert.throws(() => unread.chunks, /closed/);
    assert.ok(index.getFile('src/server.ts')!.chunks.length > 0, 'the loaded catalog answers');
  });

  it('indexes an edit made during the load once the load ends; until then searches see the index as it was', async () => {
    await build();
    const index = await open({ serveWhileLoading: true });
    assert.ok(index.isLoading);
    writeFileSync(path.join(ws, 'src/quokka.ts'), 'export const quokkaHabitat = "Rottnest";\n');
    writeFileSync(path.join(ws, 'src/http/rateLimit.ts'), 'export function zebraCrossingTimer() { return 42; }\n');
    const updating = index.updateFiles([path.join(ws, 'src/quokka.ts'), path.join(ws, 'src/http/rateLimit.ts')]);
    assert.deepEqual(await search(index, 'quokkaHabitat'), [], 'not before the load ended');
    assert.equal((await search(index, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
    assert.deepEqual((await updating).sort(), ['src/http/rateLimit.ts', 'src/quokka.ts']);
    assert.ok(!index.isLoading);
    assert.equal((await search(index, 'quokkaHabitat'))[0]?.path, 'src/quokka.ts');
    assert.equal((await search(index, 'zebraCrossingTimer'))[0]?.path, 'src/http/rateLimit.ts');
    assert.notEqual((await search(index, 'token bucket rate limiting'))[0]?.path, 'src/http/rateLimit.ts');
    await index.close();
    // Persisted: a read-only open (on demand) sees the edits.
    const reader = await open({ write: false });
    assert.ok(reader.prepare);
    assert.equal((await search(reader, 'quokkaHabitat'))[0]?.path, 'src/quokka.ts');
  });

  it('runs a full update after the load, reporting the load phase first', async () => {
    await build();
    writeFileSync(path.join(ws, 'src/quokka.ts'), 'export const quokkaHabitat = "Rottnest";\n');
    const index = await open({ serveWhileLoading: true });
    const phases: string[] = [];
    const summary = await index.update({ onProgress: (p: IndexProgress) => phases[phases.length - 1] !== p.phase && phases.push(p.phase) });
    assert.deepEqual(phases.slice(0, 3), ['load', 'scan', 'chunk']);
    assert.equal(summary.filesChanged, 1);
    assert.equal((await search(index, 'quokkaHabitat'))[0]?.path, 'src/quokka.ts');
  });

  it('closes cleanly at any point of the load: no descriptor left open, nothing written, the lock released', async () => {
    await build();
    const before = folderState(indexDir);
    const fds = openFds();
    // Closed at once, and after more and more of the load's steps (each step is one event-loop turn).
    for (const turns of [0, 1, 3, 10, 30, 60, 200]) {
      const index = await open({ serveWhileLoading: true });
      assert.ok(index.isLoading);
      for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
      await index.close();
      await index.whenLoaded();
      assert.equal(openFds(), fds, `descriptors after a close ${turns} turns into the load`);
      assert.deepEqual(folderState(indexDir), before, `nothing written by a close ${turns} turns into the load`);
    }
    // The lock is free and the index sound.
    const writer = await open();
    assert.equal((await search(writer, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
  });

  it('keeps one writer per folder while it loads', async () => {
    await build();
    const index = await open({ serveWhileLoading: true });
    assert.ok(index.isLoading);
    await assert.rejects(() => open(), IndexLockedError);
    await assert.rejects(() => open({ serveWhileLoading: true }), IndexLockedError);
    // A reader may open next to it.
    const reader = await open({ write: false });
    assert.equal((await search(reader, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
  });

  it('a catalog record that fails its checksum, found by the background load, rebuilds the index as an open would', async () => {
    await build();
    const dir = path.join(indexDir, 'catalog');
    // One byte of one file's record garbled: the header lines (all a view reads at open) are sound.
    const shard = readdirSync(dir).find((n) => n.endsWith('.json') && readFileSync(path.join(dir, n)).length > readFileSync(path.join(dir, n)).indexOf(10) + 40)!;
    const nl = readFileSync(path.join(dir, shard)).indexOf(10);
    const fd = openSync(path.join(dir, shard), 'r+');
    writeSync(fd, Buffer.from('#'), 0, 1, nl + 30);
    closeSync(fd);
    const backup = path.join(tmp, 'backup');
    cpSync(indexDir, backup, { recursive: true });

    // What a writer that loads first does with it.
    const plainLog = recordingLogger();
    const plain = await open({ logger: plainLog });
    assert.equal(plain.fileCount, 0);
    await plain.close();
    const rebuildLine = plainLog.lines.find((l) => /Rebuilding the index: catalog shard .* fails its checksum/.test(l));
    assert.ok(rebuildLine, plainLog.lines.join('\n'));

    rmSync(indexDir, { recursive: true });
    cpSync(backup, indexDir, { recursive: true });
    const log = recordingLogger();
    const index = await open({ logger: log, serveWhileLoading: true });
    assert.ok(index.isLoading, 'the view opened: it reads records only when asked');
    assert.ok(index.fileCount > 0);
    await index.whenLoaded();
    assert.ok(log.lines.includes(rebuildLine), log.lines.join('\n'));
    assert.equal(index.fileCount, 0, 'the rebuild starts from an empty index, as the open does');
    assert.deepEqual(await search(index, 'token bucket'), []);
    const summary = await index.update();
    assert.ok(summary.filesIndexed >= 9);
    assert.equal((await search(index, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
  });

  it('a garbled posting section, found by the background load, is rebuilt from the stored chunks with a log line; the view reports the list it cannot use', async () => {
    await build();
    const expected = await hitsOf(await open());
    await opened.pop()!.close();
    const lexical = path.join(indexDir, 'lexical.bin');
    const whole = readFileSync(lexical);
    const table = JSON.parse(whole.subarray(16, 16 + whole.readUInt32LE(8)).toString()).sections as Record<string, number[]>;
    const fd = openSync(lexical, 'r+');
    writeSync(fd, Buffer.alloc(table.tfs![1]!, 0x7f), 0, table.tfs![1], table.tfs![0]);
    closeSync(fd);
    const log = recordingLogger();
    const index = await open({ logger: log, serveWhileLoading: true });
    assert.ok(index.isLoading, 'the dictionaries are sound: the view opens');
    await assert.rejects(() => search(index, 'token bucket'), /checksum/);
    await index.whenLoaded();
    assert.ok(
      log.lines.some((l) => /warn: The lexical index is unreadable \(.*tfs fails its checksum.*\); rebuilding it from stored chunks/.test(l)),
      log.lines.join('\n'),
    );
    assert.deepEqual(await hitsOf(index), expected);
    await index.close();
    // Rewritten sound at close: a read-only open reads it on demand again.
    const reader = await open({ write: false });
    assert.ok(reader.prepare);
    assert.deepEqual(await hitsOf(reader), expected);
  });

  it('any other failure of the background load is the error the open would throw, from every writing call; the view keeps answering', async () => {
    await build();
    // A folder where the writer's catalog open removes orphaned text files: removing it fails (not a corrupt index).
    mkdirSync(path.join(indexDir, 'catalog', 'shard-99.g1.txt'));
    writeFileSync(path.join(indexDir, 'catalog', 'shard-99.g1.txt', 'x'), 'x');
    const plain = await open().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    assert.ok(plain instanceof Error && !(plain instanceof CatalogCorruptError), String(plain));
    const log = recordingLogger();
    const index = await open({ logger: log, serveWhileLoading: true });
    await assert.rejects(
      () => index.whenLoaded(),
      (err: unknown) => (err as Error).message === plain.message,
    );
    assert.ok(log.lines.includes(`error: Could not load the index: ${errMessage(plain)}`), log.lines.join('\n'));
    await assert.rejects(
      () => index.update(),
      (err: unknown) => (err as Error).message === plain.message,
    );
    await assert.rejects(
      () => index.updateFiles([path.join(ws, 'src/server.ts')]),
      (err: unknown) => (err as Error).message === plain.message,
    );
    assert.equal((await search(index, 'token bucket'))[0]?.path, 'src/http/rateLimit.ts');
    const fds = openFds();
    await index.close();
    assert.ok(fds === undefined || openFds()! < fds, 'the view closed with the index');
  });

  it('the index worker answers open once the view is up, retrieves during the load, and updates after it', async () => {
    await build();
    const worker = new Worker(path.join(repoRoot(), 'dist/indexWorker.js'));
    let next = 1;
    const waiting = new Map<number, (r: WorkerResponse) => void>();
    worker.on('message', (msg: WorkerResponse | { event: string }) => {
      if ('id' in msg) waiting.get(msg.id)?.(msg);
    });
    const call = (method: string, params: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const id = next++;
        waiting.set(id, (r) => ('error' in r ? reject(new Error(r.error.message)) : resolve(r.result)));
        worker.postMessage({ id, method, params });
      });
    try {
      const result = (await call('open', {
        roots: rootsFromDirs([ws]),
        indexDir,
        options: {},
        embed: { provider: 'none' },
        autoDownload: false,
      })) as { files: number; chunks: number; loading: boolean };
      assert.ok(result.files >= 9);
      assert.equal(result.loading, true, 'searchable before the in-memory load ended');
      const retrieved = (await call('retrieve', { query: 'token bucket rate limiting per client', k: 5 })) as { hits: Array<{ path: string }> };
      assert.equal(retrieved.hits[0]?.path, 'src/http/rateLimit.ts');
      writeFileSync(path.join(ws, 'src/quokka.ts'), 'export const quokkaHabitat = "Rottnest";\n');
      const summary = (await call('update', {})) as { filesChanged: number };
      assert.equal(summary.filesChanged, 1);
      const found = (await call('retrieve', { query: 'quokkaHabitat', k: 5 })) as { hits: Array<{ path: string }> };
      assert.equal(found.hits[0]?.path, 'src/quokka.ts');
      await call('close', {});
    } finally {
      await worker.terminate();
    }
  });
});
