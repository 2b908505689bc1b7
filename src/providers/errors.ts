/**
 * Failure handling shared by the OpenAI-compatible providers (chat and embeddings): turning what the
 * `openai` client throws into an {@link LlmError} with a message the user can act on, the retry
 * policy (exponential backoff with jitter, `Retry-After` honoured), and the per-attempt guard that
 * combines the caller's AbortSignal with our own timeout.
 *
 * The client's built-in retries are switched off (`maxRetries: 0`) wherever this module is used: the
 * retry loop lives here so it is explicit, capped, cancellable and testable with an injected sleep.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { LlmError, type LlmErrorKind } from '../core/llm';

/** What error messages may say about the endpoint. Never holds anything secret except `apiKey`, which is only used to scrub it. */
export interface EndpointInfo {
  /** The base URL as shown to users: no credentials, no query string. */
  displayURL: string;
  model: string;
  /** Used only to redact the key from server messages; never printed. */
  apiKey?: string;
  /** Other values to scrub from messages (query-string values of the base URL, e.g. `?api-key=`). */
  secrets?: string[];
  /** Where the user sets the key, appended to auth errors (front ends know their setting names). */
  apiKeyHint?: string;
}

/** Retry tunables. Only 429, 408, 5xx and dropped connections are retried, and only before any output arrived. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 3; 0 disables retrying. */
  maxRetries: number;
  /** Backoff before the first retry, doubled for each later one (before jitter). Default 500 ms. */
  baseDelayMs: number;
  /**
   * Cap on any single wait. Default 20 000 ms. A server asking (via `Retry-After`) to wait longer
   * than this ends the retries at once: retrying earlier than asked would only be refused again.
   */
  maxDelayMs: number;
  /** Waits `ms`; rejects (or resolves early) when `signal` aborts. Injectable so tests need not wait. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of jitter in [0, 1). Injectable for deterministic tests. */
  random: () => number;
}

/** Defaults for {@link RetryPolicy}; see each field for its meaning. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  sleep: abortableSleep,
  random: Math.random,
};

/** Fills in a partial policy; `maxRetries` is clamped to 0-10 so a typo cannot loop for hours. */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const p = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(partial) };
  p.maxRetries = Math.max(0, Math.min(10, Math.floor(p.maxRetries)));
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A sleep that ends early with an AbortError when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  const abortError = (): Error => (signal?.reason instanceof Error ? signal.reason : new DOMException('The wait was aborted.', 'AbortError'));
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Base URL for messages: credentials and query string removed (either may hold a secret). */
export function displayURL(baseURL: string): string {
  try {
    const u = new URL(baseURL);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid base URL)';
  }
}

/** True when requests to `baseURL` stay on this machine (loopback host); false for an invalid URL. */
export function isLoopback(baseURL: string): boolean {
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Removes the API key (and anything shaped like an OpenAI key) from text that came from a server or
 * an exception: OpenAI's own 401 body echoes a masked key, and proxies sometimes echo headers.
 */
export function redactSecrets(text: string, apiKey?: string): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('***');
  return out.replace(/\bsk-[A-Za-z0-9_*-]{4,}/g, 'sk-***');
}

/**
 * Milliseconds the server asked us to wait, from `retry-after-ms` (OpenAI's, in ms) or `Retry-After`
 * (seconds or an HTTP date). Undefined when absent or unparsable.
 */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(ra);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}

/** What went wrong with one attempt, before deciding whether to retry. */
export interface Failure {
  /** The kind to report if this failure is final. */
  kind: LlmErrorKind;
  /** The message to report if this failure is final (already redacted). */
  message: string;
  status?: number;
  /** True for failures a later attempt may not repeat (429, 408, 5xx, dropped connections). */
  retryable: boolean;
  /** The server's requested wait, when it sent one. */
  retryAfterMs?: number;
  /** The connection dropped (reset, closed, "terminated"): mid-stream this means the answer was cut. */
  connectionLost: boolean;
}

// Node/undici error codes meaning "no server there"; retrying these only delays the bad news.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
// Codes and messages meaning an established connection was dropped; a new attempt often succeeds.
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const LOST_MESSAGES = /\b(terminated|other side closed|socket hang up|premature close)\b/i;
const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/;

/** Error codes and messages along an error's `cause` chain (undici nests the useful one 2-3 deep). */
function causeChain(err: unknown): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 6 && cur && typeof cur === 'object'; depth++) {
    const e = cur as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string') codes.push(e.code);
    if (typeof e.message === 'string') messages.push(e.message);
    cur = e.cause;
  }
  return { codes, messages };
}

