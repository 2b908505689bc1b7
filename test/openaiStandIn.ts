/**
 * A PROTOCOL STAND-IN for tests, not a model. It is a real HTTP server on 127.0.0.1 that speaks just
 * enough of the OpenAI REST protocol (`POST /v1/chat/completions` with SSE streaming and
 * `POST /v1/embeddings`) for the providers in src/providers to be exercised over a real socket:
 * real headers, real status codes, real SSE framing, real dropped connections. It understands
 * nothing: chat answers are scripted token lists and embedding vectors are a deterministic function
 * of the input text.
 *
 * Tests script behaviour per request with a queue ({@link OpenAIStandIn.chat},
 * {@link OpenAIStandIn.embeddings}); when a queue is empty the default behaviour applies (a short
 * well-formed stream; float vectors of `defaultDimensions`). Every request is recorded in
 * {@link OpenAIStandIn.requests} so tests can assert what the client sent (model id,
 * `encoding_format`, `Authorization`, query string).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer to `POST /v1/chat/completions`. */
export type ChatScript =
  | {
      type: 'stream';
      /** Content deltas, one SSE chunk each. */
      tokens: string[];
      /**
       * How the stream ends: `done` = a chunk with finish_reason `stop` then `data: [DONE]`;
       * `no-finish` = the response ends cleanly after the tokens with no finish_reason and no
       * `[DONE]`; `destroy` = the socket is destroyed after the tokens (a dropped connection);
       * `error-event` = an SSE `data: {"error": …}` event after the tokens, as OpenAI sends when a
       * generation fails server-side after it started.
       */
      end?: 'done' | 'no-finish' | 'destroy' | 'error-event';
      /** Delay before the status line is sent (simulates a slow model loading). */
      headersDelayMs?: number;
      /** Delay before each token after the first (simulates slow generation); cut short when the client disconnects. */
      tokenDelayMs?: number;
    }
  /** An HTTP error with an OpenAI-shaped JSON body `{ error: { message, type, code } }`. */
  | { type: 'error'; status: number; message?: string; headers?: Record<string, string> }
  /** The socket is destroyed before any response byte (a connection reset). */
  | { type: 'reset' }
  /** Never answers; the request stays open until the client gives up. */
  | { type: 'hang' };

/** One scripted answer to `POST /v1/embeddings`. */
export type EmbeddingScript =
  | {
      type: 'vectors';
      /** Vector length (default: the server's `defaultDimensions`). */
      dimensions?: number;
      /**
       * `float` = JSON number arrays (correct); `base64` = base64 strings whatever the client asked
       * for (a misbehaving server); `nan` = one element is a non-number (`null`, as JSON cannot carry
       * NaN).
       */
      format?: 'float' | 'base64' | 'nan';
      /** Return the `data` items in reverse order (their `index` fields stay correct). */
      reverse?: boolean;
      /** Drop the last item (the server returned fewer vectors than inputs). */
      dropLast?: boolean;
    }
  | { type: 'error'; status: number; message?: string; headers?: Record<string, string> }
  | { type: 'reset' }
  | { type: 'hang' };

/** A request as the stand-in received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (`{}` when the body was not a JSON object). */
  body: RecordedBody;
}

/** The request-body fields tests look at; anything else the client sent is kept too. */
export interface RecordedBody {
  model?: string;
  messages?: { role: string; content: string }[];
  stream?: boolean;
  temperature?: number;
  max_tokens?: number;
  input?: string | string[];
  encoding_format?: string;
  [field: string]: unknown;
}

export interface StandInOptions {
  /** Vector length when an embedding script does not say (default 8). */
  defaultDimensions?: number;
  /**
   * When set, a request naming any other model gets a 404 like Ollama's "model not found", so the
   * not-found path is exercised by the protocol rather than by a script.
   */
  models?: string[];
}

/** A running stand-in server. */
export interface OpenAIStandIn {
  /** e.g. `http://127.0.0.1:40123/v1` */
  readonly baseURL: string;
  readonly port: number;
  /** Queue of scripted chat answers, consumed front first. */
  readonly chat: ChatScript[];
  /** Queue of scripted embedding answers, consumed front first. */
  readonly embeddings: EmbeddingScript[];
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Stops listening and drops open connections (hanging requests included). */
  close(): Promise<void>;
}

/**
 * The raw (not normalised) vector the stand-in returns for `text`: deterministic, non-zero and
 * different for different texts, so tests can check order and normalisation against it.
 */
export function standInVector(text: string, dimensions: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  const v: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    // Values in [-5, 5) with a constant offset so no vector is all zeros and norms differ from 1.
    v.push((h % 1000) / 100 - 5 + 0.25);
  }
  return v;
}

