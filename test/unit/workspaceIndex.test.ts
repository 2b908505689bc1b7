import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import type { Logger } from '../../src/core/types';
import { rootsFromDirs, WorkspaceIndex, type IndexProgress, type OpenOptions } from '../../src/core/workspaceIndex';
import { IndexError } from '../../src/core/indexError';

const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');

/** A logger that records what it was told, to check that rebuilds say why. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
}

describe('workspace index', function () {
  let ws: string;
  let indexDir: string;
  let opened: WorkspaceIndex[] = [];

  async function open(extra: Partial<OpenOptions> = {}): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, ...extra });
    opened.push(index);
    return index;
  }

  beforeEach(() => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'gw-index-'));
    ws = path.join(tmp, 'ws');
    indexDir = path.join(tmp, 'index');
    cpSync(FIXTURE, ws, { recursive: true });
  });
  afterEach(async () => {
    for (const i of opened) await i.close();
    opened = [];
    rmSync(path.dirname(ws), { recursive: true, force: true });
  });

  it('indexes a workspace, reports progress phases, and finds code by question', async () => {
    const index = await open();
    const phases = new Set<string>();
    const summary = await index.update({ onProgress: (p: IndexProgress) => phases.add(p.phase) });
    assert.ok(summary.filesIndexed >= 9, `indexed ${summary.filesIndexed}`);
    assert.equal(summary.vectors, 'off');
    assert.ok(summary.languages.typescript! >= 5);
    assert.ok(
      ['scan', 'chunk', 'write', 'done'].every((p) => phases.has(p)),
      [...phases].join(),
    );
    const hits = await search(index, 'how are session tokens signed and verified?');
    assert.equal(hits[0]?.path, 'src/auth/session.ts');
    assert.ok(hits[0].startLine >= 1 && hits[0].endLine >= hits[0].startLine);
    assert.deepEqual(hits[0].retrievers, ['lexical']);
  });

  it('finds every chunk by its id after a reopen, though the catalog does not store ids (a folder named "#L1", a split long line)', async () => {
    const odd = path.join(ws, 'src', 'odd#L1-L2#folder');
    mkdirSync(odd, { recursive: true });
    writeFileSync(path.join(odd, 'strange.ts'), 'export function strangeFolderMarker() {\n  return 1;\n}\n');
    // One line far over the chunk budget is split by characters into pieces with `@<part>` ids.
    // (Short lines around it, so the file is not taken for minified code.)
    const short = Array.from({ length: 60 }, (_, i) => `export const value${i} = ${i} * 2; // plain`).join('\n');
    writeFileSync(
      path.join(ws, 'src', 'longline.ts'),
      `${short}\nexport const table = [${Array.from({ length: 150 }, (_, i) => `"e${i}"`).join(', ')}];\n${short.replace(/value/g, 'other')}\n`,
    );
    const writer = await open();
    await writer.update();
    const before = new Map<string, string>();
    for (const p of writer.indexedPaths()) for (const c of writer.getFile(p)!.chunks) before.set(c.id, c.text);
    assert.ok(
      [...before.keys()].some((id) => id.includes('@')),
      'the long line was split into pieces',
    );
    assert.ok([...before.keys()].some((id) => id.startsWith('src/odd#L1-L2#folder/strange.ts#L1-')));
    const chunkCount = writer.chunkCount;
    await writer.close();
    const catalogText = readdirSync(path.join(indexDir, 'catalog'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => readFileSync(path.join(indexDir, 'catalog', f), 'utf8'))
      .join('');
    assert.doesNotMatch(catalogText, /"id":/);
    const reader = await open({ write: false });
    assert.equal(reader.chunkCount, chunkCount);
    assert.equal(before.size, chunkCount);
    for (const [id, text] of before) {
      const c = reader.getChunk(id);
      assert.equal(c?.id, id);
      assert.equal(c.text, text);
    }
    assert.equal(reader.getChunk('src/odd#L1-L2#folder/strange.ts#L1-L3#00000000'), undefined);
    assert.equal(reader.getChunk('no-such-file.ts#L1-L2#12345678'), undefined);
    const hits = await search(reader, 'strangeFolderMarker');
    assert.equal(hits[0]?.path, 'src/odd#L1-L2#folder/strange.ts');
  });

  it('re-indexes only changed files, forgets deleted ones, and keeps everything across a reopen', async () => {
    let index = await open();
    await index.update();
    const second = await index.update();
    assert.equal(second.filesChanged, 0);
    assert.equal(second.filesUnchanged, second.filesIndexed);

    writeFileSync(
      path.join(ws, 'src/http/rateLimit.ts'),
      `${readFileSync(path.join(ws, 'src/http/rateLimit.ts'), 'utf8')}\nexport function burstAllowanceForPlan(plan: string) { return plan === 'pro' ? 100 : 20; }\n`,
    );
    unlinkSync(path.join(ws, 'src/auth/passwords.ts'));
    const third = await index.update();
    assert.equal(third.filesChanged, 1);
    assert.equal(third.filesRemoved, 1);
    assert.equal((await search(index, 'burstAllowanceForPlan'))[0]?.path, 'src/http/rateLimit.ts');
    assert.ok(!(await search(index, 'scrypt password hashing salt')).some((h) => h.path === 'src/auth/passwords.ts'));
    const before = await search(index, 'rename temporary file so a crash never leaves half-written data');
    await index.close();

    index = await open();
    assert.equal(index.fileCount, third.filesIndexed);
    assert.deepEqual(await search(index, 'rename temporary file so a crash never leaves half-written data'), before);
    // The deleted file is gone from disk, not only hidden.
    const catalog = readdirSync(path.join(indexDir, 'catalog'))
      .map((f) => readFileSync(path.join(indexDir, 'catalog', f), 'utf8'))
      .join('');
    assert.ok(!catalog.includes('passwords.ts'));
    assert.ok(!readFileSync(path.join(indexDir, 'lexical.bin')).includes('passwords.ts'));
  });

  it('makes a saved file searchable through updateFiles, and forgets a deleted or newly ignored one', async () => {
    const index = await open();
    await index.update();
    const file = path.join(ws, 'src/store/todoStore.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nexport function archiveCompletedTodos() { return 0; }\n`);
    assert.deepEqual(await index.updateFiles([file]), ['src/store/todoStore.ts']);
    assert.equal((await search(index, 'archiveCompletedTodos'))[0]?.path, 'src/store/todoStore.ts');
    writeFileSync(path.join(ws, '.groundworkignore'), 'src/store/\n');
    assert.deepEqual(await index.updateFiles([file]), ['src/store/todoStore.ts']);
    assert.ok(!(await search(index, 'archiveCompletedTodos')).some((h) => h.path === 'src/store/todoStore.ts'));
    unlinkSync(path.join(ws, 'src/http/router.ts'));
    assert.deepEqual(await index.updateFiles([path.join(ws, 'src/http/router.ts')]), ['src/http/router.ts']);
    assert.equal(index.getFile('src/http/router.ts'), undefined);
  });

  describe('with vectors (deterministic TEST embedder)', () => {
    it('embeds every chunk, fuses both retrievers, and reopens without re-embedding', async () => {
      const embedder = new HashingTestEmbedder(64);
      let index = await open({ embedder });
      const summary = await index.update();
      assert.equal(summary.vectors, 'ready');
      assert.equal(index.vectors?.count, index.chunkCount);
      assert.equal(embedder.textsEmbedded, summary.chunks);
      const hits = await search(index, 'token bucket rate limiting per client');
      assert.equal(hits[0]?.path, 'src/http/rateLimit.ts');
      assert.deepEqual([...hits[0].retrievers].sort(), ['lexical', 'vector']);
      await index.close();

      const again = new HashingTestEmbedder(64);
      index = await open({ embedder: again });
      const s2 = await index.update();
      assert.equal(again.textsEmbedded, 0, 'nothing re-embedded after a reopen');
      assert.equal(s2.vectors, 'ready');
    });

    it('closes the embedding cache with the index: re-opening a writer many times leaves no descriptor open', async function () {
      if (process.platform !== 'linux') this.skip();
      const openFds = () => readdirSync('/proc/self/fd').length;
      const first = await open({ embedder: new HashingTestEmbedder(64) });
      await first.update();
      await first.close();
      const before = openFds();
      for (let i = 0; i < 12; i++) {
        const embedder = new HashingTestEmbedder(64);
        const index = await open({ embedder });
        // The update reads the cache (nothing to embed: every vector is already stored).
        await index.update();
        assert.equal(embedder.textsEmbedded, 0);
        await index.close();
      }
      assert.ok(openFds() - before < 3, `descriptors grew from ${before} to ${openFds()} over 12 open/close cycles`);
      // A closed index's cache is not reopened by a late call.
      const index = await open({ embedder: new HashingTestEmbedder(64) });
      await index.close();
      await assert.rejects(() => index.update(), /closed/);
    });

    it('renaming a file or reverting an edit re-embeds nothing (cache by content hash)', async () => {
      const embedder = new HashingTestEmbedder(64);
      const index = await open({ embedder });
      await index.update();
      const start = embedder.textsEmbedded;

      renameSync(path.join(ws, 'src/http/router.ts'), path.join(ws, 'src/http/routes.ts'));
      await index.update();
      assert.equal(embedder.textsEmbedded, start, 'rename re-embedded chunks');
      assert.ok(index.vectors!.itemsForPath('src/http/routes.ts').length > 0);
      assert.equal(index.vectors!.itemsForPath('src/http/router.ts').length, 0);

      const file = path.join(ws, 'src/auth/passwords.ts');
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, original.replace('KEY_LENGTH = 64', 'KEY_LENGTH = 32'));
      await index.update();
      const afterEdit = embedder.textsEmbedded;
      assert.ok(afterEdit > start, 'an edit embeds the changed chunk');
      writeFileSync(file, original);
      await index.update();
      assert.equal(embedder.textsEmbedded, afterEdit, 'revert re-embedded chunks');
      assert.equal(index.vectorState(), 'ready');
    });

    it('drops the vectors (never mixing models) when the embedder changes', async () => {
      let index = await open({ embedder: new HashingTestEmbedder(64) });
      await index.update();
      await index.close();
      const log = recordingLogger();
      const other = new HashingTestEmbedder(32);
      index = await open({ embedder: other, logger: log });
      assert.ok(
        log.lines.some((l) => l.includes('Embedding model changed')),
        log.lines.join('\n'),
      );
      assert.equal(index.vectors?.count, 0);
      await index.update();
      assert.equal(index.vectors?.count, index.chunkCount);
      assert.equal(other.textsEmbedded, index.chunkCount);
    });

    it('rebuilds the vector store when a shard is corrupt and reuses cached embeddings', async () => {
      let index = await open({ embedder: new HashingTestEmbedder(64) });
      await index.update();
      await index.close();
      const shards = readdirSync(path.join(indexDir, 'vectors')).filter((d) => d.startsWith('shard'));
      const victim = shards
        .map((d) => path.join(indexDir, 'vectors', d))
        .flatMap((d) => readdirSync(d).map((f) => path.join(d, f)))
        .find((f) => statSync(f).size > 100)!;
      truncateSync(victim, 40);
      const log = recordingLogger();
      const embedder = new HashingTestEmbedder(64);
      index = await open({ embedder, logger: log });
      assert.ok(
        log.lines.some((l) => l.includes('Rebuilding the vector index')),
        log.lines.join('\n'),
      );
      await index.update();
      assert.equal(index.vectorState(), 'ready');
      assert.equal(embedder.textsEmbedded, 0, 'cached embeddings were reused');
    });

    it('a corrupt catalog shard rebuilds catalog and vectors (opened alongside it) with a log line, and search is hybrid again', async () => {
      let index = await open({ embedder: new HashingTestEmbedder(64) });
      await index.update();
      const files = index.fileCount;
      await index.close();
      const shard = readdirSync(path.join(indexDir, 'catalog'))
        .map((f) => path.join(indexDir, 'catalog', f))
        .find((f) => f.endsWith('.json') && statSync(f).size > 50)!;
      truncateSync(shard, 20);
      // A reader serves what it can and changes nothing.
      const reader = await open({ embedder: new HashingTestEmbedder(64), write: false, logger: recordingLogger() });
      await reader.close();
      const log = recordingLogger();
      index = await open({ embedder: new HashingTestEmbedder(64), logger: log });
      assert.ok(
        log.lines.some((l) => l.includes('Rebuilding the index: catalog shard')),
        log.lines.join('\n'),
      );
      assert.equal(index.fileCount, 0);
      assert.equal(index.vectors?.count, 0, 'the vectors were wiped with the catalog, not kept from the store opened alongside');
      await index.update();
      assert.equal(index.fileCount, files);
      assert.equal(index.vectorState(), 'ready');
      assert.deepEqual((await search(index, 'how are session tokens signed and verified?'))[0]?.retrievers.includes('vector'), true);
      await index.close();
      // And the rebuilt store reopens whole.
      index = await open({ embedder: new HashingTestEmbedder(64) });
      assert.equal(index.vectorState(), 'ready');
    });
  });

  it('rebuilds from scratch with a clear log line on a version mismatch', async () => {
    let index = await open();
    await index.update();
    await index.close();
    const manifestFile = path.join(indexDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, chunkerVersion: -7 }));
    const log = recordingLogger();
    index = await open({ logger: log });
    assert.ok(
      log.lines.some((l) => /Rebuilding the index \(chunker version -7/.test(l)),
      log.lines.join('\n'),
    );
    assert.equal(index.fileCount, 0);
    await index.update();
    assert.ok(index.fileCount > 0);
  });

  it('rebuilds when a catalog shard is truncated, and rebuilds the lexical index from chunks when its snapshot is corrupt', async () => {
    let index = await open();
    await index.update();
    const files = index.fileCount;
    await index.close();
    writeFileSync(path.join(indexDir, 'lexical.bin'), 'GWLX garbage');
    let log = recordingLogger();
    index = await open({ logger: log });
    assert.equal(index.fileCount, files);
    assert.ok(
      log.lines.some((l) => l.includes('rebuilding it from stored chunks')),
      log.lines.join('\n'),
    );
    assert.equal((await search(index, 'SessionManager verifyToken'))[0]?.path, 'src/auth/session.ts');
    await index.close();

    const shard = readdirSync(path.join(indexDir, 'catalog'))
      .map((f) => path.join(indexDir, 'catalog', f))
      .find((f) => statSync(f).size > 50)!;
    truncateSync(shard, 20);
    log = recordingLogger();
    index = await open({ logger: log });
    assert.ok(
      log.lines.some((l) => l.includes('Rebuilding the index: catalog shard')),
      log.lines.join('\n'),
    );
    await index.update();
    assert.equal(index.fileCount, files);
  });

  it('stops on abort, keeps what was done, and finishes on the next run', async () => {
    const index = await open();
    const controller = new AbortController();
    await assert.rejects(
      index.update({
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'chunk' && p.filesDone >= 3) controller.abort(new Error('stop'));
        },
      }),
    );
    const partial = index.fileCount;
    assert.ok(partial >= 3 && partial < 11, `partial=${partial}`);
    const summary = await index.update();
    assert.equal(summary.filesIndexed, partial + summary.filesChanged);
  });

  it('allows one writer at a time and says which process holds the lock', async () => {
    await open();
    await assert.rejects(WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir }), (err: Error) => /pid|process|locked/i.test(err.message));
  });

  it('refuses a missing workspace and an index folder inside the workspace', async () => {
    await assert.rejects(WorkspaceIndex.open({ roots: rootsFromDirs([path.join(ws, 'nope')]), indexDir }), IndexError);
    await assert.rejects(WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(ws, '.index') }), /outside the workspace/);
    assert.ok(!existsSync(path.join(ws, '.index')));
  });

  it('stops with what to do when the parser runtime is missing, instead of marking every file unreadable', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'gw-nowasm-'));
    const saved = process.env.GROUNDWORK_WASM_DIR;
    process.env.GROUNDWORK_WASM_DIR = empty;
    try {
      const index = await open();
      await assert.rejects(index.update(), (err: unknown) => {
        assert.ok(err instanceof IndexError);
        assert.match(err.message, /cannot parse source files: GROUNDWORK_WASM_DIR=.* does not contain web-tree-sitter\.wasm\. Reinstall Groundwork/);
        return true;
      });
      // Files that need no parser (Markdown, plain text) may be indexed before the first that does.
      const st = await index.status();
      assert.deepEqual(st.skipped.unreadable ?? 0, 0, 'no file was marked unreadable');
    } finally {
      if (saved === undefined) delete process.env.GROUNDWORK_WASM_DIR;
      else process.env.GROUNDWORK_WASM_DIR = saved;
      rmSync(empty, { recursive: true, force: true });
    }
    // With the runtime back, the next run indexes the workspace.
    for (const i of opened.splice(0)) await i.close();
    const again = await open();
    const summary = await again.update();
    assert.ok(summary.filesIndexed > 0);
    assert.equal(summary.skipped.unreadable ?? 0, 0);
  });

  it('records skip reasons in the status', async () => {
    writeFileSync(path.join(ws, '.env'), 'SESSION_SECRET=hunter2\n');
    writeFileSync(path.join(ws, 'bundle.js'), `${'var a=function(b){return b*2};'.repeat(300)}\n`);
    writeFileSync(path.join(ws, 'data.bin'), Buffer.from([1, 0, 2, 0, 3]));
    writeFileSync(path.join(ws, 'todos.json'), '[]\n');
    const index = await open();
    await index.update();
    const st = await index.status();
    assert.equal(st.skipped.secret, 1);
    assert.equal(st.skipped.minified, 1);
    assert.equal(st.skipped.binary, 1);
    assert.ok((st.skipped.ignored ?? 0) >= 1, 'todos.json is in the fixture .gitignore');
    assert.ok(st.sizeOnDiskBytes > 0);
    // The secret's content never reaches the index folder.
    const all = readdirSync(indexDir, { recursive: true })
      .map(String)
      .filter((f) => statSync(path.join(indexDir, f)).isFile());
    for (const f of all) assert.ok(!readFileSync(path.join(indexDir, f)).includes('hunter2'), f);
  });
});
