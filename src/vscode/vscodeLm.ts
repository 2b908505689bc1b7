/**
 * An {@link LlmProvider} over VS Code's language-model API (`vscode.lm`), e.g. Copilot's models.
 * Translates the engine's AbortSignal into a CancellationToken and VS Code's errors into
 * {@link LlmError}s with actionable messages.
 */
import * as vscode from 'vscode';
import { LlmError, type ChatRequest, type LlmProvider } from '../core/llm';

export class VscodeLmProvider implements LlmProvider {
  readonly id: string;
  readonly label: string;
  /** Models behind this API run as the user's chosen service: treat them as remote. */
  readonly remote = true;

  constructor(private readonly model: vscode.LanguageModelChat) {
    this.id = `vscode-lm:${model.vendor}/${model.id}`;
    this.label = `${model.name} (VS Code)`;
  }

  /** The first chat model matching `family` (any when empty), or undefined when none is available. */
  static async select(family?: string): Promise<VscodeLmProvider | undefined> {
    if (!vscode.lm?.selectChatModels) return undefined;
    const models = await vscode.lm.selectChatModels(family ? { family } : {});
    return models[0] ? new VscodeLmProvider(models[0]) : undefined;
  }

  async *stream(request: ChatRequest): AsyncIterable<string> {
    const source = new vscode.CancellationTokenSource();
    const onAbort = () => source.cancel();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    // VS Code's chat messages have no system role: the instructions go first as a user message.
    const messages = request.messages.map((m) => (m.role === 'assistant' ? vscode.LanguageModelChatMessage.Assistant(m.content) : vscode.LanguageModelChatMessage.User(m.content)));
    let received = '';
    try {
      if (request.signal?.aborted) throw new LlmError('aborted', 'The request was cancelled.');
      const response = await this.model.sendRequest(messages, { justification: 'Groundwork answers your question from your workspace code.' }, source.token);
      for await (const chunk of response.text) {
        if (request.signal?.aborted) throw new LlmError('aborted', 'The request was cancelled.', received);
        received += chunk;
        yield chunk;
      }
    } catch (err) {
      if (err instanceof LlmError) throw err;
      if (request.signal?.aborted) throw new LlmError('aborted', 'The request was cancelled.', received);
      if (err instanceof vscode.LanguageModelError) {
        const code = err.code;
        if (code === vscode.LanguageModelError.NoPermissions.name) {
          throw new LlmError('auth', `Groundwork may not use ${this.model.name}: allow it when VS Code asks, or choose another provider in the settings.`);
        }
        if (code === vscode.LanguageModelError.NotFound.name) {
          throw new LlmError('not-found', `The language model ${this.model.name} is no longer available; pick another with the groundwork.model setting.`);
        }
        if (code === vscode.LanguageModelError.Blocked.name) {
          throw new LlmError('rate-limited', `${this.model.name} refused the request (quota or policy): ${err.message}`);
        }
      }
      const message = err instanceof Error ? err.message : String(err);
      if (received) throw new LlmError('stream-cut', `The answer from ${this.model.name} stopped early: ${message}`, received);
      throw new LlmError('server', `${this.model.name} failed: ${message}`);
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      source.dispose();
    }
  }
}
