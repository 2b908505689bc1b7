/**
 * The one typed protocol between the extension host and the chat webview (media/). Both sides
 * import this file; it imports nothing (no `vscode`), so the webview bundle can include it.
 *
 * Rules: the webview never sends paths, only ids the host gave it (turn ids, citation ids, source
 * numbers); every message is validated and size-bounded on receipt ({@link parseWebviewMessage} on
 * the host, {@link parseHostMessage} in the webview).
 */

/** See src/core/citations.ts: `verified` = found (source in the prompt, lines unchanged). */
export type CitationStatus = 'verified' | 'stale' | 'invalid';
/** Whether the cited lines contain the claim's identifiers, numbers and strings. */
export type SupportStatus = 'supported' | 'partial' | 'unsupported' | 'unchecked';

export interface CitationView {
  /** Index of the citation within its turn; what the webview sends back. */
  id: number;
  /** Source number when the marker was `[n]`. */
  n?: number;
  /** `path:Lx-Ly` for display (never sent back). */
  label: string;
  status: CitationStatus;
  /** Why a citation is stale or invalid. */
  reason?: string;
  support?: SupportStatus;
  /** The claim's terms missing from the cited lines. */
  missing?: string[];
}

export interface SourceView {
  n: number;
  /** `path:Lx-Ly` for display. */
  label: string;
  score: number;
  retrievers: string[];
}

export interface TurnView {
  id: string;
  question: string;
  /** Markdown; rendered with raw HTML disabled. */
  answer: string;
  citations: CitationView[];
  sources: SourceView[];
  flags: { weakContext: boolean; stale: boolean; truncated: boolean; cut: boolean; extractive: boolean };
  provider: string;
  /** Verified / total, e.g. "3/3". */
  integrity: string;
  error?: ErrorView;
  /** True while the answer streams. */
  pending?: boolean;
  /** While pending: retrieving, or waiting for / streaming the answer. */
  stage?: 'searching' | 'answering';
  /** Code the question was asked about (Ask about Selection), shown as a compact `file:Lx-Ly`. */
  attachment?: { label: string };
  /** Set when the search was keyword-only, or partly so, because vectors are still being computed. */
  searchNote?: string;
  /** The turn was stopped by the user. */
  stopped?: boolean;
}

/** Fix-it actions the webview may ask for; the host maps them to its own commands. */
export type ActionId = 'setApiKey' | 'openSettings' | 'rebuildIndex' | 'showStatus' | 'downloadModel' | 'openFolder' | 'chooseModel';

export interface ErrorView {
  kind: string;
  message: string;
  action?: { id: ActionId; label: string };
}

export interface StatusView {
  /** e.g. "Indexing 120/900 files" or "Ready". */
  state: string;
  files: number;
  chunks: number;
  vectors: 'off' | 'partial' | 'ready';
  /** Why vectors are off, if they are. */
  vectorsReason?: string;
  provider: string;
  /** Set in an untrusted workspace: why remote models are not used. */
  trustNote?: string;
  /** No folder is open: there is nothing to ask about until one is. */
  noFolder?: boolean;
  /** Why the configured model is not used (answers quote the code instead). */
  providerProblem?: string;
}

/** A past conversation in the history list. */
export interface ConversationView {
  id: string;
  /** Its first question, shortened. */
  title: string;
  /** When its last turn was asked (ms since the epoch). */
  at: number;
  turns: number;
}

export type HostMessage =
  | { type: 'init'; turns: TurnView[]; status: StatusView }
  | { type: 'status'; status: StatusView }
  | { type: 'answerStart'; turn: TurnView }
  | { type: 'answerDelta'; turnId: string; delta: string }
  | { type: 'answerDone'; turn: TurnView }
  | { type: 'cleared' }
  | { type: 'reveal'; turnId: string }
  | { type: 'preview'; requestId: number; label: string; language: string; startLine: number; lines: string[]; note?: string }
  | { type: 'focusInput'; text?: string }
  | { type: 'history'; conversations: ConversationView[] };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'ask'; question: string }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'openCitation'; turnId: string; citationId: number }
  | { type: 'openSource'; turnId: string; n: number }
  | { type: 'previewCitation'; requestId: number; turnId: string; citationId: number }
  | { type: 'runAction'; action: ActionId }
  | { type: 'retry'; turnId: string }
  | { type: 'insertCode'; turnId: string; code: string }
  | { type: 'showHistory' }
  | { type: 'openConversation'; id: string };

/** Largest message the host accepts from the webview (a question is at most ~10 KB). */
export const MAX_WEBVIEW_MESSAGE_BYTES = 32 * 1024;
/** Longest question accepted. */
export const MAX_QUESTION_CHARS = 10_000;

