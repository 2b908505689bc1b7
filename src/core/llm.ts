/**
 * The language-model port. Implementations: src/providers (OpenAI-compatible endpoints), src/vscode
 * (VS Code's language-model API). The engine only sees this interface.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  signal?: AbortSignal;
  /** Upper bound on generated tokens (provider default when absent). */
  maxTokens?: number;
  /** Sampling temperature (default 0.1: answers should follow the sources, not wander). */
  temperature?: number;
}

/** Why a model call failed, so front ends can offer the right fix. */
export type LlmErrorKind =
  | 'auth' // 401/403: missing or wrong API key
  | 'not-found' // 404: wrong model id or base URL
  | 'unreachable' // connection refused / DNS: server not running
  | 'rate-limited' // 429 after retries
  | 'server' // 5xx after retries
  | 'timeout'
  | 'stream-cut' // the stream ended early; `partial` holds what arrived
  | 'aborted'
  | 'bad-request'; // 400 and other 4xx

export class LlmError extends Error {
  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    /** Text received before the failure (for `stream-cut`). */
    readonly partial?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

export interface LlmProvider {
  /** Stable id, e.g. `openai:gpt-4o-mini` or `vscode-lm:copilot-gpt-4o`. */
  readonly id: string;
  /** Human-readable name for status lines. */
  readonly label: string;
  /** True when requests leave the machine (used by workspace-trust rules and the UI). */
  readonly remote: boolean;
  /**
   * Streams the answer as text deltas. Throws {@link LlmError} with an actionable message; when a
   * stream is cut midway it throws kind `stream-cut` with the partial text.
   */
  stream(request: ChatRequest): AsyncIterable<string>;
}
