import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PREFILTER_MIN_ROWS, VectorStore, type FileChange, type VectorHit, type VectorItem } from '../../src/core/vectorStore';
import { DimensionMismatchError, InvalidVectorError } from '../../src/core/vectorCodec';
import { DotKernel } from '../../src/core/dotKernel';
import { seededRandom } from '../../src/core/random.mjs';

// The float32 store's exact int8 pre-filter (VectorStore.query): its results must be the full scan's,
// bit for bit. The reference below recomputes every score with the SIMD kernel's float32 arithmetic
// (dots16 in src/core/wasm/dot.wat: 4 accumulators of 4 lanes, combined (a0+a1)+(a2+a3), then
// (l0+l1)+(l2+l3)), so expected hits are exact, not approximately equal.

const f = Math.fround;

function kernelDot(v: Float32Array, q: Float32Array): number {
  const acc = [new Float32Array(4), new Float32Array(4), new Float32Array(4), new Float32Array(4)];
  for (let j = 0; j < v.length; j += 16) {
    for (let m = 0; m < 4; m++) for (let l = 0; l < 4; l++) acc[m]![l] = f(acc[m]![l]! + f(v[j + 4 * m + l]! * q[j + 4 * m + l]!));
  }
  const s = [0, 1, 2, 3].map((l) => f(f(acc[0]![l]! + acc[1]![l]!) + f(acc[2]![l]! + acc[3]![l]!)));
  return f(f(s[0]! + s[1]!) + f(s[2]! + s[3]!));
}

type Ref = Map<string, { path: string; hash: string; vector: Float32Array }>;

/** Top-k of the reference: kernel arithmetic, score descending, then id ascending. */
function bruteForce(ref: Ref, q: Float32Array, k: number): VectorHit[] {
  const all = [...ref].map(([id, e]) => ({ id, path: e.path, hash: e.hash, score: kernelDot(e.vector, q) }));
  all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return all.slice(0, Math.max(0, k));
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let j = 0; j < v.length; j++) v[j] = v[j]! / n;
  return v;
}

/** Vectors of several kinds: random unit, near-duplicates of a few centres, other norms, zero. */
function vectorMaker(dims: number, rand: () => number): (i: number) => Float32Array {
  const centres = Array.from({ length: 6 }, () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)));
  return (i) => {
    const kind = i % 7;
    if (kind === 6) return new Float32Array(dims);
    if (kind >= 3) {
      const c = centres[i % centres.length]!;
      return unit(Float32Array.from(c, (x) => x + 0.01 * (rand() * 2 - 1)));
    }
    const v = unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
    if (kind === 2) for (let j = 0; j < dims; j++) v[j] = v[j]! * (0.05 + 4 * rand());
    return v;
  };
}

function items(p: string, n: number, make: (i: number) => Float32Array, tag: string, start: number): VectorItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${p}#L${i * 10 + 1}-L${i * 10 + 10}#${tag}${i}`, hash: `${tag}${i}`.padEnd(16, '0'), vector: make(start + i) }));
}

function setter(ref: Ref): (p: string, list: VectorItem[] | null) => FileChange {
  return (p, list) => {
    for (const [id, e] of ref) if (e.path === p) ref.delete(id);
    for (const i of list ?? []) ref.set(i.id, { path: p, hash: i.hash, vector: i.vector });
    return { path: p, items: list };
  };
}

