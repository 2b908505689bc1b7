import { strict as assert } from 'node:assert';
import { analyzeFile, docTerms, fileLexicalDoc, LexicalIndex, MAX_QUERY_TERMS, type LexicalDoc } from '../../src/core/lexicalIndex';
import { Chunker } from '../../src/core/chunker/chunker';
import { repoRoot } from '../repoRoot';
import { analyzeQuery, extractFrames } from '../../src/core/queryAnalysis';
import { codeTerms, forEachCodeTerm, pathTerms, splitIdentifier } from '../../src/core/tokenize';
import { crc32 } from '../../src/core/vectorCodec';
import { readWholeFile } from '../../src/core/fsUtil';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

function doc(id: string, path: string, text: string, symbols: string[] = []): LexicalDoc {
  return { id, path, text, symbols, header: '' };
}

describe('code-aware terms', () => {
  it('splits camelCase, PascalCase, snake_case, kebab-case and digits, keeping the whole identifier', () => {
    assert.deepEqual(splitIdentifier('parseHTTPResponse_v2'), ['parse', 'http', 'response', 'v', '2']);
    assert.deepEqual(splitIdentifier('max-warnings'), ['max', 'warnings']);
    const terms = codeTerms('const sessionTTL = getUserById(user_id);');
    for (const t of ['sessionttl', 'session', 'ttl', 'getuserbyid', 'get', 'user', 'id', 'user_id', 'const']) {
      assert.ok(terms.includes(t), `missing ${t} in ${terms.join(' ')}`);
    }
    assert.ok(codeTerms('the --max-warnings flag').includes('max-warning'), 'kebab-case kept whole (plural folded)');
  });

  it('folds plurals only (S-stemmer)', () => {
    assert.deepEqual(codeTerms('todos properties matches class status parsed'), ['todo', 'property', 'match', 'class', 'status', 'parsed']);
  });

  it('drops stopwords but keeps code words', () => {
    const terms = codeTerms('where is the function that returns a class');
    assert.deepEqual(terms, ['function', 'return', 'class']);
  });

  it('makes path terms from folders and file stems', () => {
    assert.deepEqual(pathTerms('src/auth/sessionManager.ts'), ['src', 'auth', 'sessionmanager', 'session', 'manager']);
  });

  it('gives the same terms from the word cache, after it is cleared, and through forEachCodeTerm', () => {
    const text = 'const sessionTTL = getUserById(user_id); // the --max-warnings todos\nparseHTTPResponse_v2(x)';
    const expected = ['const', 'sessionttl', 'session', 'ttl', 'getuserbyid', 'get', 'user', 'id', 'user_id', 'user', 'id', 'max-warning', 'max', 'warning', 'todo'];
    expected.push('parsehttpresponse_v2', 'parse', 'http', 'response', 'x');
    assert.deepEqual(codeTerms(text), expected, 'first sight of every word');
    assert.deepEqual(codeTerms(text), expected, 'every word from the cache');
    // More distinct words than the cache holds: it is cleared on the way, and the terms stay the same.
    const many = Array.from({ length: 210_000 }, (_, i) => `q${i.toString(26).replace(/[0-9]/g, (d) => String.fromCharCode(113 + Number(d)))}`).join(' ');
    assert.equal(codeTerms(many).length, 210_000, 'one term per all-letter word');
    assert.deepEqual(codeTerms(text), expected, 'after the cache was cleared');
    const seen: string[] = [];
    assert.equal(
      forEachCodeTerm(text, (t) => seen.push(t)),
      expected.length,
    );
    assert.deepEqual(seen, expected);
  });
});

