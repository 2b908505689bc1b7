/**
 * LexicalIndex.partial, the index a shared snapshot's reader searches: every document's id and
 * length at once, posting lists term by term. Checked against the whole index built from the same
 * documents (the local index's code): the same hits and scores, before and after an overlay's edits
 * (snapshot documents removed by id, local ones added), with lists dropped and fetched again.
 */
import { strict as assert } from 'node:assert';
import { LexicalIndex, type LexicalDoc, type LexicalPostings, type WeightedTerm } from '../../src/core/lexicalIndex';
import { seededRandom } from '../../src/core/random.mjs';

const WORDS = 'rate limiter token bucket refill clock retry after header capacity client check window burst queue worker session cache parse config error'.split(' ');

function corpus(n: number, seed: number): LexicalDoc[] {
  const rand = seededRandom(seed);
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const path = `src/${pick()}/${pick()}${i % 7}.ts`;
    const text = Array.from({ length: 5 + Math.floor(rand() * 40) }, pick).join(' ');
    return { id: `${path}#L${i + 1}-L${i + 3}#${(1e7 + i).toString(16)}`, path, text, header: '', symbols: rand() < 0.3 ? [`${pick()}Handler`] : [] };
  });
}

/** A partial index over `p` that fetches from `p` (as a reader fetches from the server), counting fetched terms. */
function partialOf(p: LexicalPostings): { index: LexicalIndex; fetch: (terms: string[]) => void; fetched: () => number } {
  const numbers = new Map(p.ids.map((id, i) => [id, i]));
  const index = LexicalIndex.partial(p.ids, p.lengths, (id) => numbers.get(id));
  const byTerm = new Map(p.terms.map((t, i) => [t, i]));
  let fetched = 0;
  return {
    index,
    fetch: (terms) => {
      const missing = index.missingTerms(terms);
      fetched += missing.length;
      const lists = missing
        .filter((t) => byTerm.has(t))
        .map((term) => {
          const t = byTerm.get(term)!;
          const a = p.offsets[t]!;
          const b = p.offsets[t + 1]!;
          return {
            term,
            docs: Int32Array.from(Array.from({ length: b - a }, (_, i) => p.docs[a + i]!)),
            tfs: Float32Array.from(Array.from({ length: b - a }, (_, i) => p.tfs[a + i]!)),
          };
        });
      index.addPostings(
        lists,
        missing.filter((t) => !byTerm.has(t)),
      );
    },
    fetched: () => fetched,
  };
}

const QUERIES: WeightedTerm[][] = [
  [{ term: 'limiter', weight: 1 }],
  [
    { term: 'refill', weight: 1.5 },
    { term: 'clock', weight: 1 },
    { term: 'nosuchterm', weight: 1 },
  ],
  WORDS.slice(0, 12).map((term, i) => ({ term, weight: 1 + (i % 3) / 2 })),
  [
    { term: 'handler', weight: 3 },
    { term: 'session', weight: 1 },
  ],
];

describe('LexicalIndex.partial (postings fetched per term)', () => {
  it('scores exactly like the whole index, and throws for a term that was not fetched', () => {
    const docs = corpus(400, 7);
    const full = new LexicalIndex();
    full.add(docs);
    const p = full.exportPostings();
    const { index, fetch } = partialOf(p);
    assert.throws(() => index.search(QUERIES[0]!, 10), /postings of "limiter" were not fetched/);
    for (const q of QUERIES) {
      fetch(q.map((t) => t.term));
      assert.deepEqual(index.search(q, 50), full.search(q, 50));
      assert.deepEqual(index.selectTerms(q), full.selectTerms(q));
      const ids = docs.slice(0, 60).map((d) => d.id);
      assert.deepEqual(index.scoreIds(q, ids), full.scoreIds(q, ids));
      for (const { term } of q) assert.equal(index.documentFrequency(term), full.documentFrequency(term), term);
    }
    assert.equal(index.documentCount, full.documentCount);
  });

  it('an overlay’s edits (snapshot documents out by id, local documents in, then back) keep the statistics of the whole index', () => {
    const docs = corpus(300, 11);
    const full = new LexicalIndex();
    full.add(docs);
    const { index, fetch } = partialOf(full.exportPostings());
    // Fetch some lists before the edit, the rest after: live counts must come out right either way.
    fetch(QUERIES[0]!.map((t) => t.term));
    const gone = docs.filter((_, i) => i % 9 === 0);
    const added = corpus(25, 99).map((d) => ({ ...d, id: `local/${d.id}` }));
    full.remove(gone);
    full.add(added);
    index.removeBase(gone.map((d) => d.id));
    index.add(added);
    for (const q of QUERIES) {
      fetch(q.map((t) => t.term));
      const a = index.search(q, 40);
      const b = full.search(q, 40);
      assert.deepEqual(
        a.map((h) => h.id),
        b.map((h) => h.id),
      );
      a.forEach((h, i) => assert.ok(Math.abs(h.score - b[i]!.score) < 1e-6 * Math.max(1, h.score), `${h.id} ${h.score} vs ${b[i]!.score}`));
      for (const { term } of q) assert.equal(index.documentFrequency(term), full.documentFrequency(term), term);
    }
    assert.equal(index.documentCount, full.documentCount);
    // Back to the snapshot: the removed documents return under their own numbers.
    full.remove(added);
    full.add(gone);
    index.remove(added);
    index.restoreBase(gone.map((d) => d.id));
    for (const q of QUERIES) {
      const a = index.search(q, 40);
      const b = full.search(q, 40);
      assert.deepEqual(
        a.map((h) => h.id),
        b.map((h) => h.id),
      );
      for (const { term } of q) assert.equal(index.documentFrequency(term), full.documentFrequency(term), term);
    }
  });

  it('evicts least recently used lists down to its bound, never a pinned one; refuses lists out of order or range', () => {
    const full = new LexicalIndex();
    full.add(corpus(200, 3));
    const p = full.exportPostings();
    const { index, fetch, fetched } = partialOf(p);
    fetch(WORDS);
    const all = index.heldPostings;
    assert.ok(all > 200);
    const release = index.pinPostings(['limiter', 'refill']);
    index.evictPostings(0);
    assert.deepEqual(index.missingTerms(['limiter', 'refill']), []);
    assert.equal(index.missingTerms(WORDS).length, WORDS.length - 2);
    release();
    index.evictPostings(0);
    assert.equal(index.heldPostings, 0);
    const before = fetched();
    fetch(['limiter']);
    assert.equal(fetched(), before + 1);
    assert.deepEqual(index.search([{ term: 'limiter', weight: 1 }], 10), full.search([{ term: 'limiter', weight: 1 }], 10));
    assert.throws(() => index.addPostings([{ term: 'x', docs: Int32Array.from([3, 2]), tfs: Float32Array.from([1, 1]) }]), /out of order or range/);
    assert.throws(() => index.addPostings([{ term: 'x', docs: Int32Array.from([p.ids.length]), tfs: Float32Array.from([1]) }]), /out of order or range/);
    assert.throws(() => index.exportPostings(), /cannot be compacted or exported/);
  });
});
