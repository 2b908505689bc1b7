/**
 * Retrieval on a small real-looking repository (test/fixtures/roles-workspace): source, a test, docs
 * and their translation, an issue template, a changelog, a release script and a vendored folder
 * with its own licence, the mix a user's workspace has. Plus the pure parts: file roles, query
 * intent, issue boilerplate, paths and identifiers named in a query.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileRole, queryIntent, rolePrior, vendoredFolders, DEFAULT_ROLE_PRIORS, type QueryIntent } from '../../src/core/fileRoles';
import { analyzeQuery, stripBoilerplate } from '../../src/core/queryAnalysis';
import { fusionWeights, search, type SearchHit } from '../../src/core/retrieval';
import { symbolKeys } from '../../src/core/symbolTable';
import { seededRandom } from '../../src/core/random.mjs';
import { HashingTestEmbedder } from '../../src/core/testEmbedder';
import { rootsFromDirs, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { repoRoot } from '../repoRoot';

const WS = path.join(repoRoot(), 'test', 'fixtures', 'roles-workspace');

const ISSUE = `Rate limiter returns 429 forever after the system clock jumps back

**Describe the bug**
A clear and concise description of what the bug is.
After NTP moved the clock back by an hour, every request from a client gets 429 Too Many Requests and
the Retry-After header is huge. It looks like refill() computes a negative elapsed time.

**To Reproduce**
Steps to reproduce the behavior.
1. new RateLimiter({ capacity: 5, refillPerSecond: 1 })
2. move the clock back
3. call check("client") a few times

**Expected behavior**
A clear and concise description of what you expected to happen.

**Environment**
- OS: Linux
- Node version: 20
<!-- Please fill in the template: issues without a reproduction are closed. -->
- [x] I have searched the existing issues
`;

describe('retrieval', () => {
  describe('file roles', () => {
    const cases: Array<[string, string]> = [
      ['src/rateLimiter.ts', 'source'],
      ['lib/index.js', 'source'],
      ['src/builtin.jq', 'source'],
      ['types/index.d.ts', 'declaration'],
      ['test/rateLimiter.test.ts', 'test'],
      ['pkg/server/server_test.go', 'test'],
      ['src/test/java/com/acme/ParserTest.java', 'test'],
      ['tests/test_parser.py', 'test'],
      ['crates/core/tests/fixtures/input.txt', 'test'],
      ['docs/rate-limiting.md', 'docs'],
      ['README.md', 'docs'],
      ['docs/assets/js/search.js', 'docs'],
      ['docs/content/manual/manual.yml', 'docs'],
      ['docs/zh-CN/rate-limiting.md', 'translation'],
      ['README.ja.md', 'translation'],
      ['.github/ISSUE_TEMPLATE/bug_report.md', 'template'],
      ['.github/pull_request_template.md', 'template'],
      ['.github/workflows/ci.yml', 'template'],
      ['.github/scripts/lint.js', 'tooling'],
      ['CHANGELOG.md', 'changelog'],
      ['NEWS', 'changelog'],
      ['NEWS.md', 'changelog'],
      ['CONTRIBUTING.md', 'meta'],
      ['LICENSE', 'meta'],
      ['examples/basic/server.ts', 'example'],
      ['benches/decode.rs', 'bench'],
      ['vendor/github.com/x/y.go', 'vendor'],
      ['third_party/zlib/inflate.c', 'vendor'],
      ['dist/bundle.js', 'generated'],
      ['api/service.pb.go', 'generated'],
      ['package.json', 'config'],
      ['scripts/release.sh', 'tooling'],
      ['vet.sh', 'tooling'],
      ['src/credentials.ts', 'source'],
      ['jq.1.prebuilt', 'docs'],
      ['doc/rg.1', 'docs'],
      ['Makefile.am', 'config'],
      ['LICENSE-APACHE', 'meta'],
      ['README.SETUP', 'docs'],
      ['complete/_rg', 'tooling'],
      ['src/parser.y', 'source'],
    ];
    for (const [p, role] of cases) {
      it(`${p} is ${role}`, () => assert.equal(fileRole(p), role));
    }

    it('finds third-party folders by their own licence, not packages of a monorepo', () => {
      const paths = [
        'LICENSE',
        'package.json',
        'src/a.ts',
        'src/lru/LICENSE',
        'src/lru/lru.ts',
        'packages/core/LICENSE',
        'packages/core/package.json',
        'crates/x/COPYING',
        'crates/x/Cargo.toml',
        'src/dec/ICU-license.html',
      ];
      assert.deepEqual(vendoredFolders(paths), ['src/dec/', 'src/lru/']);
    });

    it('lifts a role when the question asks for it, never for issue reports', () => {
      const tests = queryIntent('how is the token bucket tested?', false);
      assert.equal(tests.tests, true);
      assert.ok(rolePrior('test', tests) > rolePrior('source', tests));
      assert.equal(rolePrior('test', queryIntent('how does the token bucket refill?', false)), DEFAULT_ROLE_PRIORS.test);
      assert.equal(queryIntent('where is the docs page for rate limiting?', false).docs, true);
      // Asking for tests, docs or examples, in several phrasings; the words naming a feature of the code ("test client", "manual retries", "for example") do not.
      const cases: Array<[keyof QueryIntent, boolean, string[]]> = [
        [
          'tests',
          true,
          [
            'where are the tests for the router?',
            'is there a test for this?',
            'which test case covers retries?',
            'show me the unit tests of the parser',
            'how is it tested',
            'where is the test?',
          ],
        ],
        ['tests', false, ['how does the test client keep cookies between requests?', 'what does the test runner do with a timeout', 'how do I enable test mode in the config']],
        [
          'docs',
          true,
          [
            'where is the docs page for hooks?',
            'is this documented anywhere',
            'what does the README say about plugins',
            'is there a tutorial',
            'where is the getting started guide',
            'what does the user manual say about ranges',
          ],
        ],
        ['docs', false, ['how are doc comments attached to declarations?', 'how do manual retries work', 'how does the router guide a request to its handler']],
        ['examples', true, ['is there an example of a custom reporter?', 'where are the examples', 'show me sample code for plugins', 'is there a demo app']],
        ['examples', false, ['how are routes matched, for example with a trailing slash?', 'how is the sample rate converted', 'why are audio samples dropped']],
      ];
      for (const [intent, expected, questions] of cases) for (const q of questions) assert.equal(queryIntent(q, false)[intent], expected, `${intent}: ${q}`);
      assert.deepEqual(Object.values(queryIntent('my unit test fails, the docs say otherwise', true)), [false, false, false, false, false]);
      // The reader's own language first, even when docs are asked for.
      const docs = queryIntent('where is the documentation?', false);
      assert.ok(rolePrior('docs', docs) > rolePrior('translation', docs));
    });
  });

  describe('query analysis', () => {
    it('drops issue-template boilerplate: headings, bold labels, HTML comments, checklists', () => {
      const out = stripBoilerplate(ISSUE);
      assert.doesNotMatch(out, /Describe the bug|Expected behavior|Please fill in|I have searched/);
      assert.match(out, /refill\(\) computes a negative elapsed time/);
      assert.match(out, /new RateLimiter/);
    });

    it('finds paths in repository URLs and path:line frames, and code-style identifiers', () => {
      const a = analyzeQuery(
        'Overridden here: https://github.com/acme/kit/blob/master/src/retry.ts#L14 and see lib/util/math.js:22 — computeBackoff(n) returns NaN for `maxDelayMs`',
      );
      assert.ok(a.paths.includes('src/retry.ts'), a.paths.join(','));
      assert.ok(a.paths.includes('lib/util/math.js'), a.paths.join(','));
      assert.ok(a.identifiers.includes('computeBackoff'));
      assert.ok(a.identifiers.includes('maxDelayMs'));
      assert.ok(a.fileStems.has('retry'));
    });

    it('weighs a term written several times more (query term frequency)', () => {
      const a = analyzeQuery('bucket bucket bucket refill', { queryTf: 0.5 });
      const w = new Map(a.terms.map((t) => [t.term, t.weight]));
      assert.ok(w.get('bucket')! > w.get('refill')!);
      const flat = analyzeQuery('bucket bucket bucket refill', { queryTf: 0 });
      assert.equal(new Map(flat.terms.map((t) => [t.term, t.weight])).get('bucket'), 1);
    });

    it("weighs the terms of a long report's first line (its title) more", () => {
      const report = `Refill goes negative after a clock jump\n\n${'The limiter keeps answering with a long wait for every client of the service. '.repeat(8)}`;
      const weight = (opts: { titleWeight?: number }) => new Map(analyzeQuery(report, opts).terms.map((t) => [t.term, t.weight]));
      const titled = weight({});
      const flat = weight({ titleWeight: 1 });
      assert.equal(titled.get('refill'), flat.get('refill')! * 1.5);
      assert.equal(titled.get('limiter'), flat.get('limiter'));
      // Short questions have no title: nothing changes.
      const q = 'how does refill work';
      assert.deepEqual(analyzeQuery(q).terms, analyzeQuery(q, { titleWeight: 1 }).terms);
    });

    it('validates fusion weights from settings or flags, naming the one to fix', () => {
      const names = { lexical: '--lexical-weight', vector: '--vector-weight' };
      assert.deepEqual(fusionWeights(undefined, undefined, names), { lexicalWeight: 1, vectorWeight: 1 });
      assert.deepEqual(fusionWeights('0.5', 2, names), { lexicalWeight: 0.5, vectorWeight: 2 });
      assert.throws(() => fusionWeights(-1, 1, names), /--lexical-weight must be a number from 0 to 10/);
      assert.throws(() => fusionWeights(1, 'lots', names), /--vector-weight must be a number/);
      assert.throws(() => fusionWeights(1, 11, names), /--vector-weight/);
      assert.throws(() => fusionWeights(0, 0, names), /cannot both be 0/);
    });

    it('keys symbols by their last identifier', () => {
      assert.deepEqual(symbolKeys('Runner.prototype.run'), ['run']);
      assert.deepEqual(symbolKeys('fmt::detail::write<Char>'), ['write']);
      assert.deepEqual(symbolKeys('TokenBucket'), ['tokenbucket']);
      assert.deepEqual(symbolKeys('impl Display for Foo'), ['foo']);
      assert.deepEqual(symbolKeys('<T as Trait>'), ['trait']);
      assert.deepEqual(symbolKeys('operator<<'), ['operator']);
      assert.deepEqual(symbolKeys('x'), []);
      assert.deepEqual(symbolKeys('42 :: 7'), []);
      assert.deepEqual(symbolKeys('v2 12'), ['v2']);
    });

    it('keys any name exactly as the regular-expression definition does (random names)', () => {
      // The definition the scan replaces: the last identifier before the first '<' (else in the whole name), lower-cased, longer than 1.
      const reference = (name: string): string[] => {
        const parts = name.match(/[A-Za-z_$][A-Za-z0-9_$]*/g);
        if (!parts?.length) return [];
        const head = name.split('<')[0]!.match(/[A-Za-z_$][A-Za-z0-9_$]*/g) ?? parts;
        const last = head[head.length - 1]!.toLowerCase();
        return last.length > 1 ? [last] : [];
      };
      const rand = seededRandom(7);
      const alphabet = 'aZ_$09 .:<>()&*,-#é';
      for (let i = 0; i < 5000; i++) {
        let name = '';
        const n = Math.floor(rand() * 14);
        for (let j = 0; j < n; j++) name += alphabet[Math.floor(rand() * alphabet.length)];
        assert.deepEqual(symbolKeys(name), reference(name), JSON.stringify(name));
      }
    });
  });

  describe('on a workspace with tests, docs and templates', () => {
    let tmp: string;
    let index: WorkspaceIndex;
    const files = (hits: SearchHit[]) => [...new Set(hits.map((h) => h.path))];

    before(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), 'gw-retrieval-'));
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([WS]), indexDir: path.join(tmp, 'index') });
      await index.update();
    });
    after(async () => {
      await index.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('ranks the source above its test, its docs, the changelog and the translation', async () => {
      const hits = await search(index, 'how does the token bucket refill and decide the retry after header?', { k: 10 });
      assert.equal(hits[0]!.path, 'src/rateLimiter.ts');
      const rank = (p: string) => files(hits).indexOf(p);
      for (const other of ['test/rateLimiter.test.ts', 'docs/rate-limiting.md', 'CHANGELOG.md', 'docs/zh-CN/rate-limiting.md']) {
        if (rank(other) >= 0) assert.ok(rank(other) > rank('src/rateLimiter.ts'), `${other} above the source`);
      }
    });

    it('lets the question ask for tests or docs', async () => {
      const tested = await search(index, 'how is the token bucket tested?', { k: 5 });
      assert.equal(tested[0]!.path, 'test/rateLimiter.test.ts');
      const docs = await search(index, 'where is the documentation page about configuring rate limiting?', { k: 5 });
      assert.equal(docs[0]!.path, 'docs/rate-limiting.md');
    });

    it('keeps an issue report away from the issue template it was written in', async () => {
      const hits = await search(index, ISSUE, { k: 10 });
      assert.equal(hits[0]!.path, 'src/rateLimiter.ts');
      assert.ok(!files(hits).slice(0, 3).includes('.github/ISSUE_TEMPLATE/bug_report.md'), files(hits).join(', '));
      // The template does match once its role prior is turned off: the prior is what keeps it down.
      const neutral = await search(index, ISSUE, { k: 10, rolePriors: { template: 1, changelog: 1, docs: 1, test: 1, translation: 1 } });
      const templateRank = (h: SearchHit[]) => files(h).indexOf('.github/ISSUE_TEMPLATE/bug_report.md');
      assert.ok(templateRank(neutral) >= 0 && (templateRank(hits) < 0 || templateRank(hits) > templateRank(neutral)));
    });

    it('puts a file named by path in the query first', async () => {
      const hits = await search(index, 'the jitter looks wrong, see https://github.com/acme/kit/blob/main/src/retry.ts#L12 when the limiter rejects', { k: 5 });
      assert.equal(hits[0]!.path, 'src/retry.ts');
    });

    it('prefers the file that defines a named identifier over one that only uses it', async () => {
      const withDefs = await search(index, 'computeBackoff limiter headers', { k: 5 });
      const rank = (h: SearchHit[], p: string) => files(h).indexOf(p);
      assert.ok(rank(withDefs, 'src/retry.ts') >= 0 && rank(withDefs, 'src/retry.ts') < rank(withDefs, 'src/router.ts'));
      const without = await search(index, 'computeBackoff limiter headers', { k: 5, symbolWeight: 0 });
      assert.ok(rank(without, 'src/retry.ts') >= rank(withDefs, 'src/retry.ts'));
    });

    it('demotes a vendored folder (own licence, no manifest) below the code that uses it', async () => {
      const hits = await search(index, 'least recently used cache of client buckets', { k: 10 });
      const neutral = await search(index, 'least recently used cache of client buckets', { k: 10, rolePriors: { vendor: 1 } });
      const at = (h: SearchHit[]) => h.find((x) => x.path === 'src/lru/lru.ts')?.score ?? 0;
      assert.ok(at(neutral) > 0);
      assert.ok(at(hits) < at(neutral));
    });

    it('spreads hits over files, respects the per-file cap, and never overlaps two hits of a file', async () => {
      const hits = await search(index, 'rate limiter token bucket retry backoff router', { k: 10, perFileCap: 2 });
      const perFile = new Map<string, SearchHit[]>();
      for (const h of hits) perFile.set(h.path, [...(perFile.get(h.path) ?? []), h]);
      assert.ok(perFile.size >= 4, `only ${perFile.size} files`);
      for (const [p, list] of perFile) {
        assert.ok(list.length <= 2, `${p} has ${list.length} hits`);
        for (const a of list) for (const b of list) if (a !== b) assert.ok(a.endLine < b.startLine || b.endLine < a.startLine, `${p} hits overlap`);
      }
      // The best hit of each file comes before that file's second hit.
      const seen = new Set<string>();
      for (const h of hits) {
        if (seen.has(h.path)) continue;
        seen.add(h.path);
        const first = perFile.get(h.path)![0]!;
        assert.equal(first, h);
      }
    });

    it('keeps the best place of each of the top minFiles files, and gives the other slots to the best places', async () => {
      const q = 'rate limiter token bucket retry backoff router';
      const spread = await search(index, q, { k: 10, perFileCap: 5, minFiles: 10 });
      const deep = await search(index, q, { k: 10, perFileCap: 5, minFiles: 2 });
      // Files appear in the ranking's order either way: the deep list's files are a prefix-compatible subsequence.
      const order = files(spread);
      const deepFiles = files(deep);
      assert.ok(deepFiles.length <= order.length);
      assert.deepEqual(deepFiles.slice(0, 2), order.slice(0, 2));
      for (let i = 1; i < deepFiles.length; i++) assert.ok(order.indexOf(deepFiles[i]!) > order.indexOf(deepFiles[i - 1]!), deepFiles.join(', '));
      // One place per file first: minFiles = k gives every slot to a different file when there are enough.
      assert.equal(new Set(spread.map((h) => h.path)).size, Math.min(spread.length, order.length));
      const perFile = new Map<string, number>();
      for (const h of deep) perFile.set(h.path, (perFile.get(h.path) ?? 0) + 1);
      assert.ok([...perFile.values()].every((n) => n <= 5));
      assert.ok(
        [...perFile.values()].some((n) => n > 1),
        'the best files got more than one place',
      );
    });

    it("lifts files where a long report's title words stand next to each other (title phrases)", async () => {
      const ws = path.join(tmp, 'phrases');
      mkdirSync(ws, { recursive: true });
      // apart.ts has both words more often, but never together; together.ts has the phrase once.
      writeFileSync(
        path.join(ws, 'apart.ts'),
        'export function tick(clock: number): number {\n  // the clock moves on; a clock reads the time\n  return clock;\n}\n\nexport function hop(jump: number): number {\n  // a jump skips ahead\n  return jump * 2;\n}\n',
      );
      writeFileSync(
        path.join(ws, 'together.ts'),
        'export function guard(now: number, last: number): number {\n  // a clock jump backwards makes the elapsed time negative\n  return Math.max(0, now - last);\n}\n',
      );
      // Other files, so that the report's words are rare as in a real repository.
      for (let i = 0; i < 12; i++)
        writeFileSync(
          path.join(ws, `other${i}.ts`),
          `export function other${i}(xs: string[]): string {\n  // joins item ${i} of the list with commas\n  return xs.join(',');\n}\n`,
        );
      const report = `Clock jump\n\n${'We run the service on many machines and saw this more than once in production logs over several weeks. '.repeat(5)}`;
      const idx = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'phrases-index') });
      try {
        await idx.update();
        assert.equal(analyzeQuery(report).title, 'Clock jump');
        assert.equal(analyzeQuery('clock jump').title, '', 'a short question has no title');
        const off = files(await search(idx, report, { k: 5, titlePhraseWeight: 0 }));
        const on = files(await search(idx, report, { k: 5, titlePhraseWeight: 1 }));
        assert.equal(off[0], 'apart.ts');
        assert.equal(on[0], 'together.ts');
      } finally {
        await idx.close();
      }
    });

    it('adds up several matching places of a file (chunk aggregation)', async () => {
      const ws = path.join(tmp, 'aggregation');
      mkdirSync(ws, { recursive: true });
      const fn = (name: string, body: string) => `export function ${name}(entries: number[]): number {\n  // ${body}\n  return entries.length;\n}\n`;
      // The same words at one place of a short file (single.ts: a short chunk, the best BM25) and at
      // two places of a long one, far apart (several.ts: each chunk longer, so each a little weaker).
      writeFileSync(path.join(ws, 'single.ts'), fn('settle', 'reconcile the ledger for one day') + '\n' + fn('unrelated', 'format a number for display'));
      const filler = Array.from({ length: 12 }, (_, i) => fn(`pad${i}`, `format value ${i} for display in the table`)).join('\n');
      writeFileSync(
        path.join(ws, 'several.ts'),
        fn('settleDay', 'reconcile the ledger for one day') + '\n' + filler + '\n' + fn('settleMonth', 'reconcile the ledger for one month'),
      );
      const agg = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'aggregation-index') });
      try {
        await agg.update();
        const opts = { k: 5, fileWeight: 0 };
        const best = files(await search(agg, 'reconcile ledger', { ...opts, chunkAggregation: 0 }));
        const summed = files(await search(agg, 'reconcile ledger', { ...opts, chunkAggregation: 0.5 }));
        assert.equal(best[0], 'single.ts');
        assert.equal(summed[0], 'several.ts');
      } finally {
        await agg.close();
      }
    });

    it('widens a hit with neighbouring chunks, and its text is exactly the lines it cites', async () => {
      const wide = await search(index, 'token bucket consume refill capacity', { k: 3, hitLines: 60 });
      const narrow = await search(index, 'token bucket consume refill capacity', { k: 3, hitLines: 0 });
      const span = (h: SearchHit) => h.endLine - h.startLine + 1;
      assert.ok(span(wide[0]!) > span(narrow[0]!), `${span(wide[0]!)} vs ${span(narrow[0]!)}`);
      for (const h of wide) {
        assert.ok(span(h) <= 60 || h.startLine === h.endLine);
        const lines = readFileSync(path.join(WS, h.path), 'utf8')
          .split('\n')
          .slice(h.startLine - 1, h.endLine);
        // Blank lines between chunks come back empty; every other line is the file's own.
        assert.deepEqual(
          h.text.split('\n').map((l) => l.trimEnd()),
          lines.map((l) => (l.trim() ? l.trimEnd() : '')),
        );
      }
    });

    it('widens hits in a folder whose name contains @ (scoped packages) too', async () => {
      const ws = path.join(tmp, 'scoped');
      mkdirSync(path.join(ws, 'packages', '@acme'), { recursive: true });
      copyFileSync(path.join(WS, 'src', 'rateLimiter.ts'), path.join(ws, 'packages', '@acme', 'rateLimiter.ts'));
      const scoped = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir: path.join(tmp, 'scoped-index') });
      try {
        await scoped.update();
        const wide = await search(scoped, 'token bucket consume refill capacity', { k: 1, hitLines: 60 });
        const narrow = await search(scoped, 'token bucket consume refill capacity', { k: 1, hitLines: 0 });
        assert.ok(wide[0]!.endLine - wide[0]!.startLine > narrow[0]!.endLine - narrow[0]!.startLine);
      } finally {
        await scoped.close();
      }
    });

    it('is deterministic', async () => {
      const a = await search(index, ISSUE, { k: 10 });
      const b = await search(index, ISSUE, { k: 10 });
      assert.deepEqual(
        a.map((h) => [h.path, h.startLine, h.endLine, h.score]),
        b.map((h) => [h.path, h.startLine, h.endLine, h.score]),
      );
    });

    it('returns nothing for an empty query or one with no indexed terms', async () => {
      assert.deepEqual(await search(index, '   '), []);
      assert.deepEqual(await search(index, 'zzqqxxy wwvvkk'), []);
    });
  });

  describe('hybrid fusion (deterministic test embedder: checks the code path, not semantic quality)', () => {
    let tmp: string;
    let index: WorkspaceIndex;
    before(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), 'gw-retrieval-h-'));
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([WS]), indexDir: path.join(tmp, 'index'), embedder: new HashingTestEmbedder(64) });
      await index.update();
    });
    after(async () => {
      await index.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('fuses lexical and vector candidates, and each mode uses only its retriever', async () => {
      const q = 'token bucket refill';
      const hybrid = await search(index, q, { k: 5 });
      assert.ok(hybrid.some((h) => h.retrievers.includes('vector')) && hybrid.some((h) => h.retrievers.includes('lexical')));
      const lexical = await search(index, q, { k: 5, mode: 'lexical' });
      assert.ok(lexical.every((h) => !h.retrievers.includes('vector')));
      const vector = await search(index, q, { k: 5, mode: 'vector' });
      assert.ok(vector.length > 0 && vector.every((h) => !h.retrievers.includes('lexical')));
    });

    it('weights the fused lists: more vector weight, more hits found by the vector retriever', async () => {
      const q = 'client buckets least recently used';
      const share = (hits: SearchHit[]) => hits.filter((h) => h.retrievers.includes('vector')).length / Math.max(1, hits.length);
      const low = await search(index, q, { k: 10, vectorWeight: 0.1, lexicalWeight: 1 });
      const high = await search(index, q, { k: 10, vectorWeight: 3, lexicalWeight: 1 });
      assert.ok(share(high) >= share(low), `${share(high)} < ${share(low)}`);
      assert.ok(share(high) > 0);
    });
  });
});