describe('lexical index (BM25)', () => {
  const docs = [
    doc('a', 'src/auth/session.ts', 'export class SessionManager { verifyToken(token) { return hmac(token); } }', ['SessionManager', 'verifyToken']),
    doc('b', 'src/store/todoStore.ts', 'export class TodoStore { async save() { await writeFile(tmp); await rename(tmp, file); } }', ['TodoStore', 'save']),
    doc('c', 'src/http/router.ts', 'export class Router { handle(req, res) { res.statusCode = 404; } }', ['Router', 'handle']),
    doc('d', 'docs/notes.md', 'Sessions expire after thirty minutes. The token is verified on every request.'),
  ];

  it('ranks the chunk that defines a term above those that mention it', () => {
    const index = new LexicalIndex();
    index.add(docs);
    const hits = index.search(analyzeQuery('how does verifyToken check the session token').terms, 10);
    assert.equal(hits[0]?.id, 'a');
    assert.ok(hits.some((h) => h.id === 'd'));
  });

  it('matches a natural-language query to split identifiers', () => {
    const index = new LexicalIndex();
    index.add(docs);
    assert.equal(index.search(analyzeQuery('todo store').terms, 3)[0]?.id, 'b');
    assert.equal(index.search(analyzeQuery('TodoStore').terms, 3)[0]?.id, 'b');
  });

  it('removes documents and keeps document frequencies exact', () => {
    const index = new LexicalIndex();
    index.add(docs);
    assert.equal(index.documentFrequency('token'), 2);
    index.remove([docs[0]!]);
    assert.equal(index.documentFrequency('token'), 1);
    assert.equal(index.documentCount, 3);
    assert.ok(!index.search(analyzeQuery('SessionManager').terms, 10).some((h) => h.id === 'a'));
  });

  it('ranks exact ties the same whatever order the documents were indexed in', () => {
    const docs: LexicalDoc[] = ['c', 'a', 'e', 'b', 'd'].map((n) => ({
      id: `src/${n}.ts#L1-L3#x`,
      path: `src/${n}.ts`,
      symbols: [],
      header: '',
      text: 'retry the request with backoff',
    }));
    const forward = new LexicalIndex();
    forward.add(docs);
    const backward = new LexicalIndex();
    backward.add([...docs].reverse());
    const q = [{ term: 'backoff', weight: 1 }];
    // Same text, same path shape: every score ties; the top 3 must be the same three, in the same order.
    assert.deepEqual(
      forward.search(q, 3).map((h) => h.id),
      backward.search(q, 3).map((h) => h.id),
    );
    assert.deepEqual(
      forward.search(q, 3).map((h) => h.id),
      ['src/a.ts#L1-L3#x', 'src/b.ts#L1-L3#x', 'src/c.ts#L1-L3#x'],
    );
  });

  it('survives a serialization round trip with identical results', () => {
    const index = new LexicalIndex();
    index.add(docs);
    index.remove([docs[2]!]);
    const { index: copy, meta } = LexicalIndex.deserialize(index.serialize({ gens: [1, 2] }));
    assert.deepEqual(meta, { gens: [1, 2] });
    const q = analyzeQuery('router 404 handle').terms;
    assert.deepEqual(copy.search(q, 10), index.search(q, 10));
    assert.equal(copy.documentFrequency('token'), index.documentFrequency('token'));
  });

  it('loads a snapshot written in parts from one aligned buffer as views, and from an unaligned one by copying', async () => {
    const index = new LexicalIndex();
    index.add(docs);
    const parts = index.serializeParts({ gens: [3] });
    const joined = Buffer.concat(parts);
    let crc = 0;
    for (const p of parts) crc = crc32(p, crc);
    assert.equal(crc, crc32(joined), 'a CRC continued over the parts equals the CRC of the whole');
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-lex-'));
    try {
      writeFileSync(path.join(dir, 'lexical.bin'), joined);
      const aligned = await readWholeFile(path.join(dir, 'lexical.bin'));
      assert.equal(aligned.byteOffset, 0);
      const unaligned = Buffer.concat([Buffer.from([0]), joined]).subarray(1);
      const q = analyzeQuery('router 404 handle').terms;
      for (const buf of [aligned, unaligned]) {
        const { index: copy, meta } = LexicalIndex.deserialize(buf);
        assert.deepEqual(meta, { gens: [3] });
        assert.deepEqual(copy.search(q, 10), index.search(q, 10));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a truncated or foreign snapshot', () => {
    const index = new LexicalIndex();
    index.add(docs);
    const buf = index.serialize();
    assert.throws(() => LexicalIndex.deserialize(buf.subarray(0, buf.length - 3)), /truncated/);
    assert.throws(() => LexicalIndex.deserialize(Buffer.from('{"version": 1}')), /not a lexical index/);
  });

  it('keeps working after compaction and when adding to loaded posting lists', () => {
    const index = new LexicalIndex();
    index.add(docs);
    index.remove([docs[1]!]);
    index.compact();
    const { index: loaded } = LexicalIndex.deserialize(index.serialize());
    loaded.add([doc('e', 'src/http/router2.ts', 'another router that handles 404 responses', ['Router2'])]);
    const hits = loaded.search(analyzeQuery('router 404').terms, 10).map((h) => h.id);
    assert.deepEqual([...hits].sort(), ['c', 'e']);
    assert.ok(!loaded.search(analyzeQuery('TodoStore').terms, 10).length);
  });

  it('scores lists grown in the shared arena (block chains over several pages, after a load too) exactly as their compacted copies', () => {
    // Each document's terms given directly (no tokenising): a term in every document (a chain past
    // the largest block), terms in every 7th and 1000th, one per document; > 2^20 entries in all (two pages).
    const analysed = (d: number) => ({
      doc: doc(`d${d}`, `p/${d % 97}.ts`, ''),
      terms: {
        tf: new Map<string, number>([
          ['all', 1 + (d % 3)],
          [`m${d % 7}`, 2],
          [`r${d % 1000}`, 1],
          [`u${d}`, 3],
          [`s${d % 5}`, 1],
          [`h${(d * 7919) % 30011}`, 1],
          [`k${d % 13}`, 5],
          [`q${d % 101}`, 1],
        ]),
        len: 4 + (d % 11),
      },
    });
    const addRange = (index: LexicalIndex, from: number, to: number) => {
      const batch = Array.from({ length: to - from }, (_, i) => analysed(from + i));
      index.add(
        batch.map((b) => b.doc),
        batch.map((b) => b.terms),
      );
    };
    const queries = [['all'], ['m3', 'r17'], ['all', 'u5', 'k4'], ['h12', 'q7', 's2'], ['r999', 'u140000']].map((ts) => ts.map((term) => ({ term, weight: 1 })));
    const probe = ['d0', 'd5', 'd70000', 'd139999', 'd140005', 'nope'];
    const same = (a: LexicalIndex, b: LexicalIndex) => {
      for (const q of queries) {
        assert.deepEqual(a.search(q, 40), b.search(q, 40));
        assert.deepEqual(a.scoreIds(q, probe), b.scoreIds(q, probe));
      }
    };
    const grown = new LexicalIndex();
    addRange(grown, 0, 140_000);
    const reference = new LexicalIndex();
    addRange(reference, 0, 140_000);
    const { index: loaded } = LexicalIndex.deserialize(reference.serialize());
    same(grown, loaded);
    same(grown, loaded); // a second time: chained lists read from their kept contiguous copies
    // More documents: the kept copies are stale; a loaded list gets a chain after its stored range.
    addRange(grown, 140_000, 150_000);
    addRange(loaded, 140_000, 150_000);
    same(grown, loaded);
    grown.remove([analysed(5).doc, analysed(140_005).doc]);
    loaded.remove([analysed(5).doc, analysed(140_005).doc]);
    same(grown, loaded);
    // Compaction (the removed documents' entries dropped through the remap, from chains and stored ranges alike).
    const { index: reloaded } = LexicalIndex.deserialize(grown.serialize());
    same(reloaded, LexicalIndex.deserialize(loaded.serialize()).index);
    assert.equal(reloaded.documentFrequency('all'), 149_998);
    assert.equal(grown.documentFrequency('all'), 149_998);
  });

  it('cuts long queries down to their informative terms', () => {
    const index = new LexicalIndex();
    const many: LexicalDoc[] = [];
    for (let i = 0; i < 200; i++) many.push(doc(`x${i}`, `src/f${i}.ts`, `common words everywhere unique${i} value${i % 7}`));
    index.add(many);
    const long = Array.from({ length: 300 }, (_, i) => `unique${i} common everywhere`).join(' ');
    const selected = index.selectTerms(analyzeQuery(long).terms);
    assert.ok(selected.length <= MAX_QUERY_TERMS);
    assert.ok(!selected.some((t) => t.term === 'common'), 'a term in every document is dropped from a long query');
    assert.ok(index.search(analyzeQuery(long).terms, 5).length > 0);
  });

  it('bounds the posting entries one search scores, skipping the most common terms first', () => {
    const index = new LexicalIndex();
    const docs: LexicalDoc[] = [];
    // `shared` is in 60 documents, `middle` in 20, `rare` in 2, `alone` in 1.
    for (let i = 0; i < 60; i++) docs.push(doc(`d${i}`, `src/f${i}.ts`, ['shared', i < 20 ? 'middle' : '', i < 2 ? 'rare' : '', i === 5 ? 'alone' : ''].join(' ')));
    for (let i = 0; i < 40; i++) docs.push(doc(`e${i}`, `lib/g${i}.ts`, 'filler text'));
    index.add(docs);
    const terms = ['shared', 'middle', 'rare', 'alone'].map((term) => ({ term, weight: 1 }));
    const names = (maxPostings?: number) => index.selectTerms(terms, 48, maxPostings).map((t) => t.term);
    assert.deepEqual(names(), ['alone', 'rare', 'middle', 'shared'], 'under the default bound every term is kept, rarest first');
    assert.deepEqual(names(25), ['alone', 'rare', 'middle'], '60 more entries would pass 25: `shared` is skipped');
    assert.deepEqual(names(10), ['alone', 'rare'], '`middle` (20) is skipped too');
    assert.deepEqual(names(0), ['alone'], 'the best term is always kept');
    // A term past the bound is skipped, not an end: a rarer term after it is still taken.
    const heavyFirst = [
      { term: 'shared', weight: 100 },
      { term: 'rare', weight: 1 },
    ];
    assert.deepEqual(
      index.selectTerms(heavyFirst, 48, 62).map((t) => t.term),
      ['shared', 'rare'],
    );
    assert.deepEqual(
      index
        .selectTerms(
          [
            { term: 'shared', weight: 100 },
            { term: 'middle', weight: 1 },
            { term: 'rare', weight: 1 },
          ],
          48,
          62,
        )
        .map((t) => t.term),
      ['shared', 'rare'],
    );
    // search() scores exactly the selected terms.
    const bounded = index.search(terms, 100, { maxPostings: 10 });
    assert.deepEqual(bounded.map((h) => h.id).sort(), ['d0', 'd1', 'd5']);
  });
});

describe('query analysis', () => {
  it('extracts V8, Python and Java stack frames', () => {
    const frames = extractFrames(
      [
        'TypeError: Cannot read properties of undefined',
        '    at TodoStore.complete (/home/me/app/src/store/todoStore.ts:42:11)',
        '    at async Router.handle (/home/me/app/src/http/router.ts:30:9)',
        '    at node:internal/process/task_queues:95:5',
        '  File "/srv/scripts/export_csv.py", line 18, in export_csv',
        '\tat com.example.App.main(App.java:12)',
      ].join('\n'),
    );
    const fns = frames.map((f) => f.fn);
    assert.ok(fns.includes('TodoStore.complete'));
    assert.ok(fns.includes('Router.handle'));
    assert.ok(fns.includes('export_csv'));
    assert.ok(fns.includes('com.example.App.main'));
    assert.ok(!frames.some((f) => f.file?.startsWith('node:')));
  });

  it('weights frame names and notes file stems named in the query', () => {
    const q = analyzeQuery('Crash when completing a todo\n    at TodoStore.complete (/app/src/store/todoStore.ts:42:11)', { frameWeight: 2 });
    const w = new Map(q.terms.map((t) => [t.term, t.weight]));
    assert.ok((w.get('complete') ?? 0) > 1);
    assert.ok(q.fileStems.has('todostore'));
  });
});

describe('analyzeFile: both levels from one tokenisation', function () {
  this.timeout(120_000);

  it("equals docTerms of each chunk and of the file's document (terms, weights, order, lengths), on real files, and indexes the same", async () => {
    const chunker = new Chunker();
    try {
      const dir = path.join(repoRoot(), 'src', 'core');
      const files = ['retrieval.ts', 'lexicalIndex.ts', 'tokenize.ts', 'chunker/markdown.ts'].map((f) => path.join(dir, f));
      // A Markdown file (headings, code blocks) and a long line split into pieces, too.
      files.push(path.join(repoRoot(), 'README.md'));
      const split = path.join(mkdtempSync(path.join(tmpdir(), 'gw-analyze-')), 'long.js');
      writeFileSync(split, `const a = 1;\nconst long = [${Array.from({ length: 3000 }, (_, i) => `itemName${i}`).join(', ')}];\n`);
      files.push(split);
      const viaDocs = new LexicalIndex();
      const viaDocsFiles = new LexicalIndex();
      const viaAnalysis = new LexicalIndex();
      const viaAnalysisFiles = new LexicalIndex();
      for (const file of files) {
        const rel = path.basename(file);
        const { chunks } = await chunker.chunkFile(rel, readFileSync(file, 'utf8'));
        assert.ok(chunks.length > 0);
        const analyzed = analyzeFile(rel, chunks);
        chunks.forEach((c, i) => assert.deepEqual([...analyzed.chunks[i]!.tf], [...docTerms(c).tf], `${c.id}`));
        chunks.forEach((c, i) => assert.equal(analyzed.chunks[i]!.len, docTerms(c).len));
        const fileDoc = fileLexicalDoc(rel, chunks);
        assert.deepEqual([...analyzed.file.tf], [...docTerms(fileDoc).tf], rel);
        assert.equal(analyzed.file.len, docTerms(fileDoc).len);
        viaDocs.add(chunks);
        viaDocsFiles.add([fileDoc]);
        viaAnalysis.add(chunks, analyzed.chunks);
        viaAnalysisFiles.add([fileDoc], [analyzed.file]);
      }
      assert.ok(viaDocs.serialize().equals(viaAnalysis.serialize()), 'chunk-level snapshots byte-equal');
      assert.ok(viaDocsFiles.serialize().equals(viaAnalysisFiles.serialize()), 'file-level snapshots byte-equal');
      rmSync(path.dirname(split), { recursive: true, force: true });
    } finally {
      chunker.dispose();
    }
  });
});
