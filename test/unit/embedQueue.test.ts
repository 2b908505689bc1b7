/**
 * The embedding phase serves the user first: priority order, re-prioritisation while it runs,
 * resume after an interrupt or a restart without re-embedding, progress with a measured rate and
 * ETA, edits indexed between batches, and search over partial vector coverage. Real files (this
 * repository's src/core, copied), a real index folder, the deterministic TEST embedder (feature
 * hashing) wrapped to record which chunks it was asked for, in which order. No timed assertions.
 */
import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../repoRoot';
import { execFileSync } from 'node:child_process';
import { EmbedQueue, RateMeter, formatEta, questionFiles } from '../../src/core/embedQueue';
import { recentGitFiles } from '../../src/core/gitRecency';
import { embedEta } from '../../src/cli/output';
import { search } from '../../src/core/retrieval';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { vectorCoverage } from '../../src/core/vectorCoverage';
import { embeddingKey, embeddingText, rootsFromDirs, WorkspaceIndex, type IndexOptions, type IndexProgress } from '../../src/core/workspaceIndex';

/** The TEST embedder, recording each call's texts and running a hook before answering. */
class RecordingEmbedder extends HashingTestEmbedder {
  readonly batches: string[][] = [];
  onCall?: (call: number) => void;
  /** From this call on, return all-zero vectors (an endpoint fault). */
  faultFrom = Infinity;

  override async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const call = this.batches.length;
    this.batches.push(texts);
    this.onCall?.(call);
    signal?.throwIfAborted();
    if (call >= this.faultFrom) return texts.map(() => new Float32Array(this.dimensions));
    return super.embed(texts, signal);
  }

  override async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return super.embed([text], signal).then((v) => v[0]!);
  }
}