/** The server's own explanation from an APIError (OpenAI `{error:{message}}` or Ollama `{error:"..."}`). */
function serverMessage(err: APIError): string {
  const body: unknown = err.error;
  let msg: string | undefined;
  if (typeof body === 'string') msg = body;
  else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    msg = (body as { message: string }).message;
  }
  // Without a body the client's message is "<status> status code (no body)"; drop the status prefix.
  msg ??= err.message.replace(/^\d{3}\s+/, '');
  return msg.length > 500 ? `${msg.slice(0, 500)}…` : msg;
}

/** Classifies anything the `openai` client (or the fetch under it) threw during one attempt. */
export function classifyError(err: unknown, ep: EndpointInfo): Failure {
  const url = ep.displayURL;
  const clean = (s: string): string => (ep.secrets ?? []).reduce((out, secret) => redactSecrets(out, secret), redactSecrets(s, ep.apiKey));

  if (err instanceof APIConnectionTimeoutError) {
    return { kind: 'timeout', message: `No response from ${url} in time.`, retryable: false, connectionLost: false };
  }
  if (err instanceof APIUserAbortError) {
    return { kind: 'aborted', message: 'The request was cancelled.', retryable: false, connectionLost: false };
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const detail = clean(serverMessage(err));
    const retryAfterMs = parseRetryAfter(err.headers);
    // OpenAI's servers can say explicitly whether a retry makes sense; respect it when present.
    const shouldRetry = err.headers?.get('x-should-retry');
    const retryOverride = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined;
    const base = { status, retryAfterMs, connectionLost: false };
    if (status === 401 || status === 403) {
      const what = ep.apiKey ? 'rejected the API key' : 'requires an API key and none is set';
      const hint = ep.apiKeyHint ?? 'use the key issued for this endpoint (the key itself is never shown here)';
      return { ...base, kind: 'auth', retryable: false, message: `The endpoint at ${url} ${what} (${status}). Set a valid key: ${hint}. Server said: ${detail}` };
    }
    if (status === 404) {
      return {
        ...base,
        kind: 'not-found',
        retryable: false,
        message: `Model "${ep.model}" or the URL ${url} was not found (404). Check the model id and base URL; for Ollama the base URL is http://localhost:11434/v1. Server said: ${detail}`,
      };
    }
    if (status === 429) {
      return { ...base, kind: 'rate-limited', retryable: retryOverride ?? true, message: `The endpoint at ${url} is rate-limiting requests (429): ${detail}` };
    }
    if (status === 408) {
      return { ...base, kind: 'timeout', retryable: retryOverride ?? true, message: `The server at ${url} timed out handling the request (408): ${detail}` };
    }
    if (status >= 500) {
      return { ...base, kind: 'server', retryable: retryOverride ?? true, message: `The server at ${url} failed (${status}): ${detail}` };
    }
    return { ...base, kind: 'bad-request', retryable: retryOverride ?? false, message: `The endpoint at ${url} refused the request (${status}): ${detail}` };
  }

  const { codes, messages } = causeChain(err);
  const joined = messages.join(' ');
  const unreachable = codes.find((c) => UNREACHABLE_CODES.has(c));
  if (unreachable === 'ENOTFOUND' || unreachable === 'EAI_AGAIN') {
    return {
      kind: 'unreachable',
      retryable: false,
      connectionLost: false,
      message: `The host in ${url} could not be found (${unreachable}). Check the base URL — or, for a local server (Ollama, LM Studio, …), is it running?`,
    };
  }
  if (unreachable) {
    return {
      kind: 'unreachable',
      retryable: false,
      connectionLost: false,
      message: `Nothing is listening at ${url} (${unreachable}) — is the server (Ollama, LM Studio, …) running?`,
    };
  }
  const tls = codes.find((c) => TLS_CODES.test(c));
  if (tls) {
    return {
      kind: 'unreachable',
      retryable: false,
      connectionLost: false,
      message: `The TLS certificate of ${url} was not accepted (${tls}). Check the base URL, or trust the server's certificate authority.`,
    };
  }
  if (codes.some((c) => LOST_CODES.has(c)) || LOST_MESSAGES.test(joined)) {
    return { kind: 'unreachable', retryable: true, connectionLost: true, message: `The connection to ${url} was closed before the answer was complete.` };
  }
  if (err instanceof APIConnectionError) {
    const cause = messages.slice(1).join(': ') || 'connection error';
    return { kind: 'unreachable', retryable: false, connectionLost: false, message: `Could not connect to ${url}: ${clean(cause)}` };
  }
  if (err instanceof APIError) {
    // No status: the server sent an error event inside an otherwise successful stream.
    return { kind: 'server', retryable: false, connectionLost: false, message: `The server at ${url} reported an error: ${clean(serverMessage(err))}` };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { kind: 'server', retryable: false, connectionLost: false, message: `Unexpected response from ${url}: ${clean(text)}` };
}

/**
 * Decides what to do after a failed attempt: wait and retry, or give up with the final error.
 * `attempts` counts the attempts made so far (1 after the first failure).
 */
export function decideRetry(failure: Failure, attempts: number, policy: RetryPolicy): { retryInMs: number } | { error: LlmError } {
  const retriesUsed = attempts - 1;
  const triedNote = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
  if (!failure.retryable || retriesUsed >= policy.maxRetries) {
    return { error: new LlmError(failure.kind, failure.message + triedNote, undefined, failure.status) };
  }
  if (failure.retryAfterMs !== undefined) {
    if (failure.retryAfterMs > policy.maxDelayMs) {
      const secs = Math.ceil(failure.retryAfterMs / 1000);
      return {
        error: new LlmError(
          failure.kind,
          `${failure.message} The server asked to wait ${secs} s before retrying, longer than the ${Math.round(policy.maxDelayMs / 1000)} s limit; try again later.`,
          undefined,
          failure.status,
        ),
      };
    }
    return { retryInMs: failure.retryAfterMs };
  }
  // Equal jitter: at least half the exponential step, so retries back off for sure, plus a random
  // half so many clients hitting the same limit do not retry in lockstep.
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retriesUsed);
  return { retryInMs: Math.round(step / 2 + policy.random() * (step / 2)) };
}

