import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { IndexData } from 'vectra/lib/types';
import type { Logger } from '../../src/core/types';
import { SHARD_INDEX_FILE, VectorStore, type FileChange, type VectorItem } from '../../src/core/vectorStore';
import { BinaryVectorCodec, DimensionMismatchError, IndexCorruptError, IndexMismatchError, InvalidVectorError, VectorStoreError } from '../../src/core/vectorCodec';
import { AtomicFileStorage } from '../../src/core/atomicStorage';
import { EmbeddingCache } from '../../src/core/embeddingCache';
import { acquireLock, IndexLockedError, LOCK_FILE_NAME } from '../../src/core/indexLock';
import { isAtomicTempFile, shardOf, writeFileAtomic } from '../../src/core/fsUtil';
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