describe('vector store: exact int8 pre-filter of float32 queries', function () {
  this.timeout(60000);
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-vsp-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const simd = DotKernel.tryLoad(16, { codes: true })?.hasCodes === true;

  it('the SIMD kernel with codes is available in this build (else the pre-filter is never used)', () => {
    assert.ok(simd, 'dot.wasm with dotsAt / boundsI8 / quantI8 should load');
  });

  for (const dims of [16, 32, 384]) {
    it(`${dims}-d: equals a brute-force reference bit for bit across growth, replacements, deletions, compaction and reopen`, async () => {
      const rand = seededRandom(100 + dims);
      const make = vectorMaker(dims, rand);
      const dir = path.join(tmp, 'idx');
      // Created empty: capacity starts small, so the codes and row values move up through several growths.
      const store = await VectorStore.open(dir, { dimensions: dims, shards: 3, prefilterMinRows: 0 });
      const ref: Ref = new Map();
      const set = setter(ref);
      let made = 0;
      const internals = store as unknown as { rows: number; capacity: number };
      const capacities = new Set<number>();
      // ~2,500 rows: past the first capacity (1,024) twice.
      for (let batch = 0; batch < 10; batch++) {
        const changes: FileChange[] = [];
        for (let k = 0; k < 50; k++) {
          const n = 1 + ((batch + k) % 9);
          changes.push(set(`p/${batch}-${k}.ts`, items(`p/${batch}-${k}.ts`, n, make, 'a', made)));
          made += n;
        }
        await store.applyFileChanges(changes);
        capacities.add(internals.capacity);
      }
      assert.ok(capacities.size >= 2, `the matrix grew while rows were added (capacities ${[...capacities].join(', ')})`);
      const check = (s: VectorStore): void => {
        assert.equal(s.count, ref.size);
        for (let t = 0; t < 6; t++) {
          const q = t === 5 ? make(made + t) : unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
          if (t === 4) for (let j = 0; j < dims; j++) q[j] = q[j]! * 3; // a query that is not unit length
          const expected = bruteForce(ref, q, ref.size);
          for (const k of [1, 7, 50, 300, ref.size, ref.size + 5]) assert.deepEqual(s.query(q, k), expected.slice(0, k), `k = ${k}, query ${t}`);
        }
      };
      check(store);
      // Replacements and deletions: tombstones, then compaction (rows move down with their codes).
      let compacted = false;
      for (let round = 0; round < 5; round++) {
        const changes: FileChange[] = [];
        for (const p of [...new Set([...ref.values()].map((e) => e.path))].filter((_, i) => i % 2 === round % 2)) {
          const n = 1 + ((round + p.length) % 5);
          changes.push(set(p, p.length % 3 === 0 ? null : items(p, n, make, `r${round}`, made)));
          made += n;
        }
        const rowsBefore = internals.rows;
        await store.applyFileChanges(changes);
        if (internals.rows < rowsBefore) compacted = true;
        check(store);
      }
      assert.ok(compacted, 'compaction ran');
      const stats = store.queryStats();
      assert.ok(stats.prefiltered > 0, 'queries went through the pre-filter');
      assert.equal(stats.fullScans, stats.prefilterFallbacks, 'a full scan only as a fallback of the pre-filter');
      const q1 = unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
      store.query(q1, 1);
      const after = store.queryStats();
      assert.equal(after.prefiltered, stats.prefiltered + 1);
      assert.ok(
        after.prefilterCandidates - stats.prefilterCandidates < store.count / 2,
        `the pre-filter ruled rows out (${after.prefilterCandidates - stats.prefilterCandidates} of ${store.count} re-scored for k = 1)`,
      );
      await store.close();
      // Reopened, as a writer and as a read-only reader: the first query computes the codes (one slice
      // covers these rows) and scores every row; the next ones are pre-filtered.
      const again = await VectorStore.open(dir, { dimensions: dims, shards: 3, prefilterMinRows: 0 });
      const probe = unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
      assert.deepEqual(again.query(probe, 9), bruteForce(ref, probe, 9));
      assert.deepEqual(again.queryStats(), { fullScans: 1, prefiltered: 0, prefilterCandidates: 0, prefilterFallbacks: 0 });
      assert.deepEqual(again.query(probe, 9), bruteForce(ref, probe, 9));
      assert.equal(again.queryStats().prefiltered, 1);
      check(again);
      const reader = await VectorStore.open(dir, { dimensions: dims, shards: 3, prefilterMinRows: 0, readOnly: true });
      reader.completePrefilterCodes();
      check(reader);
      assert.equal(reader.queryStats().fullScans, reader.queryStats().prefilterFallbacks, 'codes completed up front: no query scored every row but fallbacks');
      assert.ok(reader.queryStats().prefiltered > 0);
      await reader.close();
      await again.close();
    });
  }

  it('codes computed a slice per query after an open stay right through writes and compaction meanwhile', async () => {
    const dims = 16;
    const rand = seededRandom(12);
    const make = vectorMaker(dims, rand);
    const dir = path.join(tmp, 'idx');
    const ref: Ref = new Map();
    const set = setter(ref);
    const first = await VectorStore.open(dir, { dimensions: dims, shards: 2 });
    const changes: FileChange[] = [];
    // 36,000 rows: three slices of PREFILTER_CODE_SLICE_ROWS (16,384).
    for (let k = 0; k < 1200; k++) changes.push(set(`s/${k}.ts`, items(`s/${k}.ts`, 30, make, 'a', k * 30)));
    await first.applyFileChanges(changes);
    await first.close();
    const store = await VectorStore.open(dir, { dimensions: dims, shards: 2 });
    const q = () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
    let v = q();
    assert.deepEqual(store.query(v, 12), bruteForce(ref, v, 12), 'slice 1 + full scan');
    // A write while the codes are incomplete: deletions (tombstones) and new rows, then compaction.
    const doomed: FileChange[] = [];
    for (let k = 0; k < 1200; k += 3) doomed.push(set(`s/${k}.ts`, k % 2 ? null : items(`s/${k}.ts`, 5, make, 'b', 50_000 + k)));
    await store.applyFileChanges(doomed);
    for (let i = 0; i < 5; i++) {
      v = q();
      assert.deepEqual(store.query(v, 12), bruteForce(ref, v, 12), `query ${i}`);
    }
    const st = store.queryStats();
    assert.ok(st.fullScans >= 2 && st.prefiltered >= 1, JSON.stringify(st));
    await store.close();
  });

  it('ties: equal scores are broken by id as in the full scan, however the equal rows were added', async () => {
    const dims = 32;
    const rand = seededRandom(5);
    const shared = Array.from({ length: 4 }, () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)));
    const ref: Ref = new Map();
    const set = setter(ref);
    const changes: FileChange[] = [];
    // 40 files × 6 rows that all reuse 4 vectors: every score occurs ~60 times. Files are added in an
    // order unrelated to their ids.
    for (let k = 0; k < 40; k++) {
      const p = `t/${(k * 17) % 40}.ts`;
      changes.push(
        set(
          p,
          items(p, 6, (i) => shared[i % 4]!, 'x', k * 6),
        ),
      );
    }
    const pre = await VectorStore.open(path.join(tmp, 'a'), { dimensions: dims, shards: 4, prefilterMinRows: 0 });
    const full = await VectorStore.open(path.join(tmp, 'b'), { dimensions: dims, shards: 4, prefilter: false });
    await pre.applyFileChanges(changes);
    await full.applyFileChanges([...changes].reverse());
    for (const q of [shared[0]!, shared[3]!, unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1))]) {
      for (const k of [1, 10, 59, 60, 61, 240, 300]) {
        const got = pre.query(q, k);
        assert.deepEqual(got, bruteForce(ref, q, k), `k = ${k}`);
        assert.deepEqual(got, full.query(q, k), `k = ${k}: same as the full scan`);
      }
    }
    assert.equal(full.queryStats().prefiltered, 0, 'prefilter: false scores every row');
    assert.ok(pre.queryStats().prefiltered > 0);
    await pre.close();
    await full.close();
  });

  it('empty store, k = 0, k > count, a zero query, and bad query vectors', async () => {
    const dims = 16;
    const rand = seededRandom(6);
    const store = await VectorStore.open(path.join(tmp, 'idx'), { dimensions: dims, shards: 2, prefilterMinRows: 0 });
    const q = unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1));
    assert.deepEqual(store.query(q, 10), [], 'empty store');
    const ref: Ref = new Map();
    const set = setter(ref);
    await store.applyFileChanges([
      set(
        'a.ts',
        items('a.ts', 5, () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)), 'a', 0),
      ),
      set(
        'b.ts',
        items('b.ts', 3, () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)), 'b', 0),
      ),
    ]);
    assert.deepEqual(store.query(q, 0), []);
    assert.deepEqual(store.query(q, 100), bruteForce(ref, q, 100), 'k > count: every row, in order');
    assert.equal(store.query(q, 100).length, 8);
    // A zero query: no int8 scale; the pre-filter steps aside and every row ties at 0 (order by id).
    const before = store.queryStats();
    const zero = store.query(new Float32Array(dims), 4);
    assert.deepEqual(zero, bruteForce(ref, new Float32Array(dims), 4));
    assert.equal(store.queryStats().prefilterFallbacks, before.prefilterFallbacks + 1);
    assert.throws(() => store.query(new Float32Array(dims + 1), 3), DimensionMismatchError);
    const nan = new Float32Array(dims);
    nan[3] = Number.NaN;
    assert.throws(() => store.query(nan, 3), InvalidVectorError);
    // Deleting everything leaves an empty (tombstoned) store.
    await store.applyFileChanges([set('a.ts', null), set('b.ts', null)]);
    assert.deepEqual(store.query(q, 5), []);
    await store.close();
  });

  it(`by default a store below PREFILTER_MIN_ROWS (${PREFILTER_MIN_ROWS}) live rows scores every row`, async () => {
    const dims = 16;
    const rand = seededRandom(8);
    const store = await VectorStore.open(path.join(tmp, 'idx'), { dimensions: dims, shards: 2 });
    await store.applyFileChanges([{ path: 'a.ts', items: items('a.ts', 20, () => unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)), 'a', 0) }]);
    store.query(unit(Float32Array.from({ length: dims }, () => rand() * 2 - 1)), 5);
    assert.deepEqual(store.queryStats(), { fullScans: 1, prefiltered: 0, prefilterCandidates: 0, prefilterFallbacks: 0 });
    await store.close();
  });
});