describe('embedding phase: priority, resume, progress, partial coverage (real files, TEST embedder)', function () {
  let tmp: string;
  let ws: string;
  let indexDir: string;
  const opened: WorkspaceIndex[] = [];

  async function open(embedder: RecordingEmbedder, options: IndexOptions = {}, dir = indexDir): Promise<WorkspaceIndex> {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: dir, embedder, options: { embedBatchSize: 1, ...options } });
    opened.push(index);
    return index;
  }

  /** Index path of every text an embedder was given, call by call. */
  function pathsOf(index: WorkspaceIndex, batches: string[][]): string[][] {
    const byText = new Map<string, string>();
    for (const p of index.indexedPaths()) for (const c of index.getFile(p)!.chunks) byText.set(embeddingText(c), p);
    return batches.map((b) => b.map((t) => byText.get(t) ?? '?'));
  }

  /** Files in order of their first embedded chunk. */
  function fileOrder(index: WorkspaceIndex, batches: string[][]): string[] {
    const seen: string[] = [];
    for (const p of pathsOf(index, batches).flat()) if (!seen.includes(p)) seen.push(p);
    return seen;
  }

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-embedq-'));
    ws = path.join(tmp, 'ws');
    indexDir = path.join(tmp, 'index');
    cpSync(path.join(repoRoot(), 'src/core'), ws, { recursive: true });
  });
  afterEach(async () => {
    for (const i of opened.splice(0)) await i.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('embeds open files first, then retrieved ones, then their folders, then recently committed ones, then the rest', async () => {
    const embedder = new RecordingEmbedder(64);
    const index = await open(embedder);
    index.embedQueue.prioritize(['retrieval.ts', 'answer.ts'], 'retrieved');
    index.embedQueue.prioritize(['tokenize.ts', 'hash.ts'], 'open');
    index.embedQueue.prioritize(['citations.ts'], 'recent');
    // Already open: a question retrieving it does not demote it.
    index.embedQueue.prioritize(['hash.ts'], 'retrieved');
    const summary = await index.update();
    assert.equal(summary.vectors, 'ready');
    const order = fileOrder(index, embedder.batches);
    assert.deepEqual(order.slice(0, 4), ['tokenize.ts', 'hash.ts', 'retrieval.ts', 'answer.ts']);
    // Then the open files' folder (the top folder here), recently committed citations.ts first
    // within it, then the rest (chunker/, wasm/).
    assert.equal(order[4], 'citations.ts');
    const lastTop = Math.max(...order.map((p, i) => (p.includes('/') ? -1 : i)));
    const firstSub = order.findIndex((p) => p.includes('/'));
    assert.ok(firstSub > lastTop, `a sub-folder file (${order[firstSub]}) came before a file next to the open ones (${order[lastTop]})`);
    assert.equal(new Set(order).size, index.fileCount, 'every file embedded exactly once');
    assert.equal(embedder.textsEmbedded <= index.chunkCount, true, 'no chunk computed twice');
  });

  it('a first index chunks the open files and their folder first, and they are searchable before it ends', async () => {
    // Keyword search only (no embedder): what a first index gives before any vector exists.
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir });
    opened.push(index);
    index.embedQueue.prioritize(['chunker/markdown.ts'], 'open');
    const order: string[] = [];
    let priorityFiles: number | undefined;
    let midway: { hits: string[]; filesDone: number; filesTotal: number } | undefined;
    let searching: Promise<void> | undefined;
    const summary = await index.update({
      onProgress: (p) => {
        if (p.phase !== 'chunk') return;
        priorityFiles = p.priorityFiles;
        if (p.currentPath && order[order.length - 1] !== p.currentPath) order.push(p.currentPath);
        // Once the priority files are done (the front end's "searchable" point), a search mid-update.
        if (!searching && p.priorityFiles && p.filesDone === p.priorityFiles) {
          const at = { filesDone: p.filesDone, filesTotal: p.filesTotal };
          searching = search(index, 'split a Markdown document into sections at its headings', { k: 5, mode: 'lexical' }).then((hits) => {
            midway = { hits: hits.map((h) => h.path), ...at };
          });
        }
      },
    });
    await searching;
    const chunkerFiles = index.indexedPaths().filter((p) => p.startsWith('chunker/'));
    assert.ok(chunkerFiles.length >= 3, 'the fixture has a chunker folder');
    assert.equal(priorityFiles, readdirSync(path.join(ws, 'chunker')).length, 'the open file and the other files of its folder');
    assert.equal(chunkerFiles.length, priorityFiles);
    assert.equal(order[0], 'chunker/markdown.ts', 'the open file first');
    assert.deepEqual(new Set(order.slice(0, chunkerFiles.length)), new Set(chunkerFiles), 'then the rest of its folder, before any other file');
    assert.ok(midway, 'a search ran while the index was being built');
    assert.ok(midway.filesDone < midway.filesTotal, 'before the first index ended');
    assert.equal(midway.hits[0], 'chunker/markdown.ts', `the open file answers already: ${midway.hits.join(', ')}`);
    assert.equal(summary.filesIndexed, index.fileCount);
  });

  it('a file opened while a first index runs is chunked next, and counts as a priority file', async () => {
    const index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir });
    opened.push(index);
    const order: string[] = [];
    let openedAt = -1;
    let priorityAfter: number | undefined;
    await index.update({
      onProgress: (p) => {
        if (p.phase !== 'chunk' || !p.currentPath) return;
        if (order[order.length - 1] !== p.currentPath) order.push(p.currentPath);
        // Nothing was open at the start; after the fifth file the user opens one near the end of the path order.
        if (openedAt < 0 && p.filesDone === 5) {
          openedAt = order.length;
          index.embedQueue.prioritize(['vectorStore.ts'], 'open');
        }
        if (openedAt >= 0 && priorityAfter === undefined && p.priorityFiles) priorityAfter = p.priorityFiles;
      },
    });
    assert.ok(openedAt > 0);
    assert.equal(order[openedAt], 'vectorStore.ts', `the opened file next: ${order.slice(openedAt, openedAt + 3).join(', ')}`);
    // Its folder (the top folder here) follows it, before the sub-folders.
    const firstSub = order.findIndex((p, i) => i > openedAt && p.includes('/'));
    const lastTop = Math.max(...order.map((p, i) => (p.includes('/') ? -1 : i)));
    assert.ok(firstSub > lastTop, 'the rest of its folder before other folders');
    assert.equal(priorityAfter, lastTop + 1, 'the priority files end with its folder');
    assert.equal(new Set(order).size, order.length, 'no file chunked twice');
    assert.equal(order.length, index.fileCount);
  });

  it('a file prioritised while the phase runs jumps the queue at the next batch', async () => {
    const embedder = new RecordingEmbedder(64);
    const index = await open(embedder);
    // The plain order (vector shards): find which file would come last, then promote it mid-run.
    const probe = new RecordingEmbedder(64);
    const probeIndex = await open(probe, {}, path.join(tmp, 'probe-index'));
    await probeIndex.update();
    const plain = fileOrder(probeIndex, probe.batches);
    const last = plain[plain.length - 1]!;
    let promotedAt = -1;
    embedder.onCall = (call) => {
      if (call === 10) {
        promotedAt = call;
        index.embedQueue.prioritize([last], 'retrieved');
      }
    };
    await index.update();
    const calls = pathsOf(index, embedder.batches).map((b) => b[0]!);
    const current = calls[promotedAt]!;
    // Batches of one text, one file per step: the file being embedded finishes, then `last` comes.
    const next = calls.slice(promotedAt + 1).find((p) => p !== current);
    assert.equal(next, last, `after ${current} came ${next}, expected ${last}`);
    assert.notEqual(plain.indexOf(current), plain.length - 2, 'the promoted file was not next anyway');
  });

  it('resumes after an abort and a restart without re-embedding what was done', async () => {
    const first = new RecordingEmbedder(64);
    let index = await open(first);
    const controller = new AbortController();
    first.onCall = (call) => {
      if (call === 40) controller.abort();
    };
    await assert.rejects(index.update({ signal: controller.signal }));
    const partial = index.vectors!.count;
    assert.ok(partial > 0 && partial < index.chunkCount, `vectors written in increments before the abort: ${partial} of ${index.chunkCount}`);
    await index.close();

    const second = new RecordingEmbedder(64);
    index = await open(second);
    assert.equal(index.vectors!.count, partial, 'the written vectors survive the restart');
    const summary = await index.update();
    assert.equal(summary.vectors, 'ready');
    // Call 40 was aborted before it computed anything; the other 40 are in the store or the cache.
    assert.equal(first.textsEmbedded, 40);
    assert.equal(first.textsEmbedded + second.textsEmbedded, distinctKeys(index), 'no chunk was computed twice across the restart');
    assert.ok(summary.chunksFromCache >= 40 - partial, 'chunks embedded but not yet written came from the cache');
  });

  it('a restart from the folder as a crash would leave it continues from the vectors on disk', async () => {
    const first = new RecordingEmbedder(64);
    const index = await open(first);
    const snapshot = path.join(tmp, 'crash-copy');
    first.onCall = (call) => {
      // A copy of the folder mid-run is what a killed process leaves (no final flush ran).
      if (call === 60) cpSync(indexDir, snapshot, { recursive: true });
    };
    await index.update();
    // The copied lock names this (live) process; a crashed writer's lock would be stale.
    rmSync(path.join(snapshot, 'index.lock'), { force: true });
    const second = new RecordingEmbedder(64);
    const restarted = await open(second, {}, snapshot);
    const onDisk = restarted.vectors!.count;
    assert.ok(onDisk > 0, 'vectors were on disk mid-run');
    const summary = await restarted.update();
    assert.equal(summary.vectors, 'ready');
    assert.ok(second.textsEmbedded <= restarted.chunkCount - onDisk, `re-embedded ${second.textsEmbedded}, ${onDisk} of ${restarted.chunkCount} were on disk`);
    assert.ok(second.textsEmbedded < first.textsEmbedded);
  });

  it('reports progress with a measured rate and an ETA, ending at zero', async () => {
    const embedder = new RecordingEmbedder(64);
    const index = await open(embedder, { embedBatchSize: 8 });
    const seen: IndexProgress[] = [];
    await index.update({ onProgress: (p) => p.phase === 'embed' && seen.push(p) });
    assert.ok(seen.length > 3);
    const total = seen[0]!.embedTotal;
    assert.equal(total, index.chunkCount);
    assert.equal(seen[0]!.embedToCompute, distinctKeys(index), 'before any batch: everything to compute');
    assert.equal(seen[0]!.etaSeconds, undefined, 'no ETA before a measurement');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.embedDone >= seen[i - 1]!.embedDone, 'done never goes back');
    const measured = seen.filter((p) => p.embedRate !== undefined);
    assert.ok(measured.length > 0 && measured.every((p) => p.embedRate! > 0 && p.etaSeconds! >= 0));
    const last = seen[seen.length - 1]!;
    assert.equal(last.embedDone, total);
    assert.equal(last.embedToCompute, 0);
    assert.equal(last.etaSeconds, 0);
  });

  it('indexes a file saved during the embedding phase before the phase ends', async () => {
    const embedder = new RecordingEmbedder(64);
    const index = await open(embedder);
    let phaseDone = false;
    let savedWhileEmbedding: boolean | undefined;
    const file = path.join(ws, 'zebraQuokka.ts');
    embedder.onCall = (call) => {
      if (call !== 5) return;
      writeFileSync(file, 'export function zebraQuokkaHandshake(x: number): number {\n  return x * 2;\n}\n');
      void index.updateFiles([file]).then(() => (savedWhileEmbedding = !phaseDone));
    };
    await index.update();
    phaseDone = true;
    assert.equal(savedWhileEmbedding, true, 'the save waited for one batch, not for the whole phase');
    assert.equal((await search(index, 'zebraQuokkaHandshake'))[0]?.path, 'zebraQuokka.ts');
    assert.equal(index.vectorState(), 'ready');
  });

  it('searches partial coverage: files without vectors rank by keywords, and the result says so', async () => {
    const embedder = new RecordingEmbedder(64);
    const index = await open(embedder, { embedBatchSize: 16 });
    // Nothing embedded yet: keyword search, labelled so.
    assert.equal(vectorCoverage(index, await search(index, 'lexical index')).mode, 'keyword');
    index.embedQueue.prioritize(['vectorStore.ts', 'dotKernel.ts'], 'open');
    // The endpoint fails once the two open files are embedded: the update completes with partial vectors.
    embedder.onCall = (call) => {
      if (call > 0) return;
      const chunks = ['vectorStore.ts', 'dotKernel.ts'].reduce((n, p) => n + index.getFile(p)!.chunks.length, 0);
      embedder.faultFrom = Math.ceil(chunks / 16) + 2;
    };
    const summary = await index.update();
    assert.equal(summary.vectors, 'partial');
    assert.ok(summary.vectorsError?.includes('all-zero'));
    assert.ok(index.vectors!.hasPath('vectorStore.ts'));
    assert.equal(index.vectors!.hasPath('tokenize.ts'), false);

    // tokenize.ts has no vectors; a question its keywords answer still finds it first, as keyword search does.
    const question = 'how does splitIdentifier split a word, and what does stem do with isStopword terms';
    assert.equal((await search(index, question, { mode: 'lexical' }))[0]?.path, 'tokenize.ts');
    const hits = await search(index, question);
    assert.equal(hits[0]?.path, 'tokenize.ts');
    assert.deepEqual(hits[0].retrievers, ['lexical']);
    assert.equal(vectorCoverage(index, hits.slice(0, 1)).mode, 'keyword');
    const mixed = await search(index, 'splitIdentifier and isStopword in codeTerms, queryInt8 and topRows in the vector store');
    const cov = vectorCoverage(index, mixed);
    assert.equal(cov.mode, 'partial');
    assert.equal(cov.withVectors, mixed.filter((h) => index.vectors!.hasPath(h.path)).length);
    assert.ok(cov.withVectors > 0 && cov.withVectors < cov.hits);
    // Embedded chunks still get both retrievers' evidence.
    const vhits = await search(index, 'int8 codes re-scored from the float rows');
    const embeddedHit = vhits.find((h) => index.vectors!.hasPath(h.path));
    assert.ok(embeddedHit?.retrievers.includes('vector'));

    // Once the endpoint is back the rest is embedded and the same search is hybrid throughout.
    embedder.faultFrom = Infinity;
    assert.equal((await index.update()).vectors, 'ready');
    assert.equal(vectorCoverage(index, await search(index, question)).mode, 'hybrid');
  });
});

