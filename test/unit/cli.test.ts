import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startOpenAIStandIn } from '../openaiStandIn';
import { repoRoot } from '../repoRoot';

const CLI = path.join(repoRoot(), 'dist/cli.js');
const FIXTURE = path.join(repoRoot(), 'test/fixtures/workspace');

function run(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run, but leaves this process's event loop free (for the stand-in server living in it). */
function runAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, CI: 'true', GROUNDWORK_OFFLINE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('groundwork CLI', function () {
  let tmp: string;
  let ws: string;
  let cache: string;

  before(() => assert.ok(existsSync(CLI), 'dist/cli.js missing: run node scripts/build.mjs'));
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
    ws = path.join(tmp, 'ws');
    cache = path.join(tmp, 'cache');
    cpSync(FIXTURE, ws, { recursive: true });
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('index, search and stats work end to end, with the index under the cache folder', () => {
    const env = { GROUNDWORK_CACHE_DIR: cache };
    const idx = run(['index', '--workspace', ws], env);
    assert.equal(idx.code, 0, idx.stderr);
    assert.match(idx.stderr, /Indexed \d+ files/);
    assert.match(idx.stderr, /lexical only/);
    assert.equal(idx.stdout, '');
    assert.ok(readdirSync(cache).length === 1, 'one index folder keyed by the workspace');

    const s = run(['search', 'persist todos to a JSON file', '--workspace', ws, '--k', '3'], env);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^ 1\. src\/store\/todoStore\.ts:L\d+-L\d+/);

    const j = run(['search', 'token bucket', '--workspace', ws, '--json'], env);
    const parsed = JSON.parse(j.stdout) as { hits: Array<{ path: string; startLine: number; endLine: number }> };
    assert.equal(parsed.hits[0]?.path, 'src/http/rateLimit.ts');

    const st = run(['stats', '--workspace', ws], env);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Indexed: +\d+ files, \d+ chunks/);
    assert.match(st.stdout, /Skipped:/);
    assert.match(st.stdout, /Vectors: +off/);
  });

  it('runs lexical-only while the local model is missing, then adds vectors once it is installed', () => {
    const models = path.join(tmp, 'models');
    const config = path.join(tmp, 'config.json');
    writeFileSync(config, JSON.stringify({ embeddings: { provider: 'local', model: 'groundwork/tiny-bert', cacheDir: models } }));
    const env = { GROUNDWORK_CACHE_DIR: cache, GROUNDWORK_CONFIG: config };
    const before = run(['index', '--workspace', ws], env);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stderr, /Vectors: off, search is lexical only: the local model groundwork\/tiny-bert is not installed in .*download-model/);
    // Install the (generated, random-weight) model where the config says models live.
    const made = spawnSync(process.execPath, [path.join(repoRoot(), 'scripts/makeTinyModel.mjs'), models], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const after = run(['index', '--workspace', ws], env);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stderr, /Vectors: ready \(\d+ embedded, 0 from cache\)/);
    const s = run(['search', 'token bucket rate limiting', '--workspace', ws, '--json', '--no-update'], env);
    const hits = (JSON.parse(s.stdout) as { hits: Array<{ retrievers: string[] }> }).hits;
    assert.ok(
      hits.some((h) => h.retrievers.includes('vector')),
      s.stdout,
    );
  });

  describe('eval contract', () => {
    it('prints exactly one JSON document with every id, relative paths and 1-based lines, and writes nothing into the workspace', () => {
      const queries = path.join(tmp, 'q.jsonl');
      writeFileSync(
        queries,
        [
          JSON.stringify({ id: 'q1', query: 'how are passwords hashed?' }),
          JSON.stringify({ id: 'q2', query: 'zzqx qqvv' }),
          '',
          JSON.stringify({ id: 'q3', query: `Server crashes\n${'    at Router.handle (/srv/app/src/http/router.ts:30:9)\n'.repeat(50)}` }),
        ].join('\n'),
      );
      const before = listTree(ws);
      const r = run(['eval', '--workspace', ws, '--queries', queries, '--k', '10', '--json'], { GROUNDWORK_CACHE_DIR: cache });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { version: number; results: Array<{ id: string; hits: Array<{ path: string; startLine: number; endLine: number; score: number }> }> };
      assert.equal(r.stdout.trim().split('\n').length, 1);
      assert.equal(doc.version, 1);
      assert.deepEqual(
        doc.results.map((x) => x.id),
        ['q1', 'q2', 'q3'],
      );
      assert.equal(doc.results[0]!.hits[0]!.path, 'src/auth/passwords.ts');
      assert.deepEqual(doc.results[1]!.hits, []);
      assert.equal(doc.results[2]!.hits[0]!.path, 'src/http/router.ts');
      for (const res of doc.results) {
        assert.ok(res.hits.length <= 10);
        for (const h of res.hits) {
          assert.ok(!path.isAbsolute(h.path) && !h.path.includes('\\'));
          assert.ok(Number.isInteger(h.startLine) && h.startLine >= 1 && h.endLine >= h.startLine);
          assert.equal(typeof h.score, 'number');
        }
        for (let i = 1; i < res.hits.length; i++) assert.ok(res.hits[i - 1]!.score >= res.hits[i]!.score);
      }
      assert.deepEqual(listTree(ws), before, 'eval wrote into the workspace');
      assert.ok(!existsSync(cache) || readdirSync(cache).length === 0, 'eval left an index in the user cache');
      // The run says which retrieval it measured, in the JSON and on stderr.
      const mode = (doc as unknown as { mode: { retrieval: string; embedder: string | null; reason: string } }).mode;
      assert.equal(mode.retrieval, 'lexical-only');
      assert.equal(mode.embedder, null);
      assert.ok(mode.reason.length > 0);
      assert.match(r.stderr, /Retrieval: lexical-only \(/);
    });

    it('eval reports hybrid retrieval and its embedder when vectors took part', async () => {
      const ws = path.join(repoRoot(), 'test', 'fixtures', 'workspace');
      const queries = path.join(tmp, 'hybrid-queries.jsonl');
      writeFileSync(queries, JSON.stringify({ id: 'q1', query: 'how are passwords hashed?' }));
      // Vectors from the OpenAI-compatible stand-in (the hashing test embedder is not a CLI choice).
      const server = await startOpenAIStandIn({ defaultDimensions: 16 });
      try {
        const env = { GROUNDWORK_CACHE_DIR: path.join(tmp, 'cache-h'), OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: 'k' };
        const r = await runAsync(['eval', '--workspace', ws, '--queries', queries, '--json', '--embedder', 'openai', '--embed-model', 'e'], env);
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as { mode: { retrieval: string; embedder: string | null } };
        assert.equal(doc.mode.retrieval, 'hybrid');
        assert.ok(doc.mode.embedder && /^openai:e@/.test(doc.mode.embedder), String(doc.mode.embedder));
        assert.match(r.stderr, /Retrieval: hybrid with /);
      } finally {
        await server.close();
      }
    });

    it('prints recall and MRR when queries carry expected files', () => {
      const queries = path.join(tmp, 'q.jsonl');
      writeFileSync(queries, `${JSON.stringify({ id: 'a', query: 'rate limit 429', expected: ['src/http/rateLimit.ts'] })}\n`);
      const r = run(['eval', '--workspace', ws, '--queries', queries]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /R@1 1\.000 +R@5 1\.000 +R@10 1\.000 +MRR@10 1\.000/);
    });
  });

  describe('bad input', () => {
    const oneLine = (s: string) => s.trim().split('\n').length === 1;

    it('unknown option, unknown command, missing query, bad --k or fusion weight: one line, exit 2', () => {
      for (const args of [
        ['index', '--bogus'],
        ['frobnicate'],
        ['search'],
        ['search', 'x', '--k', 'ten'],
        ['eval', '--workspace', 'a'],
        ['search', 'x', '--vector-weight', '-1'],
        ['ask', 'x', '--lexical-weight', '0', '--vector-weight', '0'],
      ]) {
        const r = run(args, { GROUNDWORK_CACHE_DIR: cache });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(oneLine(r.stderr), r.stderr);
        assert.equal(r.stdout, '');
      }
    });

    it('missing workspace, unreadable or malformed queries file: one line, non-zero, nothing written', () => {
      const missing = run(['index', '--workspace', path.join(tmp, 'nope')], { GROUNDWORK_CACHE_DIR: cache });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /workspace folder not found/);
      assert.ok(oneLine(missing.stderr));

      const noFile = run(['eval', '--workspace', ws, '--queries', path.join(tmp, 'none.jsonl'), '--json']);
      assert.notEqual(noFile.code, 0);
      assert.match(noFile.stderr, /cannot read the queries file/);
      assert.equal(noFile.stdout, '');

      const bad = path.join(tmp, 'bad.jsonl');
      writeFileSync(bad, '{"id": "ok", "query": "fine"}\n{"id": 3}\n');
      const r = run(['eval', '--workspace', ws, '--queries', bad, '--json']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /bad\.jsonl:2: each line needs a string "id"/);
      assert.ok(oneLine(r.stderr));
      assert.equal(r.stdout, '');
    });

    it('stats before any index says what to do', () => {
      const r = run(['stats', '--workspace', ws], { GROUNDWORK_CACHE_DIR: cache });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /run `groundwork index` first/);
    });
  });
});
