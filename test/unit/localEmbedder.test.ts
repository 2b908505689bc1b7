import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { repoRoot } from '../repoRoot';
import { search } from '../../src/core/retrieval';
import { rootsFromDirs, WorkspaceIndex } from '../../src/core/workspaceIndex';
import { estimateTokens, LocalEmbedder } from '../../src/providers/localEmbedder';
import { defaultPooling, type LocalEmbedderOptions } from '../../src/providers/localModel';
import { LocalEmbedderError, ModelDownloadError, ModelUnavailableError } from '../../src/providers/localModelErrors';
import { downloadModel, type DownloadProgress } from '../../src/providers/modelDownload';

const ROOT = repoRoot();
const MAKE_MODEL = path.join(ROOT, 'scripts/makeTinyModel.mjs');
const FIXTURE = path.join(ROOT, 'test/fixtures/workspace');
const MODEL_ID = 'groundwork/tiny-bert';
const HIDDEN = 32;

/** Runs scripts/makeTinyModel.mjs (as users and CI would) and returns the model folder. */
function makeTinyModel(outDir: string, extra: string[] = []): string {
  execFileSync(process.execPath, [MAKE_MODEL, outDir, ...extra], { stdio: 'pipe' });
  return path.join(outDir, ...MODEL_ID.split('/'));
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CODE_TEXTS = [
  'export function signSession(userId: string, secret: string) { return hmac(secret, userId); }',
  'def export_csv(rows, path):\n    with open(path, "w") as f:\n        writer = csv.writer(f)',
  'How are session tokens signed and verified?',
  'rate limit: token bucket with burst allowance per plan',
  'func healthcheck(url string) error { resp, err := http.Get(url) }',
];

/** Starts an HTTP server on a free loopback port. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('local embedder (transformers.js + onnxruntime-node in a worker)', function () {
  let tmp: string;
  let cacheDir: string;
  const open: LocalEmbedder[] = [];

  /** One worker unless a test asks for more (the default, two on this machine, has tests of its own). */
  async function openEmbedder(extra: LocalEmbedderOptions = {}): Promise<LocalEmbedder> {
    const e = await LocalEmbedder.open({ modelId: MODEL_ID, cacheDir, workers: 1, ...extra });
    open.push(e);
    return e;
  }

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'gw-local-embed-'));
    cacheDir = path.join(tmp, 'models');
    makeTinyModel(cacheDir);
  });
  after(async () => {
    for (const e of open) await e.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('the tiny test model', () => {
    it('is written in the layout transformers.js reads, byte-identical for the same seed', () => {
      const dir = path.join(cacheDir, ...MODEL_ID.split('/'));
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
        assert.ok(existsSync(path.join(dir, f)), f);
      }
      const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { model_type: string; hidden_size: number };
      assert.equal(config.model_type, 'bert');
      assert.equal(config.hidden_size, HIDDEN);
      const again = makeTinyModel(path.join(tmp, 'again'));
      for (const f of ['onnx/model.onnx', 'tokenizer.json', 'config.json']) {
        assert.ok(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(again, f))), `${f} differs between runs`);
      }
      const other = makeTinyModel(path.join(tmp, 'seed7'), ['--seed', '7']);
      assert.ok(!readFileSync(path.join(dir, 'onnx/model.onnx')).equals(readFileSync(path.join(other, 'onnx/model.onnx'))), 'the seed changes the weights');
    });
  });

  describe('embedding', () => {
    it('returns one unit vector of the model hidden size per text, deterministically', async () => {
      const e = await openEmbedder();
      assert.equal(e.id, `local:${MODEL_ID}`);
      assert.equal(e.dimensions, HIDDEN);
      assert.equal(e.pooling, 'mean');
      const first = await e.embed(CODE_TEXTS);
      assert.equal(first.length, CODE_TEXTS.length);
      for (const v of first) {
        assert.ok(v instanceof Float32Array);
        assert.equal(v.length, HIDDEN);
        assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
      }
      const second = await e.embed(CODE_TEXTS);
      first.forEach((v, i) => assert.deepEqual([...v], [...second[i]!], `text ${i} changed between calls`));
      for (let i = 0; i < first.length; i++) {
        for (let j = i + 1; j < first.length; j++) assert.ok(maxAbsDiff(first[i]!, first[j]!) > 1e-3, `texts ${i} and ${j} share a vector`);
      }
      const [a, b] = await e.embed([CODE_TEXTS[0]!, CODE_TEXTS[0]!]);
      assert.deepEqual([...a!], [...b!]);
      assert.deepEqual(await e.embed([]), []);
    });

    it('keeps input order and ignores padding: a text gets the same vector whatever it is batched with', async () => {
      const e = await openEmbedder({ batchSize: 3 });
      // Mixed lengths so sorting by length reorders them and short texts are padded in their batch.
      const texts = [...CODE_TEXTS, 'x', 'a much longer text about password hashing with scrypt, a random salt and a constant-time comparison'];
      const together = await e.embed(texts);
      const reversed = await e.embed([...texts].reverse());
      for (let i = 0; i < texts.length; i++) {
        const [alone] = await e.embed([texts[i]!]);
        assert.ok(maxAbsDiff(alone!, together[i]!) < 1e-5, `text ${i}: batched vector differs from the one embedded alone`);
        assert.ok(maxAbsDiff(reversed[texts.length - 1 - i]!, together[i]!) < 1e-5, `text ${i}: order not restored`);
      }
    });

    it('truncates long texts at maxTokens instead of failing', async () => {
      const e = await openEmbedder({ maxTokens: 16 });
      const long = 'function handler(request, response) { return route(request); } '.repeat(200);
      const [a, b] = await e.embed([long, `${long} tail that is cut off anyway`]);
      assert.equal(a!.length, HIDDEN);
      assert.deepEqual([...a!], [...b!], 'text beyond maxTokens must not change the vector');
      // A limit above the model's position table is lowered to it rather than failing in ONNX Runtime.
      const wide = await openEmbedder({ maxTokens: 8192 });
      assert.equal(wide.maxTokens, 512);
      const [c] = await wide.embed([long]);
      assert.equal(c!.length, HIDDEN);
    });

    it('pools with CLS when asked, and loads the fp32 file for dtype fp32', async () => {
      const mean = await openEmbedder();
      const cls = await openEmbedder({ pooling: 'cls' });
      const fp32 = await openEmbedder({ dtype: 'fp32' });
      assert.equal(cls.pooling, 'cls');
      const [m] = await mean.embed([CODE_TEXTS[2]!]);
      const [c] = await cls.embed([CODE_TEXTS[2]!]);
      const [f] = await fp32.embed([CODE_TEXTS[2]!]);
      assert.ok(maxAbsDiff(m!, c!) > 1e-3, 'CLS and mean pooling gave the same vector');
      // The tiny model writes the same graph under both names, so the vectors agree.
      assert.ok(maxAbsDiff(m!, f!) < 1e-6);
    });

    it('derives the pooling from the model: sentence-transformers config first, then the model family', () => {
      assert.equal(defaultPooling('Xenova/bge-small-en-v1.5'), 'cls');
      assert.equal(defaultPooling('BAAI/bge-base-en-v1.5'), 'cls');
      assert.equal(defaultPooling('Xenova/all-MiniLM-L6-v2'), 'mean');
      assert.equal(defaultPooling('Xenova/e5-small-v2'), 'mean');
      const dir = path.join(tmp, 'pooling-cfg');
      mkdirSync(path.join(dir, '1_Pooling'), { recursive: true });
      writeFileSync(path.join(dir, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }));
      assert.equal(defaultPooling('someone/minilm-like', dir), 'cls');
    });
  });

  describe('query and document markers', () => {
    // Same seed and size, so the same weights under each model id: a marked model must give exactly
    // the vectors the unmarked one gives for the marked texts, i.e. the markers reach the model.
    const cases = [
      { id: 'Xenova/bge-small-en-v1.5', query: 'Represent this sentence for searching relevant passages: ', document: '' },
      { id: 'nomic-ai/nomic-embed-text-v1.5', query: 'search_query: ', document: 'search_document: ' },
      { id: 'intfloat/e5-small-v2', query: 'query: ', document: 'passage: ' },
    ];
    for (const c of cases) {
      it(`${c.id}: queries get "${c.query.trim()}", documents ${c.document ? `"${c.document.trim()}"` : 'nothing'}`, async () => {
        const models = path.join(tmp, 'marked');
        execFileSync(process.execPath, [MAKE_MODEL, models, '--model-id', c.id], { stdio: 'pipe' });
        const marked = await LocalEmbedder.open({ modelId: c.id, cacheDir: models, pooling: 'mean', workers: 1 });
        open.push(marked);
        const plain = await openEmbedder({ pooling: 'mean' });
        assert.deepEqual(marked.prefixes, { query: c.query, document: c.document });
        assert.equal(marked.id, c.document ? `local:${c.id}#doc:${c.document.trim()}` : `local:${c.id}`);
        const question = 'How are session tokens signed and verified?';
        const q = await marked.embedQuery(question);
        const [viaPlain, unmarked] = await plain.embed([c.query + question, question]);
        assert.ok(maxAbsDiff(q, viaPlain!) < 1e-6, 'query vector = vector of the marked query');
        assert.ok(maxAbsDiff(q, unmarked!) > 1e-4, 'the marker changes the query vector');
        const [d] = await marked.embed([CODE_TEXTS[0]!]);
        const [dPlain] = await plain.embed([c.document + CODE_TEXTS[0]!]);
        assert.ok(maxAbsDiff(d!, dPlain!) < 1e-6, 'document vector = vector of the marked document');
      });
    }
  });

  describe('batching', () => {
    it('embeds a text repeated within one call once, and gives each repeat its own copy', async () => {
      const e = await openEmbedder({ batchSize: 2, maxLengthRatio: Infinity });
      const before = { ...e.stats };
      const [a, b, a2, a3] = await e.embed([CODE_TEXTS[0]!, CODE_TEXTS[1]!, CODE_TEXTS[0]!, CODE_TEXTS[0]!]);
      assert.equal(e.stats.textsEmbedded - before.textsEmbedded, 2, 'distinct texts embedded');
      assert.equal(e.stats.duplicatesSkipped - before.duplicatesSkipped, 2);
      assert.equal(e.stats.batchesSent - before.batchesSent, 1, 'two distinct texts fit one batch of 2');
      assert.deepEqual([...a2!], [...a!]);
      assert.deepEqual([...a3!], [...a!]);
      assert.ok(maxAbsDiff(a!, b!) > 1e-3);
      assert.notEqual(a2, a, 'a repeat shares the array of the first occurrence');
      a2![0] = 42;
      assert.notEqual(a![0], 42);
      assert.notEqual(a3![0], 42);
    });

    it('groups texts of similar length into one batch and starts a new batch for much longer ones', async () => {
      const short = ['a b', 'c d', 'e f', 'g h'];
      const long = [1, 2, 3, 4].map((i) => `${'request handler route '.repeat(8)}${i}`);
      const texts = [long[0]!, short[0]!, long[1]!, short[1]!, short[2]!, long[2]!, short[3]!, long[3]!];
      const grouped = await openEmbedder({ batchSize: 16 });
      const fixed = await openEmbedder({ batchSize: 16, maxLengthRatio: Infinity });
      const g0 = { ...grouped.stats };
      const f0 = { ...fixed.stats };
      const a = await grouped.embed(texts);
      const b = await fixed.embed(texts);
      assert.equal(grouped.stats.batchesSent - g0.batchesSent, 2, 'short and long texts in separate batches');
      assert.equal(fixed.stats.batchesSent - f0.batchesSent, 1);
      assert.equal(grouped.stats.tokens - g0.tokens, fixed.stats.tokens - f0.tokens);
      const paddedGrouped = grouped.stats.paddedTokens - g0.paddedTokens;
      const paddedFixed = fixed.stats.paddedTokens - f0.paddedTokens;
      assert.ok(paddedGrouped < paddedFixed, `padded tokens ${paddedGrouped} (grouped) vs ${paddedFixed} (fixed)`);
      assert.equal(paddedGrouped, grouped.stats.tokens - g0.tokens, 'equal lengths within each group: no padding at all');
      a.forEach((v, i) => assert.ok(maxAbsDiff(v, b[i]!) < 1e-5, `text ${i}: grouping changed its vector or position`));
    });

    it('estimates WordPiece tokens from words and punctuation, not from whitespace', () => {
      assert.equal(estimateTokens(''), 2);
      assert.equal(estimateTokens('a = b;'), 2 + 4);
      assert.equal(estimateTokens('a\n        =\n        b;'), estimateTokens('a = b;'));
      assert.ok(estimateTokens('getUserByIdentifier') > estimateTokens('get'));
    });

    it('counts real and padded tokens per batch, and texts cut at maxTokens', async () => {
      const e = await openEmbedder({ batchSize: 2, maxTokens: 16, maxLengthRatio: Infinity });
      const before = { ...e.stats };
      // "x" is [CLS] x [SEP]; the long text is cut at 16 tokens, so the batch is 2 × 16 with 3 + 16 real.
      await e.embed(['x', 'function handler(request, response) { return route(request); } '.repeat(20)]);
      assert.equal(e.stats.tokens - before.tokens, 19);
      assert.equal(e.stats.paddedTokens - before.paddedTokens, 32);
      assert.equal(e.stats.truncated - before.truncated, 1);
    });

    it('with two workers: the same vectors in input order as one worker, batches on both, a dead worker replaced', async () => {
      const one = await openEmbedder({ batchSize: 2, maxLengthRatio: Infinity });
      const two = await openEmbedder({ batchSize: 2, workers: 2, maxLengthRatio: Infinity });
      assert.equal(two.workers, 2);
      const texts = [...CODE_TEXTS, 'x', 'y z', 'a much longer text about password hashing with scrypt, a random salt and a constant-time comparison', CODE_TEXTS[3]!];
      const expected = await one.embed(texts);
      const got = await two.embed(texts);
      assert.equal(got.length, texts.length);
      got.forEach((v, i) => assert.ok(maxAbsDiff(v, expected[i]!) < 1e-5, `text ${i}: vector or order differs`));
      const internals = two as unknown as { handles: Array<{ worker: { threadId: number; terminate(): Promise<number> } } | undefined> };
      const [w0, w1] = internals.handles;
      assert.ok(w0 && w1 && w0.worker.threadId !== w1.worker.threadId, 'two distinct worker threads');
      // 8 distinct texts in batches of 2 over 2 workers: 4 batches, so both lanes ran.
      assert.equal(two.stats.batchesDone, 4);
      await w1.worker.terminate();
      const again = await two.embed(texts);
      again.forEach((v, i) => assert.ok(maxAbsDiff(v, expected[i]!) < 1e-5, `text ${i} after a worker restart`));
      assert.ok(internals.handles[1] && internals.handles[1].worker.threadId !== w1.worker.threadId, 'the dead worker was replaced');
    });

    it('by default (two workers), an abort rejects at once and no batch is sent beyond the two running', async () => {
      const e = await LocalEmbedder.open({ modelId: MODEL_ID, cacheDir, batchSize: 64 });
      open.push(e);
      assert.equal(e.workers, Math.min(2, availableParallelism()), 'two workers by default on a machine with two cores or more');
      const texts = Array.from({ length: 640 }, (_, i) => `${'session token signature '.repeat(40)} ${i}`);
      const sentBefore = e.stats.batchesSent;
      const controller = new AbortController();
      const pending = e.embed(texts, controller.signal);
      setImmediate(() => controller.abort());
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      assert.equal(e.stats.batchesSent - sentBefore, e.workers, 'one batch per worker, none after the abort');
      const [v] = await e.embed(['still works']);
      assert.equal(v!.length, HIDDEN);
    });

    it('opens with ONNX Runtime spinning switched off and embeds the same vectors', async () => {
      const plain = await openEmbedder();
      const calm = await openEmbedder({ spinning: false, threads: 1 });
      const [a] = await plain.embed([CODE_TEXTS[4]!]);
      const [b] = await calm.embed([CODE_TEXTS[4]!]);
      assert.ok(maxAbsDiff(a!, b!) < 1e-6);
    });
  });

  describe('worker thread', () => {
    it('runs the model off the caller thread, which keeps serving timers during a large batch', async () => {
      const e = await openEmbedder({ batchSize: 256 });
      assert.notEqual(e.workerThreadId, threadId);
      const texts = Array.from({ length: 512 }, (_, i) => `${CODE_TEXTS[i % CODE_TEXTS.length]!} ${'request handler '.repeat(60)} ${i}`);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      try {
        const started = e.stats.batchesDone;
        const vectors = await e.embed(texts);
        assert.equal(vectors.length, texts.length);
        assert.equal(e.stats.batchesDone - started, 2);
      } finally {
        clearInterval(timer);
      }
      // Had inference run on this thread, no timer could fire while a batch was computing.
      assert.ok(ticks >= 5, `only ${ticks} timer ticks while embedding`);
    });

    it('rejects at once when aborted, sends no further batch, and stays usable', async () => {
      const e = await openEmbedder({ batchSize: 64 });
      const texts = Array.from({ length: 640 }, (_, i) => `${'session token signature '.repeat(40)} ${i}`);
      const sentBefore = e.stats.batchesSent;
      const doneBefore = e.stats.batchesDone;
      const controller = new AbortController();
      const pending = e.embed(texts, controller.signal);
      setImmediate(() => controller.abort());
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      // The rejection came before the worker answered the batch it was running: promptly.
      assert.equal(e.stats.batchesDone, doneBefore, 'the abort waited for the running batch');
      assert.equal(e.stats.batchesSent - sentBefore, 1, 'batches were sent after the abort');
      const [v] = await e.embed(['still works']);
      assert.equal(v!.length, HIDDEN);
      assert.equal(e.stats.batchesDone, doneBefore + 2, 'the aborted batch finished, then the new one');

      const already = new AbortController();
      already.abort();
      await assert.rejects(e.embed(['x'], already.signal), (err: Error) => err.name === 'AbortError');
      assert.equal(e.stats.batchesSent - sentBefore, 2);
    });

    it('starts a new worker when the old one dies, and rejects calls after close()', async () => {
      const e = await openEmbedder();
      const [before] = await e.embed([CODE_TEXTS[1]!]);
      const firstThread = e.workerThreadId;
      const internals = e as unknown as { handles: Array<{ worker: { terminate(): Promise<number> } }> };
      await internals.handles[0]!.worker.terminate();
      const [after] = await e.embed([CODE_TEXTS[1]!]);
      assert.deepEqual([...after!], [...before!]);
      assert.notEqual(e.workerThreadId, firstThread);
      await e.close();
      await assert.rejects(e.embed(['x']), (err: Error) => err instanceof LocalEmbedderError && err.kind === 'worker-exited');
    });
  });

  describe('missing model', () => {
    it('throws ModelUnavailableError saying where the model should be, how to get it, and that search stays lexical', async () => {
      const err = await LocalEmbedder.open({ modelId: 'groundwork/absent-model', cacheDir, downloadHint: 'Run "Groundwork: Download Embedding Model".' }).then(
        () => assert.fail('opened a model that does not exist'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ModelUnavailableError, String(err));
      const dir = path.join(cacheDir, 'groundwork', 'absent-model');
      assert.equal(err.modelDir, dir);
      assert.deepEqual(err.missing, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']);
      assert.match(err.message, /groundwork\/absent-model/);
      assert.ok(err.message.includes(dir));
      assert.match(err.message, /Download Embedding Model/);
      assert.match(err.message, /huggingface\.co\/groundwork\/absent-model/);
      assert.match(err.message, /lexical-only/);
    });

    it('names the one file that is missing from a partial model folder', async () => {
      const partial = path.join(tmp, 'partial');
      cpSync(cacheDir, partial, { recursive: true });
      rmSync(path.join(partial, ...MODEL_ID.split('/'), 'onnx', 'model_quantized.onnx'));
      await assert.rejects(
        LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: partial }),
        (err: unknown) => err instanceof ModelUnavailableError && err.missing.join() === 'onnx/model_quantized.onnx',
      );
    });

    it('reports a worker bundle without a reachable onnxruntime-node as runtime-unavailable', async () => {
      // A copy of the worker bundle outside the repository cannot resolve node_modules/onnxruntime-node,
      // as in a VSIX packaged without the runtime for this platform.
      const isolated = mkdtempSync(path.join(tmpdir(), 'gw-no-runtime-'));
      try {
        const script = path.join(isolated, 'localEmbedderWorker.js');
        cpSync(path.join(ROOT, 'out', 'localEmbedderWorker.js'), script);
        await assert.rejects(
          LocalEmbedder.open({ modelId: MODEL_ID, cacheDir, workerScript: script }),
          (err: unknown) => err instanceof LocalEmbedderError && err.kind === 'runtime-unavailable' && /onnxruntime-node/.test(err.message),
        );
      } finally {
        rmSync(isolated, { recursive: true, force: true });
      }
    });

    it('reports a corrupt model file as a load failure, not as a missing model', async () => {
      const corrupt = path.join(tmp, 'corrupt');
      cpSync(cacheDir, corrupt, { recursive: true });
      writeFileSync(path.join(corrupt, ...MODEL_ID.split('/'), 'onnx', 'model_quantized.onnx'), 'not a protobuf');
      await assert.rejects(
        LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: corrupt }),
        (err: unknown) => err instanceof LocalEmbedderError && err.kind === 'load-failed' && err.message.includes(corrupt),
      );
    });
  });

  describe('downloadModel (against a local server; never the internet)', () => {
    it('reports a 404 from the hub as a typed not-found error with the manual alternative', async () => {
      const requests: string[] = [];
      const { server, url } = await listen((req, res) => {
        requests.push(req.url ?? '');
        res.writeHead(404).end('Entry not found');
      });
      try {
        const dest = path.join(tmp, 'dl-404');
        const err = await downloadModel({ modelId: 'Xenova/bge-small-en-v1.5', cacheDir: dest, remoteHost: url }).then(
          () => assert.fail('download succeeded'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ModelDownloadError, String(err));
        assert.equal(err.kind, 'not-found', err.message);
        assert.equal(err.status, 404);
        assert.ok(err.message.includes(url.replace(/\/$/, '')), err.message);
        assert.ok(err.message.includes(path.join(dest, 'Xenova', 'bge-small-en-v1.5')), err.message);
        assert.ok(
          requests.some((r) => r.startsWith('/Xenova/bge-small-en-v1.5/resolve/main/')),
          requests.join(),
        );
      } finally {
        await closeServer(server);
      }
    });

    it('reports a refused connection as a typed unreachable error', async () => {
      const { server, url } = await listen(() => undefined);
      await closeServer(server); // the port is now free: connections are refused
      const err = await downloadModel({ modelId: MODEL_ID, cacheDir: path.join(tmp, 'dl-refused'), remoteHost: url }).then(
        () => assert.fail('download succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ModelDownloadError, String(err));
      assert.equal(err.kind, 'unreachable');
      assert.equal(err.code, 'ECONNREFUSED');
      assert.match(err.message, /Could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
      assert.match(err.message, /lexical-only/);
    });

    it('downloads from a mirror into the cache folder, and the result opens and embeds like the original', async () => {
      const source = path.join(cacheDir, ...MODEL_ID.split('/'));
      const { server, url } = await listen((req, res) => {
        const m = /^\/groundwork\/tiny-bert\/resolve\/main\/(.+)$/.exec(req.url ?? '');
        const file = m ? path.join(source, ...m[1]!.split('/')) : '';
        if (!m || m[1]!.includes('..') || !existsSync(file)) return void res.writeHead(404).end();
        const body = readFileSync(file);
        res.writeHead(200, { 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      try {
        const dest = path.join(tmp, 'dl-ok');
        const progress: DownloadProgress[] = [];
        const result = await downloadModel({ modelId: MODEL_ID, cacheDir: dest, remoteHost: url }, (p) => progress.push(p));
        assert.equal(result.modelDir, path.join(dest, 'groundwork', 'tiny-bert'));
        for (const f of result.files) assert.ok(existsSync(path.join(result.modelDir, f)), f);
        assert.ok(
          progress.some((p) => p.file === 'onnx/model_quantized.onnx' && p.loadedBytes > 0),
          JSON.stringify(progress.slice(0, 3)),
        );
        assert.ok(!readdirSync(path.join(result.modelDir, 'onnx')).some((f) => f.includes('.tmp.')), 'temporary files left behind');

        const downloaded = await openEmbedder({ cacheDir: dest });
        const original = await openEmbedder();
        assert.deepEqual([...(await downloaded.embed([CODE_TEXTS[0]!]))[0]!], [...(await original.embed([CODE_TEXTS[0]!]))[0]!]);
      } finally {
        await closeServer(server);
      }
    });

    it('stops on abort with a typed error and leaves no partial files', async () => {
      // A server that answers the small files but never finishes the model file.
      const source = path.join(cacheDir, ...MODEL_ID.split('/'));
      const { server, url } = await listen((req, res) => {
        const m = /^\/groundwork\/tiny-bert\/resolve\/main\/(.+)$/.exec(req.url ?? '');
        if (!m) return void res.writeHead(404).end();
        const file = path.join(source, ...m[1]!.split('/'));
        if (!existsSync(file)) return void res.writeHead(404).end();
        const body = readFileSync(file);
        if (m[1]!.endsWith('.onnx') && req.method !== 'HEAD') {
          res.writeHead(200, { 'content-length': body.length });
          res.write(body.subarray(0, 1024)); // …and never the rest
          return;
        }
        res.writeHead(200, { 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      try {
        const dest = path.join(tmp, 'dl-abort');
        const controller = new AbortController();
        const err = await downloadModel({ modelId: MODEL_ID, cacheDir: dest, remoteHost: url, signal: controller.signal }, (p) => {
          if (p.file.endsWith('.onnx') && p.loadedBytes > 0) controller.abort();
        }).then(
          () => assert.fail('download succeeded'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ModelDownloadError, String(err));
        assert.equal(err.kind, 'aborted');
        const onnxDir = path.join(dest, 'groundwork', 'tiny-bert', 'onnx');
        const left = existsSync(onnxDir) ? readdirSync(onnxDir) : [];
        assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
        await assert.rejects(LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: dest }), ModelUnavailableError);
      } finally {
        await closeServer(server);
      }
    });
  });

  describe('through the workspace index', () => {
    let ws: string;
    let indexDir: string;
    let index: WorkspaceIndex | undefined;

    beforeEach(() => {
      const dir = mkdtempSync(path.join(tmpdir(), 'gw-local-index-'));
      ws = path.join(dir, 'ws');
      indexDir = path.join(dir, 'index');
      cpSync(FIXTURE, ws, { recursive: true });
    });
    afterEach(async () => {
      await index?.close();
      index = undefined;
      rmSync(path.dirname(ws), { recursive: true, force: true });
    });

    it('indexes the fixture workspace with local vectors, and search uses the vector retriever', async () => {
      const embedder = await openEmbedder();
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, embedder });
      const summary = await index.update();
      assert.equal(summary.vectors, 'ready');
      assert.equal(index.vectorState(), 'ready');
      assert.equal(summary.chunksEmbedded, summary.chunks);
      const hits = await search(index, 'how are session tokens signed and verified?');
      assert.ok(hits.length > 0);
      assert.ok(
        hits.some((h) => h.retrievers.includes('vector')),
        JSON.stringify(hits.map((h) => h.retrievers)),
      );
      assert.ok(hits.every((h) => h.vectorScore === undefined || (h.vectorScore >= -1.0001 && h.vectorScore <= 1.0001)));
      const status = await index.status();
      assert.equal(status.vectors.embedder, `local:${MODEL_ID}`);
      assert.equal(status.vectors.dimensions, HIDDEN);
    });

    it('works lexical-only while the model is absent, then adds vectors once it arrives', async () => {
      const lateCache = path.join(path.dirname(ws), 'models');
      // No model yet: opening the embedder fails with a typed error, and the index runs without it.
      await assert.rejects(LocalEmbedder.open({ modelId: MODEL_ID, cacheDir: lateCache }), ModelUnavailableError);
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir });
      const first = await index.update();
      assert.equal(first.vectors, 'off');
      const lexical = await search(index, 'how are session tokens signed and verified?');
      assert.equal(lexical[0]?.path, 'src/auth/session.ts');
      assert.ok(lexical.every((h) => h.retrievers.join() === 'lexical'));
      await index.close();

      // The model arrives; the same index gains vectors without re-chunking anything.
      makeTinyModel(lateCache);
      const embedder = await openEmbedder({ cacheDir: lateCache });
      index = await WorkspaceIndex.open({ roots: rootsFromDirs([ws]), indexDir, embedder });
      assert.equal(index.vectorState(), 'partial');
      const second = await index.update();
      assert.equal(second.filesChanged, 0);
      assert.equal(second.chunksEmbedded, first.chunks);
      assert.equal(second.vectors, 'ready');
      assert.equal(index.vectorState(), 'ready');
      const hybrid = await search(index, 'how are session tokens signed and verified?');
      assert.ok(hybrid.some((h) => h.retrievers.includes('vector')));
    });
  });
});
