import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { APIConnectionError } from 'openai';
import { LlmError, type ChatRequest } from '../../src/core/llm';
import { abortableSleep, classifyError, displayURL, parseRetryAfter, redactSecrets, type RetryPolicy } from '../../src/providers/errors';
import { OpenAIChatProvider, type OpenAIChatOptions } from '../../src/providers/openaiChat';
import { EmbeddingResponseError, OpenAIEmbedder } from '../../src/providers/openaiEmbedder';
import { standInVector, startOpenAIStandIn, type OpenAIStandIn } from '../openaiStandIn';

const KEY = 'sk-test-SECRET-0123456789abcdef';
const ASK: ChatRequest = { messages: [{ role: 'user', content: 'What does chunker.ts do?' }] };

/** Retry settings that record waits instead of sleeping, with jitter fixed at the midpoint. */
function recordingRetry(): { delays: number[]; retry: Partial<RetryPolicy> } {
  const delays: number[] = [];
  return { delays, retry: { sleep: async (ms: number) => void delays.push(ms), random: () => 0.5 } };
}

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const d of stream) deltas.push(d);
  return deltas;
}

/** Runs the stream to its end and returns the LlmError it must throw, plus the deltas seen before. */
async function expectLlmError(stream: AsyncIterable<string>): Promise<{ error: LlmError; deltas: string[] }> {
  const deltas: string[] = [];
  try {
    for await (const d of stream) deltas.push(d);
  } catch (err) {
    assert.ok(err instanceof LlmError, `expected LlmError, got ${String(err)}`);
    return { error: err, deltas };
  }
  assert.fail('expected the stream to throw');
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

/** A port nothing listens on: bind one, then release it. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function normalised(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
}

describe('OpenAI-compatible providers (against a local protocol stand-in)', function () {
  let s: OpenAIStandIn;

  before(async () => {
    s = await startOpenAIStandIn({ models: ['gpt-4o-mini', 'ft:gpt-4o-mini-2024-07-18:acme::9xYz', 'nomic-embed-text', 'all-minilm', 'bge-small-en-v1.5'] });
  });
  after(async () => s.close());
  beforeEach(() => {
    s.chat.length = 0;
    s.embeddings.length = 0;
    s.requests.length = 0;
  });

  function chat(extra: Partial<OpenAIChatOptions> = {}): OpenAIChatProvider {
    return new OpenAIChatProvider({ baseURL: s.baseURL, apiKey: KEY, model: 'gpt-4o-mini', ...extra });
  }

  describe('chat streaming', () => {
    it('yields the content deltas in order and sends a well-formed streaming request', async () => {
      const deltas = await collect(chat().stream(ASK));
      assert.deepEqual(deltas, ['Hello', ', ', 'world', '.']);
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.equal(s.requests.length, 1);
      const r = s.requests[0]!;
      assert.equal(r.path, '/v1/chat/completions');
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
      assert.equal(r.body.model, 'gpt-4o-mini');
      assert.equal(r.body.stream, true);
      assert.equal(r.body.temperature, 0.1);
      assert.deepEqual(r.body.messages, ASK.messages);
      assert.equal(r.body.max_tokens, undefined);
    });

    it('passes a fine-tuned model id, max tokens and temperature through unchanged', async () => {
      const ft = 'ft:gpt-4o-mini-2024-07-18:acme::9xYz';
      const deltas = await collect(chat({ model: ft }).stream({ ...ASK, maxTokens: 50, temperature: 0.7 }));
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.equal(s.requests[0]!.body.model, ft);
      assert.equal(s.requests[0]!.body.max_tokens, 50);
      assert.equal(s.requests[0]!.body.temperature, 0.7);
    });

    it('sends Azure-style default query and headers; without a key only a placeholder goes out', async () => {
      const p = chat({ apiKey: undefined, defaultQuery: { 'api-version': '2024-10-21' }, defaultHeaders: { 'api-key': 'azure-key' } });
      await collect(p.stream(ASK));
      const r = s.requests[0]!;
      assert.equal(r.query.get('api-version'), '2024-10-21');
      assert.equal(r.headers['api-key'], 'azure-key');
      assert.equal(r.headers.authorization, 'Bearer no-key', 'no key is read from the environment or invented');
    });

    it('reports remote only for non-loopback hosts and builds a stable id', () => {
      assert.equal(chat().remote, false);
      assert.equal(chat().id, `openai:gpt-4o-mini@127.0.0.1:${s.port}`);
      const cases: [string, boolean][] = [
        ['https://api.openai.com/v1', true],
        ['http://localhost:11434/v1', false],
        ['http://[::1]:1234/v1', false],
        ['http://127.0.0.1:8080/v1', false],
        ['https://myres.openai.azure.com/openai/deployments/gpt4', true],
        ['http://192.168.1.20:8000/v1', true],
      ];
      for (const [baseURL, remote] of cases) assert.equal(new OpenAIChatProvider({ baseURL, model: 'm' }).remote, remote, baseURL);
      assert.equal(new OpenAIChatProvider({ model: 'gpt-4o-mini', apiKey: KEY }).id, 'openai:gpt-4o-mini@api.openai.com');
    });

    it('rejects an invalid base URL with a clear error', () => {
      assert.throws(
        () => new OpenAIChatProvider({ baseURL: 'localhost:11434', model: 'm' }),
        (e: unknown) => e instanceof LlmError && e.kind === 'bad-request',
      );
      assert.throws(() => new OpenAIChatProvider({ baseURL: 'not a url', model: 'm' }), /not a valid URL/);
    });
  });

  describe('chat errors', () => {
    it('401 → auth, with the base URL and without the key, not retried', async () => {
      const { delays, retry } = recordingRetry();
      // OpenAI's own 401 body echoes (part of) the key; the provider must scrub it.
      s.chat.push({ type: 'error', status: 401, message: `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com/account/api-keys.` });
      const { error } = await expectLlmError(chat({ retry, apiKeyHint: 'the groundwork.apiKey setting' }).stream(ASK));
      assert.equal(error.kind, 'auth');
      assert.equal(error.status, 401);
      assert.match(error.message, /^The endpoint at http:\/\/127\.0\.0\.1:\d+\/v1 rejected the API key \(401\)\. Set a valid key: the groundwork\.apiKey setting/);
      assert.ok(!error.message.includes(KEY), error.message);
      assert.ok(!error.message.includes('SECRET'), error.message);
      assert.ok(!String(error.stack).includes(KEY));
      assert.equal(s.requests.length, 1);
      assert.deepEqual(delays, []);
    });

    it('401 without a configured key says that none is set', async () => {
      s.chat.push({ type: 'error', status: 401, message: 'You did not provide an API key.' });
      const { error } = await expectLlmError(chat({ apiKey: undefined }).stream(ASK));
      assert.equal(error.kind, 'auth');
      assert.match(error.message, /requires an API key and none is set \(401\)/);
    });

    it('403 → auth as well', async () => {
      s.chat.push({ type: 'error', status: 403, message: 'Project does not have access to model' });
      const { error } = await expectLlmError(chat().stream(ASK));
      assert.equal(error.kind, 'auth');
      assert.match(error.message, /\(403\)/);
    });

    it('404 for an unknown model → not-found, naming the model and the Ollama URL', async () => {
      const { error } = await expectLlmError(chat({ model: 'llama3.1:70b' }).stream(ASK));
      assert.equal(error.kind, 'not-found');
      assert.match(error.message, /Model "llama3\.1:70b" or the URL http:\/\/127\.0\.0\.1:\d+\/v1 was not found \(404\)/);
      assert.match(error.message, /http:\/\/localhost:11434\/v1/);
      assert.equal(s.requests.length, 1, '404 is not retried');
    });

    it('404 for a wrong base URL path → not-found', async () => {
      const { error } = await expectLlmError(chat({ baseURL: s.baseURL.replace(/\/v1$/, '/api') }).stream(ASK));
      assert.equal(error.kind, 'not-found');
      assert.equal(s.requests[0]!.path, '/api/chat/completions');
    });

    it('connection refused → unreachable, asking whether the server is running (not retried)', async () => {
      const { delays, retry } = recordingRetry();
      const port = await freePort();
      const { error } = await expectLlmError(chat({ baseURL: `http://127.0.0.1:${port}/v1`, retry }).stream(ASK));
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.message, `Nothing is listening at http://127.0.0.1:${port}/v1 (ECONNREFUSED) — is the server (Ollama, LM Studio, …) running?`);
      assert.deepEqual(delays, []);
    });

    it('400 → bad-request with the server message, not retried', async () => {
      s.chat.push({ type: 'error', status: 400, message: "Unsupported parameter: 'max_tokens' is not supported with this model." });
      const { error } = await expectLlmError(chat().stream(ASK));
      assert.equal(error.kind, 'bad-request');
      assert.match(error.message, /refused the request \(400\): Unsupported parameter: 'max_tokens'/);
      assert.equal(s.requests.length, 1);
    });
  });

  describe('chat retries', () => {
    it('429 with Retry-After: 1 waits 1 s, then succeeds', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '1' } });
      const deltas = await collect(chat({ retry }).stream(ASK));
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.deepEqual(delays, [1000]);
      assert.equal(s.requests.length, 2);
    });

    it('429 honours retry-after-ms over Retry-After', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'error', status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '1' } });
      await collect(chat({ retry }).stream(ASK));
      assert.deepEqual(delays, [250]);
    });

    it('429 with a real 1 s Retry-After and the real sleep: the retry is sent only after the wait ended', async function () {
      this.timeout(5000);
      s.chat.push({ type: 'error', status: 429, headers: { 'retry-after': '1' } });
      // The real sleep, observed: what it was asked to wait, and how many requests the stand-in had
      // received when it ended (the retry must come after it, not before).
      const waits: Array<{ ms: number; requestsWhenDone: number }> = [];
      const sleep: RetryPolicy['sleep'] = async (ms, signal) => {
        await abortableSleep(ms, signal);
        waits.push({ ms, requestsWhenDone: s.requests.length });
      };
      const deltas = await collect(chat({ retry: { sleep } }).stream(ASK));
      assert.deepEqual(waits, [{ ms: 1000, requestsWhenDone: 1 }]);
      assert.equal(s.requests.length, 2);
      assert.equal(deltas.join(''), 'Hello, world.');
    });

    it('429 asking for a wait beyond the cap gives up at once as rate-limited', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'error', status: 429, headers: { 'retry-after': '120' } });
      const { error } = await expectLlmError(chat({ retry }).stream(ASK));
      assert.equal(error.kind, 'rate-limited');
      assert.match(error.message, /asked to wait 120 s/);
      assert.deepEqual(delays, []);
    });

    it('429 on every attempt → rate-limited after maxRetries', async () => {
      const { delays, retry } = recordingRetry();
      for (let i = 0; i < 3; i++) s.chat.push({ type: 'error', status: 429, headers: { 'retry-after': '0' } });
      const { error } = await expectLlmError(chat({ retry, maxRetries: 2 }).stream(ASK));
      assert.equal(error.kind, 'rate-limited');
      assert.match(error.message, /gave up after 3 attempts/);
      assert.deepEqual(delays, [0, 0]);
    });

    it('500 twice, then success: exponential backoff with jitter', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'error', status: 500 }, { type: 'error', status: 502 });
      const deltas = await collect(chat({ retry }).stream(ASK));
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.equal(s.requests.length, 3);
      // step 500 then 1000 ms; equal jitter with random()=0.5 → 3/4 of each step.
      assert.deepEqual(delays, [375, 750]);
    });

    it('backoff is capped at maxDelayMs', async () => {
      const { delays, retry } = recordingRetry();
      for (let i = 0; i < 4; i++) s.chat.push({ type: 'error', status: 503 });
      await collect(chat({ retry: { ...retry, random: () => 1, baseDelayMs: 4000, maxDelayMs: 10_000 }, maxRetries: 4 }).stream(ASK));
      assert.deepEqual(delays, [4000, 8000, 10_000, 10_000]);
    });

    it('5xx on every attempt → server, after maxRetries + 1 requests', async () => {
      const { delays, retry } = recordingRetry();
      for (let i = 0; i < 4; i++) s.chat.push({ type: 'error', status: 503, message: 'model overloaded' });
      const { error } = await expectLlmError(chat({ retry }).stream(ASK));
      assert.equal(error.kind, 'server');
      assert.equal(error.status, 503);
      assert.match(error.message, /failed \(503\): model overloaded \(gave up after 4 attempts\)/);
      assert.equal(s.requests.length, 4);
      assert.equal(delays.length, 3);
    });

    it('a connection reset before any token is retried', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'reset' });
      const deltas = await collect(chat({ retry }).stream(ASK));
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.equal(delays.length, 1);
    });

    it('a stream dropped after its headers but before any token is retried', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'stream', tokens: [], end: 'destroy' });
      const deltas = await collect(chat({ retry }).stream(ASK));
      assert.equal(deltas.join(''), 'Hello, world.');
      assert.equal(delays.length, 1);
    });
  });

  describe('chat cuts, cancellation and timeouts', () => {
    it('a connection dropped midway → stream-cut with the partial text, not retried', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'stream', tokens: ['The chunker ', 'splits files ', 'along'], end: 'destroy' });
      const { error, deltas } = await expectLlmError(chat({ retry }).stream(ASK));
      assert.equal(error.kind, 'stream-cut');
      assert.equal(error.partial, 'The chunker splits files along');
      assert.equal(deltas.join(''), error.partial);
      assert.match(error.message, /^The answer was cut: the connection to http:\/\/127\.0\.0\.1:\d+\/v1 dropped after 30 characters/);
      assert.equal(s.requests.length, 1);
      assert.deepEqual(delays, []);
    });

    it('an error event inside the stream after some tokens → stream-cut with the partial text and the reason', async () => {
      s.chat.push({ type: 'stream', tokens: ['Partly ', 'done'], end: 'error-event' });
      const { error } = await expectLlmError(chat().stream(ASK));
      assert.equal(error.kind, 'stream-cut');
      assert.equal(error.partial, 'Partly done');
      assert.match(error.message, /^The answer was cut: the server at .* reported an error: The server had an error while processing your request after 11 characters/);
    });

    it('a stream that ends without a finish_reason → stream-cut with the partial text', async () => {
      s.chat.push({ type: 'stream', tokens: ['Half ', 'an answer'], end: 'no-finish' });
      const { error } = await expectLlmError(chat().stream(ASK));
      assert.equal(error.kind, 'stream-cut');
      assert.equal(error.partial, 'Half an answer');
      assert.match(error.message, /ended without a finish reason after 14 characters/);
    });

    it('aborting midway → aborted, with the text so far, without waiting for the next token', async () => {
      // The second token would come only after 10 minutes (the stand-in stops waiting when the client
      // disconnects): the test can end only if the abort ends the stream while it waits.
      s.chat.push({ type: 'stream', tokens: ['one ', 'two ', 'three ', 'four'], tokenDelayMs: 600_000 });
      const ac = new AbortController();
      const deltas: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const d of chat().stream({ ...ASK, signal: ac.signal })) {
            deltas.push(d);
            if (deltas.length === 1) ac.abort();
          }
        })(),
      );
      assert.ok(err instanceof LlmError);
      assert.equal(err.kind, 'aborted');
      assert.equal(err.partial, 'one ');
      assert.deepEqual(deltas, ['one ']);
    });

    it('an already-aborted signal → aborted without any request', async () => {
      const ac = new AbortController();
      ac.abort();
      const { error } = await expectLlmError(chat().stream({ ...ASK, signal: ac.signal }));
      assert.equal(error.kind, 'aborted');
      assert.equal(s.requests.length, 0);
    });

    it('aborting during a retry wait → aborted at once (the real sleep ends early)', async () => {
      s.chat.push({ type: 'error', status: 429, headers: { 'retry-after': '15' } });
      const ac = new AbortController();
      // The real sleep, aborted as soon as it starts; it must reject (end early), not sleep 15 s and
      // leave the abort to be noticed afterwards.
      let outcome = 'not called';
      const sleep: RetryPolicy['sleep'] = (ms, signal) => {
        const wait = abortableSleep(ms, signal);
        ac.abort();
        return wait.then(
          () => void (outcome = 'slept'),
          (e: unknown) => {
            outcome = 'ended early';
            throw e;
          },
        );
      };
      const { error } = await expectLlmError(chat({ retry: { sleep } }).stream({ ...ASK, signal: ac.signal }));
      assert.equal(error.kind, 'aborted');
      assert.equal(outcome, 'ended early');
      assert.equal(s.requests.length, 1);
    });

    it('no response within timeoutMs → timeout (not retried)', async () => {
      const { delays, retry } = recordingRetry();
      s.chat.push({ type: 'hang' });
      const { error } = await expectLlmError(chat({ timeoutMs: 200, retry }).stream(ASK));
      assert.equal(error.kind, 'timeout');
      assert.match(error.message, /No response from http:\/\/127\.0\.0\.1:\d+\/v1 within 0\.2 s/);
      assert.deepEqual(delays, []);
    });

    it('a stream that stalls between tokens → timeout carrying the partial text', async () => {
      s.chat.push({ type: 'stream', tokens: ['fast ', 'then stuck'], tokenDelayMs: 2000 });
      const { error, deltas } = await expectLlmError(chat({ timeoutMs: 200 }).stream(ASK));
      assert.equal(error.kind, 'timeout');
      assert.equal(error.partial, 'fast ');
      assert.deepEqual(deltas, ['fast ']);
      assert.match(error.message, /stalled: no data for 0\.2 s after 5 characters/);
    });

    it('a slow consumer does not count against the timeout', async () => {
      const deltas: string[] = [];
      for await (const d of chat({ timeoutMs: 100 }).stream(ASK)) {
        deltas.push(d);
        await new Promise((r) => setTimeout(r, 150));
      }
      assert.equal(deltas.join(''), 'Hello, world.');
    });

    it('breaking out of the loop early closes the request without error', async () => {
      s.chat.push({ type: 'stream', tokens: ['a', 'b', 'c'], tokenDelayMs: 50 });
      const deltas: string[] = [];
      for await (const d of chat().stream(ASK)) {
        deltas.push(d);
        break;
      }
      assert.deepEqual(deltas, ['a']);
    });
  });

  describe('error helpers', () => {
    it('parses Retry-After as seconds, HTTP date and retry-after-ms', () => {
      const h = (o: Record<string, string>) => new Headers(o);
      const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
      assert.equal(parseRetryAfter(h({ 'retry-after': '3' })), 3000);
      assert.equal(parseRetryAfter(h({ 'retry-after': '0.5' })), 500);
      assert.equal(parseRetryAfter(h({ 'retry-after': 'Wed, 21 Oct 2015 07:28:07 GMT' }), now), 7000);
      assert.equal(parseRetryAfter(h({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now), 0);
      assert.equal(parseRetryAfter(h({ 'retry-after-ms': '1234', 'retry-after': '9' })), 1234);
      assert.equal(parseRetryAfter(h({ 'retry-after': 'soon' })), undefined);
      assert.equal(parseRetryAfter(h({})), undefined);
    });

    it('classifies DNS failures as unreachable with a base-URL hint', () => {
      const dns = Object.assign(new Error('getaddrinfo ENOTFOUND llm.internal'), { code: 'ENOTFOUND' });
      const err = new APIConnectionError({ message: 'Connection error.', cause: new TypeError('fetch failed', { cause: dns }) });
      const f = classifyError(err, { displayURL: 'http://llm.internal/v1', model: 'm' });
      assert.equal(f.kind, 'unreachable');
      assert.equal(f.retryable, false);
      assert.match(f.message, /could not be found \(ENOTFOUND\)\. Check the base URL/);
    });

    it('redacts keys and hides credentials in URLs', () => {
      assert.equal(redactSecrets(`bad key ${KEY}!`, KEY), 'bad key ***!');
      assert.equal(redactSecrets('Incorrect API key provided: sk-proj-****abcd.'), 'Incorrect API key provided: sk-***.');
      assert.equal(displayURL('https://user:pass@example.com/v1?key=abc'), 'https://example.com/v1');
    });
  });

  describe('embeddings', () => {
    // A model without query/document markers, so what is sent is exactly the given text.
    const model = 'all-minilm';

    it("sends each model's query and document markers, and tags the id when documents get one", async () => {
      const nomic = new OpenAIEmbedder({ baseURL: s.baseURL, model: 'nomic-embed-text', dimensions: 8 });
      assert.equal(nomic.id, `openai:nomic-embed-text@127.0.0.1:${s.port}#doc:search_document:`);
      const [doc] = await nomic.embed(['function f() {}']);
      const q = await nomic.embedQuery('where is f defined?');
      const bge = new OpenAIEmbedder({ baseURL: s.baseURL, model: 'bge-small-en-v1.5', dimensions: 8 });
      assert.equal(bge.id, `openai:bge-small-en-v1.5@127.0.0.1:${s.port}`, 'bge documents are embedded as they are');
      await bge.embed(['function f() {}']);
      await bge.embedQuery('where is f defined?');
      const plain = new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 });
      await plain.embedQuery('where is f defined?');
      assert.deepEqual(
        s.requests.map((r) => [r.body.model, r.body.input]),
        [
          ['nomic-embed-text', ['search_document: function f() {}']],
          ['nomic-embed-text', ['search_query: where is f defined?']],
          ['bge-small-en-v1.5', ['function f() {}']],
          ['bge-small-en-v1.5', ['Represent this sentence for searching relevant passages: where is f defined?']],
          ['all-minilm', ['where is f defined?']],
        ],
      );
      // The vectors are those of the marked texts.
      assert.ok(Math.abs(doc![0]! - normalised(standInVector('search_document: function f() {}', 8))[0]!) < 1e-6);
      assert.ok(Math.abs(q[0]! - normalised(standInVector('search_query: where is f defined?', 8))[0]!) < 1e-6);
    });

    it('create() discovers the dimension with one probe call', async () => {
      const e = await OpenAIEmbedder.create({ baseURL: s.baseURL, apiKey: KEY, model });
      assert.equal(e.dimensions, 8);
      assert.equal(e.id, `openai:${model}@127.0.0.1:${s.port}`);
      assert.equal(s.requests.length, 1);
      assert.deepEqual(s.requests[0]!.body.input, ['dimension probe']);
      assert.equal(s.requests[0]!.body.encoding_format, 'float');
    });

    it('create() with known dimensions makes no request', async () => {
      const e = await OpenAIEmbedder.create({ baseURL: s.baseURL, model, dimensions: 8 });
      assert.equal(e.dimensions, 8);
      assert.equal(s.requests.length, 0);
    });

    it('batches 150 texts into 64 + 64 + 22, always asking for floats, preserving order', async () => {
      const e = new OpenAIEmbedder({ baseURL: s.baseURL, apiKey: KEY, model, dimensions: 8 });
      const texts = Array.from({ length: 150 }, (_, i) => `function f${i}() { return ${i}; }`);
      const vectors = await e.embed(texts);
      assert.deepEqual(
        s.requests.map((r) => r.body.input?.length),
        [64, 64, 22],
      );
      for (const r of s.requests) {
        assert.equal(r.path, '/v1/embeddings');
        assert.equal(r.body.encoding_format, 'float');
        assert.equal(r.body.model, model);
        assert.equal(r.headers.authorization, `Bearer ${KEY}`);
      }
      assert.equal(vectors.length, 150);
      texts.forEach((t, i) => {
        const want = normalised(standInVector(t, 8));
        const got = Array.from(vectors[i]!);
        got.forEach((x, j) => assert.ok(Math.abs(x - want[j]!) < 1e-6, `text ${i} dim ${j}`));
      });
    });

    it('orders vectors by the response index, not by position', async () => {
      s.embeddings.push({ type: 'vectors', reverse: true });
      const e = new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 });
      const texts = ['alpha', 'beta', 'gamma'];
      const vectors = await e.embed(texts);
      texts.forEach((t, i) => assert.ok(Math.abs(vectors[i]![0]! - normalised(standInVector(t, 8))[0]!) < 1e-6, t));
    });

    it('returns L2-normalised Float32Arrays', async () => {
      const e = new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 });
      const vectors = await e.embed(['a', 'b', 'c']);
      assert.ok(Math.abs(Math.sqrt(standInVector('a', 8).reduce((acc, x) => acc + x * x, 0)) - 1) > 0.1, 'raw vectors are not unit length');
      for (const v of vectors) {
        assert.ok(v instanceof Float32Array);
        assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
      }
    });

    it('makes no request for no texts', async () => {
      const e = new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 });
      assert.deepEqual(await e.embed([]), []);
      assert.equal(s.requests.length, 0);
    });

    it('a dimension mismatch → a clear error telling to rebuild the index', async () => {
      s.embeddings.push({ type: 'vectors', dimensions: 16 });
      const e = new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 });
      const err = await rejection(e.embed(['x']));
      assert.ok(err instanceof EmbeddingResponseError);
      assert.equal(err.kind, 'dimension-mismatch');
      assert.match(err.message, /returned 16-d vectors but the index holds 8-d ones; run Groundwork: Rebuild Index/);
    });

    it('base64 strings despite encoding_format float → not-floats', async () => {
      s.embeddings.push({ type: 'vectors', format: 'base64' });
      const err = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 }).embed(['x']));
      assert.ok(err instanceof EmbeddingResponseError);
      assert.equal(err.kind, 'not-floats');
      assert.match(err.message, /base64 strings, not floats/);
    });

    it('a non-number element → not-floats', async () => {
      s.embeddings.push({ type: 'vectors', format: 'nan' });
      const err = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 }).embed(['x', 'y']));
      assert.ok(err instanceof EmbeddingResponseError);
      assert.equal(err.kind, 'not-floats');
      assert.match(err.message, /containing null, not finite floats/);
    });

    it('fewer vectors than texts → count-mismatch', async () => {
      s.embeddings.push({ type: 'vectors', dropLast: true });
      const err = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 }).embed(['x', 'y']));
      assert.ok(err instanceof EmbeddingResponseError);
      assert.equal(err.kind, 'count-mismatch');
    });

    it('shares the chat retry policy: 500 and a reset are retried, then success', async () => {
      const { delays, retry } = recordingRetry();
      s.embeddings.push({ type: 'error', status: 500 }, { type: 'reset' });
      const vectors = await new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8, retry }).embed(['x']);
      assert.equal(vectors.length, 1);
      assert.deepEqual(delays, [375, 750]);
    });

    it('shares the chat error mapping: 401 → auth without the key, unknown model → not-found', async () => {
      s.embeddings.push({ type: 'error', status: 401, message: `Incorrect API key provided: ${KEY}` });
      const auth = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, apiKey: KEY, model, dimensions: 8 }).embed(['x']));
      assert.ok(auth instanceof LlmError);
      assert.equal(auth.kind, 'auth');
      assert.ok(!auth.message.includes(KEY));
      const nf = await rejection(OpenAIEmbedder.create({ baseURL: s.baseURL, model: 'no-such-embedder' }));
      assert.ok(nf instanceof LlmError);
      assert.equal(nf.kind, 'not-found');
    });

    it('429 exhausting retries → rate-limited; abort → aborted', async () => {
      const { retry } = recordingRetry();
      for (let i = 0; i < 2; i++) s.embeddings.push({ type: 'error', status: 429, headers: { 'retry-after': '0' } });
      const rl = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8, retry, maxRetries: 1 }).embed(['x']));
      assert.ok(rl instanceof LlmError);
      assert.equal(rl.kind, 'rate-limited');
      const ac = new AbortController();
      ac.abort();
      const ab = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8 }).embed(['x'], ac.signal));
      assert.ok(ab instanceof LlmError);
      assert.equal(ab.kind, 'aborted');
    });

    it('connection refused → unreachable', async () => {
      const port = await freePort();
      const err = await rejection(OpenAIEmbedder.create({ baseURL: `http://127.0.0.1:${port}/v1`, model }));
      assert.ok(err instanceof LlmError);
      assert.equal(err.kind, 'unreachable');
    });

    it('a hung request → timeout', async () => {
      s.embeddings.push({ type: 'hang' });
      const err = await rejection(new OpenAIEmbedder({ baseURL: s.baseURL, model, dimensions: 8, timeoutMs: 200 }).embed(['x']));
      assert.ok(err instanceof LlmError);
      assert.equal(err.kind, 'timeout');
    });
  });
});
