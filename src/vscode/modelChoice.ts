/**
 * Which model writes answers in VS Code (ARCHITECTURE.md, invariant 13), as a pure function of the
 * settings, workspace trust and whether an API key is stored. No `vscode` import, so the decision is
 * table-tested in Node (test/unit/modelChoice.test.ts); answerService.ts carries it out (creates the
 * OpenAI client, or asks vscode.lm for a model and falls back when there is none).
 */
import { isLoopback } from '../providers/errors';
import { DEFAULT_OPENAI_BASE_URL } from '../providers/openaiChat';
import type { ErrorView } from './protocol';
import type { GroundworkSettings } from './settingsDefaults';

export interface ModelChoiceInput {
  provider: GroundworkSettings['provider'];
  baseUrl: string;
  model: string;
  /** An API key is in secret storage. */
  hasApiKey: boolean;
  /** vscode.workspace.isTrusted. */
  trusted: boolean;
}

/** No model: answers quote the code. `label` is what the UI shows; `problem` a fix-it to show. */
export interface QuoteDecision {
  kind: 'quote';
  label: string;
  problem?: ErrorView;
}

export type ModelDecision =
  | QuoteDecision
  /** The OpenAI-compatible endpoint at `baseURL`; `model` empty means the client's default model. */
  | { kind: 'endpoint'; baseURL: string; model: string }
  /** Ask vscode.lm for a model (of `family`, when set); `otherwise` applies when none is available. */
  | { kind: 'vscode-lm'; family?: string; otherwise: QuoteDecision };

export const UNTRUSTED_NOTE = 'This workspace is not trusted: nothing is sent to remote models; answers quote the code (or use a model on this machine).';

/** The decision, and the note to show in an untrusted workspace. */
export function chooseModel(s: ModelChoiceInput): { decision: ModelDecision; trustNote?: string } {
  const trustNote = s.trusted ? undefined : UNTRUSTED_NOTE;
  return { decision: decide(s), trustNote };
}

function decide(s: ModelChoiceInput): ModelDecision {
  if (s.provider === 'extractive') return { kind: 'quote', label: 'quoted answers (no model)' };
  const wantsEndpoint = s.provider === 'openai' || (s.provider === 'auto' && Boolean(s.baseUrl || s.model || s.hasApiKey));
  if (wantsEndpoint) {
    const baseURL = s.baseUrl || DEFAULT_OPENAI_BASE_URL;
    // Invariant 13: in an untrusted workspace only a model on this machine may be used.
    if (!s.trusted && !isLoopback(baseURL)) return { kind: 'quote', label: 'quoted answers (untrusted workspace)' };
    if (!s.model && baseURL !== DEFAULT_OPENAI_BASE_URL) {
      return {
        kind: 'quote',
        label: `quoted answers (${baseURL} needs groundwork.model)`,
        problem: {
          kind: 'config',
          message: `A model is needed for ${baseURL}: set groundwork.model (e.g. llama3.1:8b for Ollama).`,
          action: { id: 'openSettings', label: 'Open Settings' },
        },
      };
    }
    return { kind: 'endpoint', baseURL, model: s.model };
  }
  const noModel: QuoteDecision = { kind: 'quote', label: 'quoted answers (no model)' };
  // VS Code language models may be remote: never in an untrusted workspace.
  if ((s.provider === 'vscode-lm' || s.provider === 'auto') && s.trusted) {
    if (s.provider === 'auto') return { kind: 'vscode-lm', otherwise: noModel };
    return {
      kind: 'vscode-lm',
      family: s.model || undefined,
      otherwise: {
        kind: 'quote',
        label: 'quoted answers (no VS Code language model available)',
        problem: {
          kind: 'config',
          message: 'No VS Code language model is available (is a chat extension such as Copilot installed and signed in?).',
          action: { id: 'openSettings', label: 'Open Settings' },
        },
      },
    };
  }
  return noModel;
}