const ACTIONS: readonly ActionId[] = ['setApiKey', 'openSettings', 'rebuildIndex', 'showStatus', 'downloadModel', 'openFolder', 'chooseModel'];

/** True for a known fix-it action id (both sides check ids they receive). */
export function isActionId(x: unknown): x is ActionId {
  return typeof x === 'string' && (ACTIONS as readonly string[]).includes(x);
}

function isId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= 64 && /^[A-Za-z0-9_-]+$/.test(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 10_000;
}

/** Validates a message from the webview; anything malformed or oversized yields undefined. */
export function parseWebviewMessage(raw: unknown): WebviewMessage | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  let size: number;
  try {
    size = JSON.stringify(raw).length;
  } catch {
    return undefined;
  }
  if (size > MAX_WEBVIEW_MESSAGE_BYTES) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'stop':
    case 'newChat':
    case 'showHistory':
      return { type: m.type };
    case 'openConversation':
      return isId(m.id) ? { type: 'openConversation', id: m.id } : undefined;
    case 'ask':
      return typeof m.question === 'string' && m.question.trim() && m.question.length <= MAX_QUESTION_CHARS ? { type: 'ask', question: m.question } : undefined;
    case 'openCitation':
      return isId(m.turnId) && isIndex(m.citationId) ? { type: 'openCitation', turnId: m.turnId, citationId: m.citationId } : undefined;
    case 'openSource':
      return isId(m.turnId) && isIndex(m.n) ? { type: 'openSource', turnId: m.turnId, n: m.n } : undefined;
    case 'previewCitation':
      return isIndex(m.requestId) && isId(m.turnId) && isIndex(m.citationId)
        ? { type: 'previewCitation', requestId: m.requestId, turnId: m.turnId, citationId: m.citationId }
        : undefined;
    case 'runAction':
      return isActionId(m.action) ? { type: 'runAction', action: m.action } : undefined;
    case 'retry':
      return isId(m.turnId) ? { type: 'retry', turnId: m.turnId } : undefined;
    case 'insertCode':
      // The host inserts it only if it is code of that turn's answer.
      return isId(m.turnId) && typeof m.code === 'string' && m.code.length > 0 ? { type: 'insertCode', turnId: m.turnId, code: m.code } : undefined;
    default:
      return undefined;
  }
}

/** Largest message the webview accepts from the host (a full transcript of MAX_TURNS long answers). */
export const MAX_HOST_MESSAGE_BYTES = 16 * 1024 * 1024;

function isRecord(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === 'object' && !Array.isArray(x);
}

function isLine(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1;
}

function optionalString(x: unknown): boolean {
  return x === undefined || typeof x === 'string';
}

/** A turn as far as the message must be trusted here: an object with an id (transcript.ts normalizes the rest). */
function isTurnShape(x: unknown): boolean {
  return isRecord(x) && isId(x.id);
}

/**
 * Validates a message from the host (defence in depth in the webview): the type and every top-level
 * field it carries, so a malformed message is dropped instead of reaching the DOM. Nested turn,
 * status and history shapes are normalized field by field by media/src/transcript.ts
 * (normalizeTurn, normalizeStatus, normalizeConversations). A valid message is returned as is.
 */
export function parseHostMessage(raw: unknown): HostMessage | undefined {
  if (!isRecord(raw)) return undefined;
  const m = raw;
  let ok: boolean;
  switch (m.type) {
    case 'init':
      ok = Array.isArray(m.turns) && m.turns.length <= 10_000 && isRecord(m.status);
      break;
    case 'status':
      ok = isRecord(m.status);
      break;
    case 'answerStart':
    case 'answerDone':
      ok = isTurnShape(m.turn);
      break;
    case 'answerDelta':
      ok = isId(m.turnId) && typeof m.delta === 'string';
      break;
    case 'cleared':
      ok = true;
      break;
    case 'reveal':
      ok = isId(m.turnId);
      break;
    case 'preview':
      ok =
        isIndex(m.requestId) &&
        typeof m.label === 'string' &&
        typeof m.language === 'string' &&
        isLine(m.startLine) &&
        Array.isArray(m.lines) &&
        m.lines.every((l) => typeof l === 'string') &&
        optionalString(m.note);
      break;
    case 'focusInput':
      ok = optionalString(m.text);
      break;
    case 'history':
      ok = Array.isArray(m.conversations);
      break;
    default:
      return undefined;
  }
  if (!ok) return undefined;
  // Size last: it is the costly check, and only well-formed messages get this far.
  try {
    if (JSON.stringify(raw).length > MAX_HOST_MESSAGE_BYTES) return undefined;
  } catch {
    return undefined;
  }
  return raw as unknown as HostMessage;
}
