/**
 * The webview's transcript model: the turns it shows and how host messages change them. Pure (no
 * DOM), so the state rules are unit-tested in Node.
 *
 * Messages pass {@link parseHostMessage}, which checks the `type` and the top-level fields; the
 * turns, status and history inside are normalized here, so a malformed or unexpected nested field
 * becomes an empty value instead of a crash or a non-string reaching the DOM. The same normalization applies to what `getState()` returns.
 */
import type { CitationView, ConversationView, ErrorView, HostMessage, SourceView, StatusView, TurnView } from '../../src/vscode/protocol';
import { isActionId } from '../../src/vscode/protocol';

/** Turns kept in the webview and its persisted state; older ones drop off (the host keeps history). */
export const MAX_TURNS = 50;

/** What the webview stores with `setState`, so a reload shows the transcript before the host answers. */
export interface PersistedState {
  v: 1;
  turns: TurnView[];
  status?: StatusView;
  /** Unsent text in the input box. */
  draft?: string;
}

function str(x: unknown, max = 1_000_000): string {
  return typeof x === 'string' ? x.slice(0, max) : '';
}

function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

function record(x: unknown): Record<string, unknown> | undefined {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function citation(raw: unknown): CitationView | undefined {
  const c = record(raw);
  if (!c || typeof c.id !== 'number' || !Number.isInteger(c.id) || c.id < 0) return undefined;
  const status = c.status === 'verified' || c.status === 'stale' ? c.status : 'invalid';
  const out: CitationView = { id: c.id, label: str(c.label, 1000), status };
  if (typeof c.n === 'number' && Number.isInteger(c.n)) out.n = c.n;
  if (typeof c.reason === 'string') out.reason = str(c.reason, 1000);
  if (c.support === 'supported' || c.support === 'partial' || c.support === 'unsupported' || c.support === 'unchecked') out.support = c.support;
  if (Array.isArray(c.missing))
    out.missing = c.missing
      .filter((t): t is string => typeof t === 'string')
      .slice(0, 8)
      .map((t) => t.slice(0, 80));
  return out;
}

function source(raw: unknown): SourceView | undefined {
  const s = record(raw);
  if (!s || typeof s.n !== 'number' || !Number.isInteger(s.n)) return undefined;
  const retrievers = Array.isArray(s.retrievers) ? s.retrievers.filter((r): r is string => typeof r === 'string').slice(0, 8) : [];
  return { n: s.n, label: str(s.label, 1000), score: num(s.score), retrievers };
}

function errorView(raw: unknown): ErrorView | undefined {
  const e = record(raw);
  if (!e) return undefined;
  const out: ErrorView = { kind: str(e.kind, 100), message: str(e.message, 4000) };
  const a = record(e.action);
  if (a && isActionId(a.id)) out.action = { id: a.id, label: str(a.label, 100) || 'Fix' };
  return out;
}

/** Normalizes a turn from the host or from saved state; undefined when it has no usable id. */
export function normalizeTurn(raw: unknown): TurnView | undefined {
  const t = record(raw);
  if (!t || typeof t.id !== 'string' || !t.id) return undefined;
  const f = record(t.flags) ?? {};
  const turn: TurnView = {
    id: t.id.slice(0, 64),
    question: str(t.question, 20_000),
    answer: str(t.answer),
    citations: Array.isArray(t.citations) ? t.citations.map(citation).filter((c): c is CitationView => !!c) : [],
    sources: Array.isArray(t.sources) ? t.sources.map(source).filter((s): s is SourceView => !!s) : [],
    flags: { weakContext: f.weakContext === true, stale: f.stale === true, truncated: f.truncated === true, cut: f.cut === true, extractive: f.extractive === true },
    provider: str(t.provider, 200),
    integrity: str(t.integrity, 40),
  };
  const error = errorView(t.error);
  if (error) turn.error = error;
  if (t.pending === true) turn.pending = true;
  if (t.stage === 'searching' || t.stage === 'answering') turn.stage = t.stage;
  const att = record(t.attachment);
  if (att && typeof att.label === 'string' && att.label) turn.attachment = { label: str(att.label, 1000) };
  if (t.stopped === true) turn.stopped = true;
  if (typeof t.searchNote === 'string' && t.searchNote) turn.searchNote = str(t.searchNote, 600);
  return turn;
}

/** Normalizes a status line; undefined when it is not an object. */
export function normalizeStatus(raw: unknown): StatusView | undefined {
  const s = record(raw);
  if (!s) return undefined;
  const vectors = s.vectors === 'ready' || s.vectors === 'partial' ? s.vectors : 'off';
  const out: StatusView = { state: str(s.state, 200), files: num(s.files), chunks: num(s.chunks), vectors, provider: str(s.provider, 200) };
  if (typeof s.vectorsReason === 'string' && s.vectorsReason) out.vectorsReason = str(s.vectorsReason, 1000);
  if (typeof s.trustNote === 'string' && s.trustNote) out.trustNote = str(s.trustNote, 1000);
  if (s.noFolder === true) out.noFolder = true;
  if (typeof s.providerProblem === 'string' && s.providerProblem) out.providerProblem = str(s.providerProblem, 1000);
  return out;
}

/** Normalizes the history list; entries without a usable id are dropped. */
export function normalizeConversations(raw: unknown): ConversationView[] {
  if (!Array.isArray(raw)) return [];
  const out: ConversationView[] = [];
  for (const x of raw.slice(0, 100)) {
    const c = record(x);
    if (!c || typeof c.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(c.id)) continue;
    out.push({ id: c.id, title: str(c.title, 200) || 'Untitled', at: num(c.at), turns: num(c.turns) });
  }
  return out;
}

/** Keeps the newest {@link MAX_TURNS} turns. */
export function bounded(turns: TurnView[]): TurnView[] {
  return turns.length > MAX_TURNS ? turns.slice(turns.length - MAX_TURNS) : turns;
}

/** Reads what `getState()` returned; anything unrecognized yields an empty transcript. */
export function readPersisted(raw: unknown): PersistedState {
  const s = record(raw);
  if (!s || s.v !== 1 || !Array.isArray(s.turns)) return { v: 1, turns: [] };
  const out: PersistedState = { v: 1, turns: bounded(s.turns.map(normalizeTurn).filter((t): t is TurnView => !!t)) };
  const status = normalizeStatus(s.status);
  if (status) out.status = status;
  if (typeof s.draft === 'string' && s.draft) out.draft = str(s.draft, 10_000);
  return out;
}

/** Replaces the turn with the same id, or appends it. */
function upsert(turns: readonly TurnView[], turn: TurnView): TurnView[] {
  const i = turns.findIndex((t) => t.id === turn.id);
  if (i < 0) return bounded([...turns, turn]);
  const next = turns.slice();
  next[i] = turn;
  return next;
}

/**
 * The transcript after a host message, or undefined when the message does not change the turns
 * (status, reveal, preview, focusInput, or a delta for a turn we do not have).
 */
export function applyHostMessage(turns: readonly TurnView[], msg: HostMessage): TurnView[] | undefined {
  switch (msg.type) {
    case 'init':
      return Array.isArray(msg.turns) ? bounded(msg.turns.map(normalizeTurn).filter((t): t is TurnView => !!t)) : [];
    case 'answerStart':
    case 'answerDone': {
      const turn = normalizeTurn(msg.turn);
      if (!turn) return undefined;
      // answerStart always streams, answerDone never does, whatever the payload says.
      if (msg.type === 'answerStart') turn.pending = true;
      else {
        delete turn.pending;
        delete turn.stage;
      }
      return upsert(turns, turn);
    }
    case 'answerDelta': {
      const i = turns.findIndex((t) => t.id === msg.turnId);
      if (i < 0 || typeof msg.delta !== 'string') return undefined;
      const next = turns.slice();
      next[i] = { ...turns[i]!, answer: turns[i]!.answer + msg.delta };
      return next;
    }
    case 'cleared':
      return [];
    default:
      return undefined;
  }
}

/** True while any answer streams (the input shows Stop instead of Send). */
export function isStreaming(turns: readonly TurnView[]): boolean {
  return turns.some((t) => t.pending === true);
}