/**
 * One attempt's cancellation: aborts its signal when the caller's signal aborts or when the timer
 * runs out, and remembers which of the two it was. A fresh guard per attempt keeps listeners from
 * piling up on the caller's signal across retries.
 */
export class AttemptGuard {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onCallerAbort = (): void => this.controller.abort();
  /** True once the timer (not the caller) aborted the attempt. */
  timedOut = false;

  constructor(
    private readonly callerSignal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    if (callerSignal?.aborted) this.controller.abort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Pass this to the request. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the caller cancelled (this wins over a timeout that fired at the same moment). */
  get callerAborted(): boolean {
    return this.callerSignal?.aborted === true;
  }

  /** (Re)starts the timer: the attempt fails if nothing happens for `timeoutMs`. */
  arm(): void {
    this.pause();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.timeoutMs);
  }

  /** Stops the timer, e.g. while the consumer of a stream is busy with a chunk. */
  pause(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer and detaches from the caller's signal. */
  dispose(): void {
    this.pause();
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/** The error for a caller-cancelled request. */
export function abortedError(partial?: string): LlmError {
  return new LlmError('aborted', 'The request was cancelled.', partial);
}

/** The error for an attempt our timer ended; says what the user can do about it. */
export function timeoutError(ep: EndpointInfo, timeoutMs: number, partial?: string): LlmError {
  const secs = Math.round(timeoutMs / 100) / 10;
  const message = partial
    ? `The answer from ${ep.displayURL} stalled: no data for ${secs} s after ${partial.length} characters. The partial answer is kept; try again.`
    : `No response from ${ep.displayURL} within ${secs} s. A local server may still be loading the model on first use, or the server is overloaded; try again or raise the timeout.`;
  return new LlmError('timeout', message, partial || undefined);
}

/**
 * Runs a non-streaming request with the guard, classification and retry loop. `call` receives the
 * signal to pass to the client.
 */
export async function withRetries<T>(
  ep: EndpointInfo,
  policy: RetryPolicy,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    if (signal?.aborted) throw abortedError();
    const guard = new AttemptGuard(signal, timeoutMs);
    guard.arm();
    let failure: Failure;
    try {
      return await call(guard.signal);
    } catch (err) {
      if (err instanceof LlmError) throw err;
      if (guard.callerAborted) throw abortedError();
      if (guard.timedOut) throw timeoutError(ep, timeoutMs);
      failure = classifyError(err, ep);
    } finally {
      guard.dispose();
    }
    const decision = decideRetry(failure, attempts, policy);
    if ('error' in decision) throw decision.error;
    await sleepOrAbort(policy, decision.retryInMs, signal);
  }
}

/** Sleeps between attempts; a cancel during the wait ends the request as aborted. */
export async function sleepOrAbort(policy: RetryPolicy, ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await policy.sleep(ms, signal);
  } catch (err) {
    if (signal?.aborted) throw abortedError();
    throw err;
  }
  // An injected sleep may ignore the signal; check again so a cancel is never followed by a request.
  if (signal?.aborted) throw abortedError();
}