/** Distinct embedding-cache keys of an index (what a run without any cache computes). */
function distinctKeys(index: WorkspaceIndex): number {
  const keys = new Set<string>();
  for (const p of index.indexedPaths()) for (const c of index.getFile(p)!.chunks) keys.add(embeddingKey(c));
  return keys.size;
}

describe('git recency (real git repository)', () => {
  it('lists modified and untracked files, then files of recent commits, as index paths of a root inside the repository', async () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'gw-git-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { stdio: 'pipe' });
      git('init', '-q');
      git('config', 'user.email', 't@example.com');
      git('config', 'user.name', 'T');
      mkdirSync(path.join(repo, 'app/src'), { recursive: true });
      for (const f of ['app/src/a.ts', 'app/src/b.ts', 'app/c.ts', 'outside.ts']) writeFileSync(path.join(repo, f), `export const x = '${f}';\n`);
      git('add', '.');
      git('commit', '-qm', 'one');
      writeFileSync(path.join(repo, 'app/src/b.ts'), 'export const x = 2;\n');
      git('commit', '-qam', 'two');
      writeFileSync(path.join(repo, 'app/c.ts'), 'export const x = 3;\n');
      writeFileSync(path.join(repo, 'app/new.ts'), 'export const y = 1;\n');
      const recent = await recentGitFiles(rootsFromDirs([path.join(repo, 'app')]));
      assert.deepEqual(recent.modified, ['c.ts', 'new.ts']);
      assert.deepEqual(recent.committed, ['src/b.ts', 'src/a.ts'], 'most recent commit first, modified files and files outside the root left out');
      // Not a repository: nothing, no error.
      const plain = mkdtempSync(path.join(tmpdir(), 'gw-nogit-'));
      assert.deepEqual(await recentGitFiles(rootsFromDirs([plain])), { modified: [], committed: [] });
      rmSync(plain, { recursive: true, force: true });
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('embed queue, rate meter (pure)', () => {
  it("puts the other files of an open file's folder after the retrieved ones, and takes results then candidates for a question", () => {
    const q = new EmbedQueue();
    q.prioritize(['src/a/open.ts'], 'open');
    q.prioritize(['lib/found.ts'], 'retrieved');
    q.prioritize(['src/a/old.ts', 'z/committed.ts'], 'recent');
    assert.equal(q.tierOf('src/a/sibling.ts'), 'nearby');
    assert.equal(q.tierOf('src/a/old.ts'), 'nearby');
    assert.equal(q.tierOf('z/committed.ts'), 'recent');
    assert.equal(q.tierOf('src/b/far.ts'), 'rest');
    const files = ['src/b/far.ts', 'z/committed.ts', 'src/a/sibling.ts', 'lib/found.ts', 'src/a/old.ts', 'src/a/open.ts'].map((p) => ({ path: p }));
    files.sort(q.comparator((x, y) => (x.path < y.path ? -1 : 1)));
    assert.deepEqual(
      files.map((f) => f.path),
      ['src/a/open.ts', 'lib/found.ts', 'src/a/old.ts', 'src/a/sibling.ts', 'z/committed.ts', 'src/b/far.ts'],
    );
    assert.throws(() => q.prioritize(['x'], 'nearby'), /nearby/);
    assert.deepEqual(questionFiles([{ path: 'a' }, { path: 'b' }, { path: 'a' }], [{ path: 'c' }, { path: 'b' }, { path: 'd' }], 3), ['a', 'b', 'c']);
  });

  it('orders by tier, then most recently named, then the fallback order', () => {
    const q = new EmbedQueue();
    q.prioritize(['b', 'a'], 'retrieved');
    q.prioritize(['o/z'], 'open');
    q.prioritize(['c'], 'retrieved');
    const files = ['a', 'b', 'c', 'x', 'y', 'o/z'].map((p) => ({ path: p }));
    files.sort(q.comparator((x, y) => (x.path < y.path ? -1 : 1)));
    assert.deepEqual(
      files.map((f) => f.path),
      ['o/z', 'c', 'b', 'a', 'x', 'y'],
    );
    const v = q.version;
    q.prioritize(['a'], 'rest');
    assert.equal(q.tierOf('a'), 'rest');
    assert.ok(q.version > v);
    assert.throws(() => q.setThrottle({ cpuShare: 0 }), /cpuShare/);
    assert.throws(() => q.setThrottle({ quietMs: -1 }), /quietMs/);
  });

  it('puts the prioritised items first in tier order and keeps the given order for the rest', () => {
    const q = new EmbedQueue();
    const given = ['z/last.ts', 'src/a/sibling.ts', 'b.ts', 'src/a/open.ts', 'a.ts', 'lib/found.ts'].map((p) => ({ path: p }));
    // No priorities: the given order, nothing counted as priority.
    assert.deepEqual(q.prioritized(given), { ordered: given, priority: 0 });
    q.prioritize(['lib/found.ts'], 'retrieved');
    q.prioritize(['src/a/open.ts'], 'open');
    const { ordered, priority } = q.prioritized(given);
    assert.equal(priority, 3);
    assert.deepEqual(
      ordered.map((f) => f.path),
      ['src/a/open.ts', 'lib/found.ts', 'src/a/sibling.ts', 'z/last.ts', 'b.ts', 'a.ts'],
    );
    // The same order as the comparator (what the embedding phase sorts by) for the prioritised part.
    const sorted = [...given].sort(q.comparator(() => 0));
    assert.deepEqual(
      sorted.slice(0, priority).map((f) => f.path),
      ordered.slice(0, priority).map((f) => f.path),
    );
    assert.equal(given[0]!.path, 'z/last.ts', 'the input is not reordered in place');
  });

  it('pauses while the user is active until resumed, and an abort ends a pause', async () => {
    const q = new EmbedQueue({ quietMs: 3_600_000 });
    q.noteActivity();
    let resolved = false;
    const paced = q.pace(0).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, 'paused while the user types');
    q.resume();
    await paced;
    assert.equal(resolved, true);

    q.noteActivity();
    const controller = new AbortController();
    const aborted = q.pace(0, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
  });

  it('measures a rate over recent batches and formats ETAs', () => {
    const m = new RateMeter(30_000);
    assert.equal(m.rate, undefined);
    assert.equal(m.eta(10), undefined);
    m.add(10, 1000, 0);
    m.add(30, 1000, 1000);
    assert.equal(m.rate, 20);
    assert.equal(m.eta(100), 5);
    assert.equal(formatEta(42.4), '42 s');
    assert.equal(formatEta(7 * 60), '7 min');
    assert.equal(formatEta(65 * 60), '1 h 05 min');
    assert.equal(formatEta(Number.NaN), '?');
    // The CLI's progress line.
    const base = { phase: 'embed' as const, filesTotal: 1, filesDone: 1, chunks: 10, embedTotal: 10, embedDone: 4 };
    assert.equal(embedEta(base), '', 'nothing before a measurement');
    assert.equal(embedEta({ ...base, embedRate: 14.2, etaSeconds: 1500 }), '14 chunks/s · 25 min left');
    assert.equal(embedEta({ ...base, embedRate: 3.25, etaSeconds: 0 }), '3.3 chunks/s · done');
  });
});
