import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { IndexData } from 'vectra/lib/types';
import type { Logger } from '../../src/core/types';
import { SHARD_INDEX_FILE, TEMP_FILE_MAX_AGE_MS, VectorStore, type FileChange, type VectorItem } from '../../src/core/vectorStore';
import {
  BinaryVectorCodec,
  crc32,
  DimensionMismatchError,
  IndexCorruptError,
  IndexMismatchError,
  InvalidVectorError,
  shardLayout,
  VectorStoreError,
} from '../../src/core/vectorCodec';
import { RowKeys } from '../../src/core/vectorRows';
import { Int8Kernel, quantizeRow } from '../../src/core/dotKernel';
import { hash16 } from '../../src/core/hash';
import { AtomicFileStorage } from '../../src/core/atomicStorage';
import { EmbeddingCache } from '../../src/core/embeddingCache';
import { acquireLock, IndexLockedError, LOCK_FILE_NAME } from '../../src/core/indexLock';
import { isAtomicTempFile, shardOf, TEMP_SUFFIX, writeFileAtomic } from '../../src/core/fsUtil';
import { seededRandom } from '../../src/core/random.mjs';

// ----- helpers ---------------------------------------------------------------------------------------

function randomUnit(dims: number, rand: () => number): Float32Array {
  const v = new Float32Array(dims);
  let n = 0;
  for (let i = 0; i < dims; i++) {
    v[i] = rand() * 2 - 1;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dims; i++) v[i] = v[i]! / n;
  return v;
}

function fileItems(p: string, n: number, dims: number, rand: () => number, tag = 'a'): VectorItem[] {
  const out: VectorItem[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: `${p}#L${i * 10 + 1}-L${i * 10 + 10}#${tag}${i}`, hash: `${tag}${i}${p.length}`.padEnd(16, '0'), vector: randomUnit(dims, rand) });
  }
  return out;
}

/**
 * Items with the chunker's ids (`<path>#L<a>-L<b>#<hash[0..8)>`, hash16 hashes), which the store packs;
 * every `partEvery`-th one gets the chunker's `@<part>` suffix (split long lines), which it keeps as strings.
 */
function chunkItems(p: string, n: number, dims: number, rand: () => number, tag = 'a', partEvery = 0): VectorItem[] {
  const out: VectorItem[] = [];
  for (let i = 0; i < n; i++) {
    const hash = hash16(`${tag}:${p}:${i}`);
    const part = partEvery > 0 && i % partEvery === partEvery - 1 ? `@${i}` : '';
    out.push({ id: `${p}#L${i * 10 + 1}-L${i * 10 + 10}#${hash.slice(0, 8)}${part}`, hash, vector: randomUnit(dims, rand) });
  }
  return out;
}

interface RecordingLogger extends Logger {
  warnings: string[];
}
function recordingLogger(): RecordingLogger {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (m: string) => warnings.push(m), error() {} };
}

/** Reference top-k over a plain map of id → (path, hash, vector). */
function bruteForce(all: Map<string, { path: string; hash: string; vector: Float32Array }>, q: Float32Array, k: number) {
  const scored = [...all.entries()].map(([id, e]) => {
    let s = 0;
    for (let i = 0; i < q.length; i++) s += e.vector[i]! * q[i]!;
    return { id, path: e.path, hash: e.hash, score: s };
  });
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return scored.slice(0, k);
}

function assertSameHits(actual: Array<{ id: string; score: number }>, expected: Array<{ id: string; score: number }>): void {
  assert.deepEqual(
    actual.map((h) => h.id),
    expected.map((h) => h.id),
  );
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]!.score - expected[i]!.score) < 1e-9);
}

/**
 * For scores computed in float32 (the SIMD kernel): every hit's score is the reference score at its
 * rank up to float32 rounding, and every returned id truly scores that (so a swap is allowed only
 * between scores that round alike).
 */
function assertSameRanking(
  actual: Array<{ id: string; score: number }>,
  expected: Array<{ id: string; score: number }>,
  all: Map<string, { vector: Float32Array }>,
  q: Float32Array,
): void {
  assert.equal(actual.length, expected.length);
  const eps = 1e-6;
  for (let i = 0; i < actual.length; i++) {
    const v = all.get(actual[i]!.id)!.vector;
    let truth = 0;
    for (let j = 0; j < q.length; j++) truth += v[j]! * q[j]!;
    assert.ok(Math.abs(actual[i]!.score - expected[i]!.score) < eps, `rank ${i}: ${actual[i]!.score} vs ${expected[i]!.score}`);
    assert.ok(Math.abs(truth - expected[i]!.score) < eps, `rank ${i}: ${actual[i]!.id} scores ${truth}, the reference hit ${expected[i]!.score}`);
  }
  assert.equal(new Set(actual.map((h) => h.id)).size, actual.length, 'no duplicate hits');
}

function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listAll(p));
    else out.push(p);
  }
  return out;
}

// ----- tests -----------------------------------------------------------------------------------------

/**
 * The brute-force side of the store tests: every live vector by id, kept in step with the file
 * changes the test applies (`setPath` records a file's new items and returns the change for the store).
 */