/** Starts a stand-in on 127.0.0.1 with an OS-assigned port. */
export async function startOpenAIStandIn(options: StandInOptions = {}): Promise<OpenAIStandIn> {
  const defaultDimensions = options.defaultDimensions ?? 8;
  const chat: ChatScript[] = [];
  const embeddings: EmbeddingScript[] = [];
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      let body: RecordedBody = {};
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as RecordedBody;
      } catch {
        // Not JSON: recorded as an empty body; the routes below answer as a server would.
      }
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });

      if (req.method !== 'POST') return sendError(res, 405, `Method ${req.method} not allowed`);
      if (options.models && typeof body.model === 'string' && !options.models.includes(body.model)) {
        return sendError(res, 404, `model "${body.model}" not found, try pulling it first`, {}, 'not_found_error');
      }
      if (url.pathname === '/v1/chat/completions') return answerChat(req, res, chat.shift() ?? defaultChat());
      if (url.pathname === '/v1/embeddings') {
        return answerEmbeddings(req, res, body, embeddings.shift() ?? { type: 'vectors' }, defaultDimensions);
      }
      return sendError(res, 404, `Invalid URL (POST ${url.pathname})`, {}, 'invalid_request_error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    chat,
    embeddings,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests would keep close() waiting forever; drop them.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultChat(): ChatScript {
  return { type: 'stream', tokens: ['Hello', ', ', 'world', '.'] };
}

function sendError(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}, type = 'api_error'): void {
  const payload = JSON.stringify({ error: { message, type, code: null, param: null } });
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(payload);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits `ms`, or less when the client drops the connection first: a long scripted delay then never
 * keeps the test process alive after the client has gone.
 */
function pauseUnlessClosed(ms: number, res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || res.writableEnded) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on('close', done);
  });
}

function answerChat(req: http.IncomingMessage, res: http.ServerResponse, script: ChatScript): void {
  switch (script.type) {
    case 'error':
      return sendError(res, script.status, script.message ?? `stand-in error ${script.status}`, script.headers);
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      return;
    case 'stream':
      void streamChat(res, script);
      return;
  }
}

async function streamChat(res: http.ServerResponse, script: Extract<ChatScript, { type: 'stream' }>): Promise<void> {
  let closed = false;
  res.on('close', () => (closed = true));
  if (script.headersDelayMs) await pauseUnlessClosed(script.headersDelayMs, res);
  if (closed) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const id = 'chatcmpl-standin';
  const created = Math.floor(Date.now() / 1000);
  const send = (choice: Record<string, unknown>): void => {
    const chunk = { id, object: 'chat.completion.chunk', created, model: 'stand-in', choices: [{ index: 0, ...choice }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  // The first chunk carries the role only, as OpenAI's does.
  send({ delta: { role: 'assistant', content: '' }, finish_reason: null });
  for (let i = 0; i < script.tokens.length; i++) {
    if (i > 0 && script.tokenDelayMs) await pauseUnlessClosed(script.tokenDelayMs, res);
    if (closed) return;
    send({ delta: { content: script.tokens[i] }, finish_reason: null });
  }
  const end = script.end ?? 'done';
  if (end === 'destroy') {
    // Give the written chunks a moment to reach the client, then drop the connection mid-response.
    await delay(20);
    res.socket?.destroy();
    return;
  }
  if (end === 'error-event') {
    res.write(`data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`);
  }
  if (end === 'done') {
    send({ delta: {}, finish_reason: 'stop' });
    res.write('data: [DONE]\n\n');
  }
  res.end();
}

function answerEmbeddings(req: http.IncomingMessage, res: http.ServerResponse, body: RecordedBody, script: EmbeddingScript, defaultDimensions: number): void {
  if (script.type === 'error') return sendError(res, script.status, script.message ?? `stand-in error ${script.status}`, script.headers);
  if (script.type === 'reset') {
    req.socket.destroy();
    return;
  }
  if (script.type === 'hang') return;
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
  const dims = script.dimensions ?? defaultDimensions;
  const format = script.format ?? 'float';
  let data = inputs.map((input, index) => {
    const v = standInVector(String(input), dims);
    let embedding: unknown = v;
    if (format === 'base64') embedding = Buffer.from(new Float32Array(v).buffer).toString('base64');
    if (format === 'nan') embedding = v.map((x, i) => (i === 0 ? null : x));
    return { object: 'embedding', index, embedding };
  });
  if (script.reverse) data = data.reverse();
  if (script.dropLast) data = data.slice(0, -1);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 0, total_tokens: 0 } }));
}
