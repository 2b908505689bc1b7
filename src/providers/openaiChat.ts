/**
 * Chat over any OpenAI-compatible endpoint: OpenAI itself, Azure-style deployments (base URL plus an
 * `api-version` query), Ollama, LM Studio, vLLM, llama.cpp server. A fine-tuned model (`ft:...`) is
 * just another model id.
 */
import OpenAI from 'openai';
import { LlmError, type ChatRequest, type LlmProvider } from '../core/llm';
import {
  AttemptGuard,
  abortedError,
  classifyError,
  decideRetry,
  displayURL,
  isLoopback,
  resolveRetryPolicy,
  sleepOrAbort,
  timeoutError,
  type EndpointInfo,
  type Failure,
  type RetryPolicy,
} from './errors';

/** OpenAI's public endpoint, used when no base URL is configured. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

// Keys are not needed by most local servers, but the client refuses to start without one; this
// placeholder is what they receive instead (it is not a secret and never matches a real key).
const NO_KEY_PLACEHOLDER = 'no-key';

/** Connection settings shared by the chat provider and the embedder. */
export interface OpenAIEndpointOptions {
  /** Base URL including the version path. Default `https://api.openai.com/v1`; Ollama: `http://localhost:11434/v1`. */
  baseURL?: string;
  /** API key sent as `Authorization: Bearer …`. Omit for local servers that need none. Never logged. */
  apiKey?: string;
  /** Per-attempt timeout in ms: the longest wait for a response to start or, while streaming, between two chunks. Default 60 000. */
  timeoutMs?: number;
  /** Retries after the first attempt for 429, 408, 5xx and dropped connections. Default 3, range 0-10. */
  maxRetries?: number;
  /** OpenAI organization id (`OpenAI-Organization` header). */
  organization?: string;
  /** Extra headers on every request, e.g. `{ 'api-key': key }` for Azure. */
  defaultHeaders?: Record<string, string>;
  /** Extra query parameters on every request, e.g. `{ 'api-version': '2024-10-21' }` for Azure. */
  defaultQuery?: Record<string, string>;
  /** Tells users where to set the key; appended to 401/403 messages (e.g. "the groundwork.apiKey setting"). */
  apiKeyHint?: string;
  /** Backoff tuning and injectable sleep/random for tests; `maxRetries` above takes precedence. */
  retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
}

/** Options for {@link OpenAIChatProvider}. */
export interface OpenAIChatOptions extends OpenAIEndpointOptions {
  /** Model id as the endpoint knows it, e.g. `gpt-4o-mini`, `llama3.1:8b`, `ft:gpt-4o-mini:org::id`. */
  model: string;
}

/** Resolved endpoint settings plus the configured client; shared with the embedder. */
export interface OpenAIEndpoint {
  client: OpenAI;
  baseURL: string;
  /** `host[:port]` of the base URL, part of provider ids. */
  host: string;
  remote: boolean;
  timeoutMs: number;
  policy: RetryPolicy;
  info: EndpointInfo;
}

/** Validates options and builds the `openai` client with its own retries off (we retry ourselves). */
export function createEndpoint(opts: OpenAIEndpointOptions, model: string): OpenAIEndpoint {
  const baseURL = opts.baseURL?.trim() || DEFAULT_OPENAI_BASE_URL;
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new LlmError('bad-request', `The base URL "${displayURL(baseURL)}" is not a valid URL; expected e.g. http://localhost:11434/v1.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new LlmError('bad-request', `The base URL must start with http:// or https:// (got ${parsed.protocol}).`);
  }
  if (parsed.username || parsed.password) {
    // A password in a URL is a key in a flag: it would end up in shell history and process lists.
    throw new LlmError(
      'bad-request',
      `The base URL ${displayURL(baseURL)} contains a user name or password; remove it and put the key in OPENAI_API_KEY (or the variable named by "apiKeyEnv").`,
    );
  }
  if (!model.trim()) throw new LlmError('bad-request', 'No model id is configured.');
  // A query string (e.g. Azure-style `?api-version=…&api-key=…`) goes on every request as a default
  // query: left in the base URL, the client would append the request path after it.
  const query = Object.fromEntries(parsed.searchParams);
  const hasQuery = Object.keys(query).length > 0;
  const requestBase = hasQuery || parsed.hash ? `${parsed.origin}${parsed.pathname}`.replace(/\/$/, '') : baseURL;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const policy = resolveRetryPolicy({ ...opts.retry, maxRetries: opts.maxRetries });
  const secrets = Object.values(query).filter((v) => v.length >= 4);
  const info: EndpointInfo = { displayURL: displayURL(baseURL), model, apiKey: opts.apiKey, apiKeyHint: opts.apiKeyHint, secrets };
  const client = new OpenAI({
    baseURL: requestBase,
    apiKey: opts.apiKey || NO_KEY_PLACEHOLDER,
    // Explicit nulls stop the client from silently reading OPENAI_ORG_ID / OPENAI_PROJECT_ID.
    organization: opts.organization ?? null,
    project: null,
    defaultHeaders: opts.defaultHeaders,
    defaultQuery: hasQuery || opts.defaultQuery ? { ...query, ...opts.defaultQuery } : undefined,
    maxRetries: 0,
    // Our AttemptGuard enforces the timeout; the client's is a backstop slightly behind it.
    timeout: timeoutMs + 1_000,
    // Errors are reported through LlmError; the client's own console logging would duplicate them.
    logLevel: 'off',
  });
  return { client, baseURL: requestBase, host: parsed.host, remote: !isLoopback(baseURL), timeoutMs, policy, info };
}