function referenceVectors(): {
  ref: Map<string, { path: string; hash: string; vector: Float32Array }>;
  setPath: (p: string, items: VectorItem[] | null) => FileChange;
} {
  const ref = new Map<string, { path: string; hash: string; vector: Float32Array }>();
  const setPath = (p: string, items: VectorItem[] | null): FileChange => {
    for (const [id, e] of ref) if (e.path === p) ref.delete(id);
    for (const i of items ?? []) ref.set(i.id, { path: p, hash: i.hash, vector: i.vector });
    return { path: p, items };
  };
  return { ref, setPath };
}
describe('vector store', function () {
  this.timeout(30000);
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-vs-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('BinaryVectorCodec', () => {
    const dims = 7;
    function sample(): IndexData {
      const rand = seededRandom(1);
      const items = [];
      for (let i = 0; i < 5; i++) {
        const v = Array.from(randomUnit(dims, rand)); // float32-representable numbers
        items.push({ id: `src/ünï/😀${i}.ts#L1-L2#abc${i}`, metadata: { path: `src/ünï/😀${i}.ts`, hash: `h${i}` }, vector: v, norm: 0.25 + i });
      }
      return { version: 3, metadata_config: { indexed: ['path'] }, items };
    }

    it('round-trips IndexData exactly and re-encodes byte-identically', () => {
      const codec = new BinaryVectorCodec(dims);
      const data = sample();
      const buf = codec.serializeIndex(data);
      const back = codec.deserializeIndex(buf);
      assert.equal(back.version, 3);
      assert.deepEqual(back.metadata_config, { indexed: ['path'] });
      assert.equal(back.items.length, data.items.length);
      back.items.forEach((it, i) => {
        const orig = data.items[i]!;
        assert.equal(it.id, orig.id);
        assert.deepEqual(it.metadata, orig.metadata);
        assert.equal(it.norm, orig.norm);
        assert.deepEqual(Array.from(it.vector), orig.vector);
        assert.equal(it.metadataFile, undefined);
      });
      assert.ok(codec.serializeIndex(back).equals(buf));
      const empty = codec.deserializeIndex(codec.serializeIndex({ version: 1, metadata_config: {}, items: [] }));
      assert.deepEqual(empty, { version: 1, metadata_config: {}, items: [] });
    });

    it('decodes from an unaligned buffer', () => {
      const codec = new BinaryVectorCodec(dims);
      const buf = codec.serializeIndex(sample());
      const shifted = Buffer.alloc(buf.length + 3);
      buf.copy(shifted, 3);
      const back = codec.deserializeIndex(shifted.subarray(3));
      assert.deepEqual(Array.from(back.items[4]!.vector), sample().items[4]!.vector);
    });

    it('throws IndexCorruptError on every truncation, a flipped byte and trailing bytes', () => {
      const codec = new BinaryVectorCodec(dims);
      const buf = codec.serializeIndex(sample());
      for (let len = 0; len < buf.length; len += 7) {
        assert.throws(() => codec.deserializeIndex(buf.subarray(0, len)), IndexCorruptError, `length ${len}`);
      }
      for (const at of [0, 20, 40, buf.length - 60, buf.length - 1]) {
        const bad = Buffer.from(buf);
        bad[at] = bad[at]! ^ 0x10;
        assert.throws(() => codec.deserializeIndex(bad), IndexCorruptError, `flip at ${at}`);
      }
      assert.throws(
        () => codec.deserializeIndex(Buffer.concat([buf, Buffer.from([0])])),
        (e: unknown) => e instanceof IndexCorruptError && e.reason === 'trailing-bytes',
      );
      assert.throws(() => codec.deserializeIndex(Buffer.from('{"version":1,"items":[]}')), IndexCorruptError);
    });

    it('validates dimensions and metadata', () => {
      const codec = new BinaryVectorCodec(dims);
      const buf = codec.serializeIndex(sample());
      assert.throws(
        () => new BinaryVectorCodec(8).deserializeIndex(buf),
        (e: unknown) => e instanceof IndexMismatchError && e instanceof IndexCorruptError,
      );
      const wrong = sample();
      wrong.items[2]!.vector = [1, 2, 3];
      assert.throws(() => codec.serializeIndex(wrong), DimensionMismatchError);
      const extra = sample();
      extra.items[0]!.metadata = { path: 'a', hash: 'b', text: 'chunk text must not be stored' };
      assert.throws(() => codec.serializeIndex(extra), VectorStoreError);
      const nul = sample();
      nul.items[0]!.id = 'a\0b';
      assert.throws(() => codec.serializeIndex(nul), VectorStoreError);
    });
  });

  describe('VectorStore', () => {
    const dims = 19; // not a multiple of 4: exercises the scoring tail loop

    it('adds, replaces and deletes paths; reopening gives the same results', async () => {
      const rand = seededRandom(2);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 4 });
      assert.equal(store.count, 0);
      const a = fileItems('src/a.ts', 5, dims, rand);
      const b = fileItems('src/b.ts', 3, dims, rand);
      const c = fileItems('lib/c.py', 4, dims, rand);
      await store.applyFileChanges([
        { path: 'src/a.ts', items: a },
        { path: 'src/b.ts', items: b },
        { path: 'lib/c.py', items: c },
      ]);
      assert.equal(store.count, 12);
      const a2 = fileItems('src/a.ts', 2, dims, rand, 'z');
      await store.applyFileChanges([
        { path: 'src/a.ts', items: a2 },
        { path: 'src/b.ts', items: null },
      ]);
      assert.equal(store.count, 6);
      assert.deepEqual(store.pathsIndexed(), ['lib/c.py', 'src/a.ts']);
      assert.ok(store.hasPath('src/a.ts') && !store.hasPath('src/b.ts'));
      assert.deepEqual(
        store.itemsForPath('src/a.ts'),
        a2.map((i) => ({ id: i.id, hash: i.hash })),
      );

      const expected = new Map<string, { path: string; hash: string; vector: Float32Array }>();
      for (const i of a2) expected.set(i.id, { path: 'src/a.ts', hash: i.hash, vector: i.vector });
      for (const i of c) expected.set(i.id, { path: 'lib/c.py', hash: i.hash, vector: i.vector });
      const queries = [0, 1, 2, 3].map(() => randomUnit(dims, rand));
      const before = queries.map((q) => store.query(q, 4));
      queries.forEach((q, i) => assertSameHits(before[i]!, bruteForce(expected, q, 4)));
      assert.deepEqual(Object.keys(before[0]![0]!).sort(), ['hash', 'id', 'path', 'score']);
      await store.close();
      assert.throws(() => store.query(queries[0]!, 3), VectorStoreError);

      const again = await VectorStore.open(dir, { dimensions: dims, shards: 4 });
      assert.equal(again.count, 6);
      assert.deepEqual(again.pathsIndexed(), ['lib/c.py', 'src/a.ts']);
      queries.forEach((q, i) => assert.deepEqual(again.query(q, 4), before[i]));
      // Removing a path that was never indexed is a no-op; [] means "no vectors" like null.
      await again.applyFileChanges([
        { path: 'never/seen.ts', items: null },
        { path: 'lib/c.py', items: [] },
      ]);
      assert.deepEqual(again.pathsIndexed(), ['src/a.ts']);
      assert.ok((await again.sizeOnDisk()) > 2 * dims * 4);
      await again.close();

      const reader = await VectorStore.open(dir, { dimensions: dims, shards: 4, readOnly: true });
      assert.deepEqual(reader.pathsIndexed(), ['src/a.ts']);
      await assert.rejects(reader.applyFileChanges([{ path: 'x', items: null }]), /read-only/);
      await reader.close();
      await assert.rejects(
        VectorStore.open(path.join(tmp, 'none'), { dimensions: dims, readOnly: true }),
        (e: unknown) => e instanceof IndexCorruptError && e.reason === 'missing',
      );
      assert.ok(!fs.existsSync(path.join(tmp, 'none')));
    });

    it('rewrites only the shard of the changed path', async () => {
      const rand = seededRandom(3);
      const dir = path.join(tmp, 'idx');
      const shards = 8;
      const store = await VectorStore.open(dir, { dimensions: dims, shards });
      const changes: FileChange[] = [];
      for (let f = 0; f < 40; f++) changes.push({ path: `src/f${f}.ts`, items: fileItems(`src/f${f}.ts`, 3, dims, rand) });
      await store.applyFileChanges(changes);
      const shardFile = (i: number) => path.join(dir, `shard-${String(i).padStart(2, '0')}`, SHARD_INDEX_FILE);
      const past = new Date(Date.now() - 3600_000);
      for (let i = 0; i < shards; i++) fs.utimesSync(shardFile(i), past, past);
      const before = Array.from({ length: shards }, (_, i) => fs.statSync(shardFile(i)).mtimeMs);
      const target = 'src/f7.ts';
      await store.applyFileChanges([{ path: target, items: fileItems(target, 20, dims, rand, 'n') }]);
      const changed = before.map((m, i) => fs.statSync(shardFile(i)).mtimeMs !== m);
      assert.deepEqual(
        changed.map((c, i) => (c ? i : -1)).filter((i) => i >= 0),
        [shardOf(target, shards)],
      );
      assert.ok(!listAll(dir).some((f) => isAtomicTempFile(path.basename(f))), 'no temp files left');
      await store.close();
    });

    // 19: the plain-JS loop (and its tail); 16 and 384: the WebAssembly SIMD kernel, whose float32
    // sums may differ from the float64 reference in the last bits (see assertSameRanking).
    for (const dims of [19, 16, 384]) {
      it(`${dims}-d: returns the same top-k as brute force on random data, across updates and compaction`, async () => {
        const rand = seededRandom(4);
        const store = await VectorStore.open(path.join(tmp, 'idx'), { dimensions: dims, shards: 5 });
        const simd = dims % 16 === 0;
        assert.equal((store as unknown as { kernel?: unknown }).kernel !== undefined, simd, simd ? 'the SIMD kernel scores this store' : 'the JavaScript loop scores this store');
        const same = simd ? assertSameRanking : assertSameHits;
        const { ref, setPath } = referenceVectors();
        const initial: FileChange[] = [];
        for (let f = 0; f < 60; f++) initial.push(setPath(`p/${f}.ts`, fileItems(`p/${f}.ts`, 1 + (f % 9), dims, rand)));
        await store.applyFileChanges(initial);
        const check = (): void => {
          assert.equal(store.count, ref.size);
          for (let t = 0; t < 10; t++) {
            const q = randomUnit(dims, rand);
            for (const k of [1, 7, 50, ref.size + 5]) same(store.query(q, k), bruteForce(ref, q, k), ref, q);
          }
        };
        check();
        // Many replacements: enough tombstones to force several compactions. The private counters are read
        // only to prove compaction really ran and the dead-row bound holds.
        const internals = store as unknown as { rows: number; dead: number };
        let compactions = 0;
        for (let round = 0; round < 6; round++) {
          const batch: FileChange[] = [];
          for (let f = round; f < 60; f += 2) batch.push(setPath(`p/${f}.ts`, f % 5 === 0 ? null : fileItems(`p/${f}.ts`, 1 + ((f + round) % 7), dims, rand, `r${round}`)));
          const rowsBefore = internals.rows;
          await store.applyFileChanges(batch);
          if (internals.rows < rowsBefore + batch.reduce((n, c) => n + (c.items?.length ?? 0), 0)) compactions++;
          assert.ok(internals.dead <= 0.25 * internals.rows, 'dead rows bounded');
          check();
        }
        assert.ok(compactions >= 2, `compactions: ${compactions}`);
        assert.deepEqual(store.query(randomUnit(dims, rand), 0), []);
        await store.close();
      });
    }

    it('writes identical shard bytes through vectra and through the bulk codec path', async () => {
      const rand = seededRandom(5);
      const changes: FileChange[] = [];
      for (let f = 0; f < 10; f++) changes.push({ path: `x/${f}.go`, items: fileItems(`x/${f}.go`, 6, dims, rand) });
      const viaVectra = await VectorStore.open(path.join(tmp, 'a'), { dimensions: dims, shards: 3, vectraInsertScanBudget: Infinity });
      const viaCodec = await VectorStore.open(path.join(tmp, 'b'), { dimensions: dims, shards: 3, vectraInsertScanBudget: 0 });
      for (const s of [viaVectra, viaCodec]) {
        await s.applyFileChanges(changes.slice(0, 6));
        await s.applyFileChanges([...changes.slice(6), { path: 'x/2.go', items: fileItems('x/2.go', 2, dims, seededRandom(9), 'q') }, { path: 'x/3.go', items: null }]);
      }
      for (let i = 0; i < 3; i++) {
        const rel = path.join(`shard-0${i}`, SHARD_INDEX_FILE);
        assert.ok(fs.readFileSync(path.join(tmp, 'a', rel)).equals(fs.readFileSync(path.join(tmp, 'b', rel))), rel);
      }
      await viaVectra.close();
      await viaCodec.close();
    });

    it('rejects wrong dimensions, non-finite values and duplicate ids without writing anything', async () => {
      const rand = seededRandom(6);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 2 });
      await store.applyFileChanges([{ path: 'ok.ts', items: fileItems('ok.ts', 2, dims, rand) }]);
      const snapshot = () =>
        listAll(dir)
          .map((f) => `${f}:${fs.statSync(f).mtimeMs}:${fs.statSync(f).size}`)
          .sort();
      const before = snapshot();
      const good = fileItems('good.ts', 2, dims, rand);
      await assert.rejects(
        store.applyFileChanges([
          { path: 'good.ts', items: good },
          { path: 'bad.ts', items: [{ id: 'bad.ts#1', hash: 'h', vector: new Float32Array(dims + 1) }] },
        ]),
        (e: unknown) => e instanceof DimensionMismatchError && e.expected === dims && e.actual === dims + 1,
      );
      const nan = randomUnit(dims, rand);
      nan[3] = NaN;
      await assert.rejects(store.applyFileChanges([{ path: 'nan.ts', items: [{ id: 'nan.ts#1', hash: 'h', vector: nan }] }]), InvalidVectorError);
      await assert.rejects(store.applyFileChanges([{ path: 'd.ts', items: [good[0]!, good[0]!] }]), /duplicate chunk id/);
      assert.deepEqual(snapshot(), before);
      assert.equal(store.count, 2);
      assert.ok(!store.hasPath('good.ts'));
      assert.throws(() => store.query(new Float32Array(dims - 1), 3), DimensionMismatchError);
      await store.close();
    });

    it('throws IndexCorruptError naming the shard when a shard is corrupt, truncated or missing', async () => {
      const rand = seededRandom(7);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 3 });
      const changes: FileChange[] = [];
      for (let f = 0; f < 12; f++) changes.push({ path: `c/${f}.rs`, items: fileItems(`c/${f}.rs`, 4, dims, rand) });
      await store.applyFileChanges(changes);
      await store.close();
      const shard1 = path.join(dir, 'shard-01', SHARD_INDEX_FILE);
      const good = fs.readFileSync(shard1);
      const expectCorrupt = async (reason: string) =>
        assert.rejects(VectorStore.open(dir, { dimensions: dims, shards: 3 }), (e: unknown) => {
          assert.ok(e instanceof IndexCorruptError, String(e));
          assert.equal(e.filePath, shard1);
          assert.equal(e.reason, reason);
          assert.ok(e.message.includes(shard1));
          return true;
        });
      fs.writeFileSync(shard1, good.subarray(0, good.length - 100));
      await expectCorrupt('truncated');
      const flipped = Buffer.from(good);
      const mid = Math.floor(good.length / 2);
      flipped[mid] = flipped[mid]! ^ 0xff;
      fs.writeFileSync(shard1, flipped);
      await expectCorrupt('checksum');
      fs.writeFileSync(shard1, '');
      await expectCorrupt('truncated');
      fs.rmSync(shard1);
      await expectCorrupt('missing');
      // A shard from another store (paths hashed elsewhere) must not be mixed in.
      fs.writeFileSync(shard1, fs.readFileSync(path.join(dir, 'shard-00', SHARD_INDEX_FILE)));
      await expectCorrupt('misplaced');
      // Mismatched configuration is reported as a mismatch (also an IndexCorruptError).
      fs.writeFileSync(shard1, good);
      await assert.rejects(VectorStore.open(dir, { dimensions: dims + 1, shards: 3 }), IndexMismatchError);
      await assert.rejects(VectorStore.open(dir, { dimensions: dims, shards: 4 }), IndexMismatchError);
      // destroy + reopen recovers with an empty store.
      fs.writeFileSync(shard1, 'garbage');
      await VectorStore.destroy(dir);
      const fresh = await VectorStore.open(dir, { dimensions: dims, shards: 3 });
      assert.equal(fresh.count, 0);
      await fresh.close();
    });

    it('corrupt shard found during an update raises IndexCorruptError and leaves memory unchanged', async () => {
      const rand = seededRandom(8);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 1 });
      await store.applyFileChanges([{ path: 'a.ts', items: fileItems('a.ts', 3, dims, rand) }]);
      fs.writeFileSync(path.join(dir, 'shard-00', SHARD_INDEX_FILE), 'not a shard');
      await assert.rejects(store.applyFileChanges([{ path: 'b.ts', items: fileItems('b.ts', 1, dims, rand) }]), IndexCorruptError);
      assert.deepEqual(store.pathsIndexed(), ['a.ts']);
      await store.close();
    });
  });

  describe('VectorStore, int8 precision', () => {
    /** Same ids in the same order; scores exact up to float32 rounding (int8 re-scores from the float rows). */
    const assertSameRanking = (actual: Array<{ id: string; score: number }>, expected: Array<{ id: string; score: number }>): void => {
      assert.deepEqual(
        actual.map((h) => h.id),
        expected.map((h) => h.id),
      );
      for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]!.score - expected[i]!.score) < 1e-6, `${actual[i]!.score} vs ${expected[i]!.score}`);
    };

    // 19: the plain-JS int8 loop; 16, 32 and 384: the WebAssembly SIMD kernel (dimensions a multiple of 16).
    for (const dims of [19, 16, 32, 384]) {
      it(`${dims}-d: exact top-k on small stores across updates, compaction, reopen and a read-only reader`, async () => {
        const rand = seededRandom(40 + dims);
        const dir = path.join(tmp, 'idx');
        const store = await VectorStore.open(dir, { dimensions: dims, shards: 3, precision: 'int8' });
        assert.equal(store.precision, 'int8');
        assert.equal(
          (store as unknown as { kernel8?: unknown }).kernel8 !== undefined,
          dims % 16 === 0,
          'the SIMD int8 kernel is used exactly when dimensions are a multiple of 16',
        );
        const { ref, setPath } = referenceVectors();
        const initial: FileChange[] = [];
        for (let f = 0; f < 20; f++) initial.push(setPath(`p/${f}.ts`, fileItems(`p/${f}.ts`, 1 + (f % 6), dims, rand)));
        await store.applyFileChanges(initial);
        // Fewer rows than INT8_RESCORE_MIN: every row is re-scored, so results equal exact search.
        const check = (s: VectorStore): void => {
          assert.equal(s.count, ref.size);
          for (let t = 0; t < 8; t++) {
            const q = randomUnit(dims, rand);
            for (const k of [1, 5, ref.size + 3]) assertSameRanking(s.query(q, k), bruteForce(ref, q, k));
          }
        };
        check(store);
        for (let round = 0; round < 5; round++) {
          const batch: FileChange[] = [];
          for (let f = round; f < 20; f += 2) batch.push(setPath(`p/${f}.ts`, f % 5 === 0 ? null : fileItems(`p/${f}.ts`, 1 + ((f + round) % 5), dims, rand, `r${round}`)));
          await store.applyFileChanges(batch);
          check(store);
        }
        const reader = await VectorStore.open(dir, { dimensions: dims, shards: 3, readOnly: true, precision: 'int8' });
        check(reader);
        // The reader keeps reading the files it opened while the writer replaces every shard.
        const frozen = new Map(ref);
        const q = randomUnit(dims, rand);
        const readerBefore = reader.query(q, 6);
        const batch: FileChange[] = [];
        for (let f = 0; f < 20; f++) batch.push(setPath(`p/${f}.ts`, fileItems(`p/${f}.ts`, 2, dims, rand, 'w')));
        await store.applyFileChanges(batch);
        check(store);
        assert.deepEqual(reader.query(q, 6), readerBefore);
        assertSameRanking(readerBefore, bruteForce(frozen, q, 6));
        await reader.close();
        await store.close();
        const again = await VectorStore.open(dir, { dimensions: dims, shards: 3, precision: 'int8' });
        check(again);
        await again.close();
      });
    }

    it('recall@10 against exact search stays high when only a fraction of the rows is re-scored', async () => {
      const dims = 64;
      const rand = seededRandom(7);
      const store = await VectorStore.open(path.join(tmp, 'idx'), { dimensions: dims, shards: 4, precision: 'int8' });
      const ref = new Map<string, { path: string; hash: string; vector: Float32Array }>();
      const changes: FileChange[] = [];
      for (let f = 0; f < 300; f++) {
        const items = fileItems(`f/${f}.ts`, 10, dims, rand);
        for (const i of items) ref.set(i.id, { path: `f/${f}.ts`, hash: i.hash, vector: i.vector });
        changes.push({ path: `f/${f}.ts`, items });
      }
      await store.applyFileChanges(changes);
      let found = 0;
      const queries = 30;
      for (let t = 0; t < queries; t++) {
        const q = randomUnit(dims, rand);
        const got = store.query(q, 10);
        const exact = bruteForce(ref, q, 10);
        const want = new Set(exact.map((h) => h.id));
        found += got.filter((h) => want.has(h.id)).length;
        // Whatever is returned carries its exact score.
        for (const h of got) {
          const v = ref.get(h.id)!.vector;
          let s = 0;
          for (let j = 0; j < dims; j++) s += v[j]! * q[j]!;
          assert.ok(Math.abs(h.score - s) < 1e-6);
        }
      }
      // 3,000 rows, 100 re-scored per query; random 64-d data is the hard case for quantisation.
      assert.ok(found / (queries * 10) >= 0.95, `recall@10 ${found / (queries * 10)}`);
      await store.close();
    });

    it('auto precision quantises from int8AutoRows stored vectors on', async () => {
      const dims = 16;
      const rand = seededRandom(9);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 2 });
      assert.equal(store.precision, 'float32');
      await store.applyFileChanges([{ path: 'a.ts', items: fileItems('a.ts', 50, dims, rand) }]);
      await store.close();
      const small = await VectorStore.open(dir, { dimensions: dims, shards: 2, int8AutoRows: 1000 });
      assert.equal(small.precision, 'float32');
      await small.close();
      const big = await VectorStore.open(dir, { dimensions: dims, shards: 2, int8AutoRows: 40 });
      assert.equal(big.precision, 'int8');
      assert.equal(big.query(randomUnit(dims, rand), 5).length, 5);
      await big.close();
    });
  });

  describe('packed row keys', () => {
    // Ids and hashes the store must give back exactly, with whether they have the chunker's form.
    const cases: Array<[path: string, id: string, hash: string, packed: boolean]> = [
      ['src/a.ts', 'src/a.ts#L1-L20#0123abcd', '0123abcd4567ef89', true],
      ['src/a.ts', 'src/a.ts#L4294967295-L4294967295#ffffffff', 'ffffffff00000000', true],
      ['dir/#L1/ü é.md', 'dir/#L1/ü é.md#L3-L9#89abcdef', '89abcdef01234567', true],
      ['src/a.ts', 'src/a.ts#L1-L20#0123abcd@2', '0123abcd4567ef89', false], // split long line
      ['src/a.ts', 'src/a.ts#L01-L20#0123abcd', '0123abcd4567ef89', false], // leading zero
      ['src/a.ts', 'src/a.ts#L0-L20#0123abcd', '0123abcd4567ef89', false], // line 0
      ['src/a.ts', 'src/a.ts#L1-L4294967296#0123abcd', '0123abcd4567ef89', false], // past 32 bits
      ['src/a.ts', 'src/a.ts#L1-L20#0123abce', '0123abcd4567ef89', false], // tail is not the hash's
      ['src/a.ts', 'src/a.ts#L1-L20#0123ABCD', '0123ABCD4567EF89', false], // uppercase hash
      ['src/a.ts', 'src/a.ts#L1-L20#0123abcd', '0123abcd4567ef8', false], // 15 digits
      ['src/a.ts', 'src/b.ts#L1-L20#0123abcd', '0123abcd4567ef89', false], // another path
      ['src/a.ts', 'src/a.ts#L1L20#0123abcd', '0123abcd4567ef89', false],
      ['src/a.ts', 'src/a.ts#L1-L#0123abcd', '0123abcd4567ef89', false],
      ['src/a.ts', 'c1', 'h', false],
    ];

    it('packs exactly the chunker-form rows, from strings and from shard bytes alike, and gives every id and hash back', () => {
      for (const fromBytes of [false, true]) {
        const keys = new RowKeys();
        keys.reserve(cases.length, 0);
        cases.forEach(([p, id, hash], r) => {
          const slot = keys.addFile(p, r, 1);
          if (!fromBytes) keys.setRow(r, slot, id, hash);
          else {
            const b = Buffer.from(`x\0${id}\0${p}\0${hash}\0`, 'utf8');
            const idFrom = 2;
            const idTo = idFrom + Buffer.byteLength(id);
            const pathTo = idTo + 1 + Buffer.byteLength(p);
            keys.setRowFromBytes(r, slot, b, idFrom, idTo, idTo + 1, pathTo, pathTo + 1, pathTo + 1 + Buffer.byteLength(hash));
          }
          assert.equal(keys.id(r), id, `${fromBytes ? 'bytes' : 'strings'}: ${id}`);
          assert.equal(keys.hash(r), hash);
          assert.equal(keys.path(r), p);
          keys.removeFile(p);
        });
        // removeFile drops the kept strings with the rows.
        assert.equal(keys.oddRows, 0);
        assert.equal(keys.fileCount, 0);
      }
      const keys = new RowKeys();
      keys.reserve(cases.length, 0);
      cases.forEach(([, id, hash], r) => keys.setRow(r, keys.addFile(`f${r}`, r, 1), id.replace(cases[r]![0], `f${r}`), hash));
      assert.equal(keys.oddRows, cases.filter((c) => !c[3]).length);
    });

    it('orders rows by id as strings compare, packed or not, paths that prefix each other included', () => {
      const paths = ['a', 'a#b', 'a!', 'a.ts', 'a.ts#L1', 'a.ts#L1-L1#00000000x', 'a.ts.bak', 'a ts', 'b', 'ä', 'a#'];
      const keys = new RowKeys();
      keys.reserve(paths.length * 4 + 20, 0);
      let r = 0;
      for (const p of paths) {
        const slot = keys.addFile(p, r, 4);
        const h = (n: number) => hash16(`${p}${n}`);
        keys.setRow(r++, slot, `${p}#L9-L9#${h(0).slice(0, 8)}`, h(0));
        keys.setRow(r++, slot, `${p}#L10-L12#${h(1).slice(0, 8)}`, h(1));
        keys.setRow(r++, slot, `${p}#L10-L12#${h(2).slice(0, 8)}@1`, h(2)); // kept as strings
        keys.setRow(r++, slot, `${p}#L10-L2#${h(3).slice(0, 8)}`, h(3));
      }
      // Line numbers whose decimal strings prefix each other or differ in length, in one file.
      const lines = [1, 2, 9, 10, 11, 19, 100, 101, 1000, 4294967295];
      const many = keys.addFile('many.ts', r, lines.length * 2);
      keys.reserve(r + lines.length * 2, r);
      for (const [i, n] of lines.entries()) {
        keys.setRow(r++, many, `many.ts#L${n}-L${lines[(i + 3) % lines.length]}#${hash16(`m${i}`).slice(0, 8)}`, hash16(`m${i}`));
        keys.setRow(r++, many, `many.ts#L${lines[(i + 5) % lines.length]}-L${n}#${hash16(`n${i}`).slice(0, 8)}`, hash16(`n${i}`));
      }
      const check = (): void => {
        for (let a = 0; a < r; a++) {
          if (!keys.rowsOf(keys.path(a))) continue;
          for (let b = 0; b < r; b++) if (keys.rowsOf(keys.path(b))) assert.equal(keys.idAfter(a, b), keys.id(a) > keys.id(b), `${keys.id(a)} vs ${keys.id(b)}`);
        }
      };
      check();
      // Removing and adding files re-ranks them.
      keys.removeFile('a#b');
      keys.removeFile('b');
      keys.reserve(r + 2, r);
      keys.setRow(r, keys.addFile('a$', r, 1), `a$#L1-L1#${hash16('x').slice(0, 8)}`, hash16('x'));
      keys.setRow(r + 1, keys.addFile('a.t', r + 1, 1), `a.t#L1-L1#${hash16('y').slice(0, 8)}`, hash16('y'));
      r += 2;
      check();
    });

    it('finds, moves and forgets files by their rows', () => {
      const keys = new RowKeys();
      keys.reserve(8, 0);
      const a = keys.addFile('a', 0, 3);
      const b = keys.addFile('b', 3, 2);
      for (let r = 0; r < 5; r++) keys.setRow(r, r < 3 ? a : b, r === 1 ? 'odd-id' : `${r < 3 ? 'a' : 'b'}#L${r + 1}-L${r + 1}#0000000${r}`, `0000000${r}00000000`);
      assert.throws(() => keys.addFile('a', 5, 1), /already present/);
      assert.deepEqual(keys.rowsOf('a'), [0, 3]);
      assert.deepEqual(keys.removeFile('a'), [0, 3]);
      assert.equal(keys.rowsOf('a'), undefined);
      assert.equal(keys.oddRows, 0);
      // Compaction moves b's rows down; a freed slot is reused.
      keys.move(3, 0);
      keys.move(4, 1);
      assert.deepEqual(keys.rowsOf('b'), [0, 2]);
      assert.equal(keys.id(1), 'b#L5-L5#00000004');
      assert.equal(keys.addFile('c', 2, 1), a);
      keys.setRow(2, a, 'c-odd', 'h');
      assert.equal(keys.path(2), 'c');
      assert.deepEqual([...keys.paths()].sort(), ['b', 'c']);
    });

    it("the WebAssembly quantiser gives quantizeRow's codes and scales bit for bit", function () {
      const dims = 384;
      const kernel = Int8Kernel.tryLoad(dims);
      if (!kernel) this.skip();
      const rows = 300;
      const rand = seededRandom(21);
      const src = new Float32Array(rows * dims);
      for (let r = 0; r < rows; r++) src.set(randomUnit(dims, rand), r * dims);
      src.fill(0, 5 * dims, 6 * dims); // an all-zero row
      // Components whose code lands exactly on .5 (rounded up, as Math.round does) and just below it.
      for (let j = 0; j < dims; j++) src[7 * dims + j] = j === 0 ? 1 : ((j % 255) - 127 + 0.5) / 127;
      for (let j = 0; j < dims; j++) src[8 * dims + j] = j === 0 ? -1 : -Math.fround((j % 127) + 0.49999997) / 127;
      kernel.reserve(rows);
      const at = kernel.scratch(rows * dims * 4 + rows * 4);
      kernel.bytesAt(at, rows * dims * 4).set(new Uint8Array(src.buffer));
      kernel.quantize(at, rows, 0, at + rows * dims * 4);
      const scales = new Float32Array(kernel.bytesAt(at + rows * dims * 4, rows * 4).slice().buffer);
      const codes = kernel.matrix.slice(0, rows * dims);
      const want = new Int8Array(rows * dims);
      const wantScales = new Float32Array(rows);
      for (let r = 0; r < rows; r++) wantScales[r] = quantizeRow(src.subarray(r * dims, (r + 1) * dims), want, r * dims, dims);
      assert.deepEqual(Array.from(scales), Array.from(wantScales));
      assert.deepEqual(Array.from(codes), Array.from(want));
      assert.throws(() => kernel.quantize(at, 1, rows, at), RangeError);
    });

    for (const [dims, precision] of [
      [384, 'float32'],
      [19, 'float32'],
      [384, 'int8'],
      [19, 'int8'],
    ] as const) {
      it(`${dims}-d ${precision}: chunker ids are packed; lookup, update, delete, compaction and reopen match a brute-force reference`, async () => {
        const rand = seededRandom(31);
        const dir = path.join(tmp, 'idx');
        const store = await VectorStore.open(dir, { dimensions: dims, shards: 4, precision });
        const { ref, setPath } = referenceVectors();
        const initial: FileChange[] = [];
        for (let f = 0; f < 40; f++) initial.push(setPath(`src/m${f % 3}/f${f}.ts`, chunkItems(`src/m${f % 3}/f${f}.ts`, 1 + (f % 6), dims, rand, 'a', f % 10 === 0 ? 2 : 0)));
        await store.applyFileChanges(initial);
        const odd = (): number => [...ref.keys()].filter((id) => id.includes('@')).length;
        const check = (s: VectorStore): void => {
          assert.equal(s.count, ref.size);
          assert.equal(s.unpackedRows, odd(), 'only the @part ids are kept as strings');
          assert.deepEqual(s.pathsIndexed(), [...new Set([...ref.values()].map((e) => e.path))].sort());
          for (const p of ['src/m0/f0.ts', 'src/m1/f7.ts', 'src/m2/f20.ts', 'none.ts']) {
            const want = [...ref.entries()].filter(([, e]) => e.path === p).map(([id, e]) => ({ id, hash: e.hash }));
            assert.deepEqual(s.itemsForPath(p), want, p);
            assert.equal(s.hasPath(p), want.length > 0);
          }
          for (let t = 0; t < 6; t++) {
            const q = randomUnit(dims, rand);
            for (const k of [1, 10, ref.size + 3]) {
              const got = s.query(q, k);
              // Float32 sums (SIMD kernel, int8 re-scores) may swap hits whose scores round alike.
              assertSameRanking(got, bruteForce(ref, q, k), ref, q);
              for (const h of got) assert.deepEqual([h.path, h.hash], [ref.get(h.id)!.path, ref.get(h.id)!.hash]);
            }
          }
        };
        check(store);
        const internals = store as unknown as { dead: number; rows: number };
        for (let round = 0; round < 5; round++) {
          const batch: FileChange[] = [];
          for (let f = round; f < 40; f += 3) {
            const p = `src/m${f % 3}/f${f}.ts`;
            batch.push(setPath(p, f % 4 === 0 ? null : chunkItems(p, 1 + ((f + round) % 5), dims, rand, `r${round}`, f % 5 === 0 ? 1 : 0)));
          }
          await store.applyFileChanges(batch);
          assert.ok(internals.dead <= 0.25 * internals.rows);
          check(store);
        }
        await store.close();
        const reader = await VectorStore.open(dir, { dimensions: dims, shards: 4, precision, readOnly: true });
        check(reader);
        await reader.close();
      });
    }

    it('reopens the last complete write after a crash mid-write; a writer clears the debris with a log line', async () => {
      const dims = 16;
      const rand = seededRandom(33);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 2 });
      await store.applyFileChanges([
        { path: 'a.ts', items: chunkItems('a.ts', 3, dims, rand) },
        { path: 'b.ts', items: chunkItems('b.ts', 2, dims, rand) },
      ]);
      const q = randomUnit(dims, rand);
      const before = store.query(q, 10);
      await store.close();
      // A writer killed while writing a shard leaves the old file and a partial temp file next to it
      // (writeFileAtomic renames only a complete, fsync'ed file).
      const shardDir = path.join(dir, `shard-0${shardOf('a.ts', 2)}`);
      const full = new BinaryVectorCodec(dims).serializeIndex({ version: 1, metadata_config: {}, items: [] });
      const debris = path.join(shardDir, `.${SHARD_INDEX_FILE}.4242.dead1234${TEMP_SUFFIX}`);
      fs.writeFileSync(debris, full.subarray(0, 20));
      assert.ok(isAtomicTempFile(path.basename(debris)));
      const old = (Date.now() - TEMP_FILE_MAX_AGE_MS - 60_000) / 1000;
      fs.utimesSync(debris, old, old);
      const reader = await VectorStore.open(dir, { dimensions: dims, shards: 2, readOnly: true });
      assert.deepEqual(reader.query(q, 10), before);
      await reader.close();
      assert.ok(fs.existsSync(debris), 'a reader changes nothing');
      const log = recordingLogger();
      const writer = await VectorStore.open(dir, { dimensions: dims, shards: 2, logger: log });
      assert.deepEqual(writer.query(q, 10), before);
      assert.equal(writer.unpackedRows, 0);
      assert.ok(!fs.existsSync(debris));
      assert.ok(
        log.warnings.some((w) => w.includes('leftover temp file') && w.includes(debris)),
        log.warnings.join('\n'),
      );
      await writer.close();
    });

    it('refuses (naming the shard) a file whose items of one path are not consecutive, or whose string block does not split into 3 per item, though its checksum is right', async () => {
      const dims = 16;
      const rand = seededRandom(35);
      const dir = path.join(tmp, 'idx');
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 1 });
      await store.close();
      const file = path.join(dir, 'shard-00', SHARD_INDEX_FILE);
      const codec = new BinaryVectorCodec(dims);
      const item = (it: VectorItem, p: string) => ({ id: it.id, metadata: { path: p, hash: it.hash }, vector: Array.from(it.vector), norm: 1 });
      const [a1, a2] = chunkItems('a.ts', 2, dims, rand);
      const [b1] = chunkItems('b.ts', 1, dims, rand);
      fs.writeFileSync(file, codec.serializeIndex({ version: 1, metadata_config: {}, items: [item(a1!, 'a.ts'), item(b1!, 'b.ts'), item(a2!, 'a.ts')] }));
      const expect = (reason: string) =>
        assert.rejects(VectorStore.open(dir, { dimensions: dims, shards: 1, readOnly: true }), (e: unknown) => {
          assert.ok(e instanceof IndexCorruptError, String(e));
          assert.equal(e.reason, reason);
          assert.equal(e.filePath, file);
          return true;
        });
      await expect('layout');
      // A NUL written into an id (checksum recomputed): four strings for one item.
      const good = codec.serializeIndex({ version: 1, metadata_config: {}, items: [item(a1!, 'a.ts')] });
      const L = shardLayout(good, good.length, dims);
      const bad = Buffer.from(good);
      bad[32 + L.configLen + 3] = 0;
      bad.writeUInt32LE(crc32(bad.subarray(0, L.crcOff)), L.crcOff);
      fs.writeFileSync(file, bad);
      await expect('strings');
      assert.throws(() => codec.deserializeIndex(bad), /4 strings for 1 items/);
      // The same file intact opens.
      fs.writeFileSync(file, good);
      const ok = await VectorStore.open(dir, { dimensions: dims, shards: 1, readOnly: true });
      assert.deepEqual(ok.itemsForPath('a.ts'), [{ id: a1!.id, hash: a1!.hash }]);
      await ok.close();
    });
  });

  describe('acquireLock', () => {
    it('is exclusive, names the holder, and can be re-taken after release', async () => {
      const release = await acquireLock(tmp);
      const lockFile = path.join(tmp, LOCK_FILE_NAME);
      const info = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
      assert.equal(info.pid, process.pid);
      assert.equal(info.hostname, os.hostname());
      await assert.rejects(acquireLock(tmp), (e: unknown) => e instanceof IndexLockedError && e.message.includes(`pid ${process.pid}`));
      await release();
      await release(); // idempotent
      assert.ok(!fs.existsSync(lockFile));
      const again = await acquireLock(tmp);
      await again();
    });

    it('refuses a lock held by another live process', async () => {
      const lockFile = path.join(tmp, LOCK_FILE_NAME);
      fs.writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, hostname: os.hostname(), createdAt: new Date().toISOString(), token: 'other' }));
      await assert.rejects(acquireLock(tmp), (e: unknown) => e instanceof IndexLockedError && e.holder?.pid === process.ppid && e.message.includes(`pid ${process.ppid}`));
      assert.ok(fs.existsSync(lockFile));
    });

    it('breaks stale locks (dead pid, old heartbeat, earlier process with our pid, unreadable) with a warning', async () => {
      const lockFile = path.join(tmp, LOCK_FILE_NAME);
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      const cases: Array<{ content: string; ageMs: number; expect: RegExp }> = [
        { content: JSON.stringify({ pid: dead, hostname: os.hostname(), createdAt: 'x', token: 't' }), ageMs: 0, expect: /no longer running/ },
        { content: JSON.stringify({ pid: process.ppid, hostname: 'elsewhere', createdAt: 'x', token: 't' }), ageMs: 3600_000, expect: /no heartbeat/ },
        { content: JSON.stringify({ pid: process.pid, hostname: os.hostname(), createdAt: 'x', token: 'previous-run' }), ageMs: 0, expect: /same pid/ },
        { content: '', ageMs: 60_000, expect: /unreadable/ },
      ];
      for (const c of cases) {
        fs.writeFileSync(lockFile, c.content);
        const t = new Date(Date.now() - c.ageMs);
        fs.utimesSync(lockFile, t, t);
        const logger = recordingLogger();
        const release = await acquireLock(tmp, { logger });
        assert.equal(logger.warnings.length, 1, c.content);
        assert.match(logger.warnings[0]!, c.expect);
        assert.equal(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid, process.pid);
        await release();
      }
      assert.deepEqual(fs.readdirSync(tmp), []);
    });
  });

  describe('EmbeddingCache', () => {
    const dims = 12;
    it('persists vectors across reopen and keeps embedders apart', async () => {
      const rand = seededRandom(10);
      const cache = await EmbeddingCache.open(tmp, { embedderId: 'model-a', dimensions: dims });
      const vecs = new Map<string, Float32Array>();
      for (let i = 0; i < 50; i++) {
        const v = randomUnit(dims, rand);
        vecs.set(`hash${i}`, v);
        cache.set(`hash${i}`, v);
      }
      assert.deepEqual(cache.get('hash3'), vecs.get('hash3'));
      await cache.flush();
      cache.set('late', vecs.get('hash0')!);
      await cache.close();
      const again = await EmbeddingCache.open(tmp, { embedderId: 'model-a', dimensions: dims });
      assert.equal(again.size, 51);
      for (const [k, v] of vecs) assert.deepEqual(again.get(k), v);
      assert.deepEqual(again.get('late'), vecs.get('hash0'));
      assert.equal(again.get('missing'), undefined);
      assert.throws(() => again.set('x', new Float32Array(dims + 1)), DimensionMismatchError);
      await again.close();
      const other = await EmbeddingCache.open(tmp, { embedderId: 'model-b', dimensions: dims });
      assert.equal(other.size, 0);
      await other.close();
    });

    it('evicts the least recently used entries on flush when over the bound', async () => {
      const rand = seededRandom(11);
      const cache = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims, maxEntries: 20 });
      for (let i = 0; i < 20; i++) cache.set(`k${i}`, randomUnit(dims, rand));
      await cache.flush();
      const v0 = cache.get('k0'); // k0 becomes most recently used
      for (let i = 20; i < 25; i++) cache.set(`k${i}`, randomUnit(dims, rand));
      await cache.flush(); // 25 > 20: keep the newest 18
      assert.equal(cache.size, 18);
      assert.deepEqual(cache.get('k0'), v0);
      assert.ok(!cache.has('k1') && !cache.has('k7') && cache.has('k8') && cache.has('k24'));
      await cache.close();
      const again = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims, maxEntries: 20 });
      assert.equal(again.size, 18);
      assert.deepEqual(again.get('k0'), v0);
      await again.close();
      assert.equal(fs.readdirSync(tmp).length, 1);
    });

    it('starts empty with a warning on a corrupt file, and keeps the good part of a torn one', async () => {
      const rand = seededRandom(12);
      const c1 = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims });
      c1.set('first', randomUnit(dims, rand));
      await c1.flush();
      c1.set('second', randomUnit(dims, rand));
      await c1.close();
      const file = path.join(tmp, EmbeddingCache.fileName('m', dims));
      const full = fs.readFileSync(file);

      fs.writeFileSync(file, full.subarray(0, full.length - 10)); // torn last batch
      let logger = recordingLogger();
      const torn = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims, logger });
      assert.equal(logger.warnings.length, 1);
      assert.ok(torn.has('first') && !torn.has('second'));
      torn.set('third', randomUnit(dims, rand));
      await torn.close();
      logger = recordingLogger();
      const healed = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims, logger });
      assert.deepEqual(logger.warnings, []);
      assert.ok(healed.has('first') && healed.has('third'));
      await healed.close();

      const garbage = Buffer.from(full);
      garbage[2] = garbage[2]! ^ 0xff;
      fs.writeFileSync(file, garbage);
      logger = recordingLogger();
      const fresh = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims, logger });
      assert.equal(fresh.size, 0);
      assert.match(logger.warnings[0]!, /starting empty/);
      fresh.set('new', randomUnit(dims, rand));
      await fresh.close();
      const reopened = await EmbeddingCache.open(tmp, { embedderId: 'm', dimensions: dims });
      assert.equal(reopened.size, 1);
      await reopened.close();
    });
  });

  describe('writeFileAtomic and AtomicFileStorage', () => {
    it('replaces the target completely or not at all, leaving no temp files', async () => {
      const target = path.join(tmp, 'catalog.json');
      await writeFileAtomic(target, 'old content');
      function* failing(): Generator<Uint8Array> {
        yield Buffer.from('new half');
        throw new Error('disk full (simulated)');
      }
      await assert.rejects(writeFileAtomic(target, failing()), /disk full/);
      assert.equal(fs.readFileSync(target, 'utf8'), 'old content');
      assert.deepEqual(fs.readdirSync(tmp), ['catalog.json']);
      await writeFileAtomic(target, [Buffer.from('new '), Buffer.from('content')]);
      assert.equal(fs.readFileSync(target, 'utf8'), 'new content');
      await assert.rejects(writeFileAtomic(path.join(tmp, 'no-such-dir', 'x'), 'x'), /ENOENT/);
      assert.deepEqual(fs.readdirSync(tmp), ['catalog.json']);
    });

    it('implements the FileStorage contract', async () => {
      const s = new AtomicFileStorage(tmp);
      await s.createFolder('a/b');
      await s.createFile('a/b/x.json', '{}');
      await assert.rejects(s.createFile('a/b/x.json', 'again'), /EEXIST/);
      assert.equal((await s.readFile('a/b/x.json')).toString(), '{}');
      await s.upsertFile('a/b/x.json', Buffer.from('[1]'));
      assert.equal((await s.readFile('a/b/x.json')).toString(), '[1]');
      assert.ok(await s.pathExists('a/b/x.json'));
      assert.ok(!(await s.pathExists('a/b/y.json')));
      const d = await s.getDetails('a/b/x.json');
      assert.equal(d.isFolder, false);
      assert.equal(d.name, 'x.json');
      await assert.rejects(s.getDetails('nope'));
      await s.createFolder('a/b/sub');
      assert.deepEqual(
        (await s.listFiles('a/b', 'files')).map((f) => f.name),
        ['x.json'],
      );
      assert.deepEqual(
        (await s.listFiles('a/b', 'folders')).map((f) => f.name),
        ['sub'],
      );
      assert.equal((await s.listFiles('a/b')).length, 2);
      await s.deleteFile('a/b/x.json');
      await s.deleteFile('a/b/x.json'); // absent: no error
      await s.deleteFolder('a');
      await s.deleteFolder('a');
      assert.deepEqual(fs.readdirSync(tmp), []);
    });
  });
});