/** {@link LlmProvider} for OpenAI-compatible chat completions, streamed over SSE. */
export class OpenAIChatProvider implements LlmProvider {
  /** `openai:<model>@<host>`: the host distinguishes the same model id served by different servers. */
  readonly id: string;
  readonly label: string;
  readonly remote: boolean;
  private readonly endpoint: OpenAIEndpoint;

  constructor(private readonly options: OpenAIChatOptions) {
    this.endpoint = createEndpoint(options, options.model);
    this.id = `openai:${options.model}@${this.endpoint.host}`;
    this.label = `${options.model} (${this.endpoint.host})`;
    this.remote = this.endpoint.remote;
  }

  /**
   * Streams content deltas. Failures before the first delta are retried per the retry policy; after
   * the first delta nothing is retried (the caller has already shown it), so a drop becomes
   * `stream-cut` with the text so far.
   */
  async *stream(request: ChatRequest): AsyncIterable<string> {
    const { client, policy, timeoutMs, info } = this.endpoint;
    const signal = request.signal;
    for (let attempts = 1; ; attempts++) {
      if (signal?.aborted) throw abortedError();
      const guard = new AttemptGuard(signal, timeoutMs);
      let partial = '';
      let responseStarted = false;
      let failure: Failure;
      guard.arm();
      try {
        const stream = await client.chat.completions.create(
          {
            model: this.options.model,
            messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
            stream: true,
            temperature: request.temperature ?? 0.1,
            ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
          },
          { signal: guard.signal },
        );
        responseStarted = true;
        let finishReason: string | null = null;
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          const delta = choice?.delta?.content;
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (delta) {
            partial += delta;
            // The timeout measures the server's silence, not the consumer's: pause it while the
            // consumer handles this delta.
            guard.pause();
            yield delta;
          }
          guard.arm();
        }
        // The client ends iteration quietly when its signal aborts, so check why the stream ended.
        if (guard.callerAborted) throw abortedError(partial || undefined);
        if (guard.timedOut) throw timeoutError(info, timeoutMs, partial);
        if (finishReason === null) {
          throw new LlmError(
            'stream-cut',
            `The answer was cut: the stream from ${info.displayURL} ended without a finish reason after ${partial.length} characters. The partial answer is kept; ask again for a complete one.`,
            partial,
          );
        }
        return;
      } catch (err) {
        if (err instanceof LlmError) throw err;
        if (guard.callerAborted) throw abortedError(partial || undefined);
        if (guard.timedOut) throw timeoutError(info, timeoutMs, partial);
        failure = classifyError(err, info);
        if (partial) {
          // Text already went to the caller; a retry would repeat it, so report the cut instead.
          const why = failure.connectionLost ? `the connection to ${info.displayURL} dropped` : lowerFirst(failure.message.replace(/\.$/, ''));
          throw new LlmError(
            'stream-cut',
            `The answer was cut: ${why} after ${partial.length} characters. The partial answer is kept; ask again for a complete one.`,
            partial,
            failure.status,
          );
        }
        if (failure.connectionLost && responseStarted) {
          // Dropped after the headers but before any text: retryable, but if it is final it is
          // still a cut stream (with nothing in it), not an unreachable server.
          failure = { ...failure, kind: 'stream-cut', message: `The answer was cut: the connection to ${info.displayURL} dropped before any text arrived.` };
        }
      } finally {
        guard.dispose();
      }
      const decision = decideRetry(failure, attempts, policy);
      if ('error' in decision) {
        const e = decision.error;
        throw e.kind === 'stream-cut' ? new LlmError('stream-cut', e.message, '', e.status) : e;
      }
      await sleepOrAbort(policy, decision.retryInMs, signal);
    }
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
