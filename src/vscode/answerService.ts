/**
 * Answers questions inside VS Code: chooses the model (settings, workspace trust, secret storage),
 * keeps the conversation (workspace state, bounded), runs the engine's answer pipeline against the
 * index worker, and remembers cited ranges for editor hovers.
 */
import { hash16 } from '../core/hash';
import * as vscode from 'vscode';
import { answerQuestion, type AnswerResult, type Turn } from '../core/answer';
import type { Citation, Source } from '../core/citations';
import { LlmError, type LlmProvider } from '../core/llm';
import { applyChanges, type TextChange } from '../core/rangeTracking';
import { DEFAULT_OPENAI_MODEL } from '../providers/config';
import { OpenAIChatProvider } from '../providers/openaiChat';
import { chooseModel, type QuoteDecision } from './modelChoice';
import type { IndexService } from './indexService';
import type { ErrorView, TurnView } from './protocol';
import { API_KEY_SECRET, readSettings } from './settings';
import { VscodeLmProvider } from './vscodeLm';
import { errMessage } from '../core/errMessage';
import { coverageNote } from '../core/vectorCoverage';

const TURNS_KEY = 'groundwork.turns';
const CONVERSATIONS_KEY = 'groundwork.conversations';
/** Past conversations kept (newest first); older ones are forgotten. */
const MAX_CONVERSATIONS = 20;
const CITED_KEY = 'groundwork.citedRanges';
const MAX_TURNS = 50;
const MAX_CITED = 500;

/** Code a question is asked about (Ask about Selection). */
export interface Attachment {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
}

/** A turn as stored: what the webview shows plus what the host needs to resolve ids. */
export interface TurnRecord {
  view: TurnView;
  citations: Citation[];
  sources: Array<Omit<Source, 'text'> & { textHash: string }>;
  at: number;
  /** The selection the question was about, kept so Retry asks the same thing. */
  attachment?: Attachment;
}

/** A conversation put aside by New chat, reopened from the history list. */
export interface ConversationRecord {
  id: string;
  title: string;
  at: number;
  turns: TurnRecord[];
}

/** Reason shown on a citation whose lines were edited after the answer. */
export const EDITED_REASON = 'the cited lines were edited after this answer';

/** A cited range remembered for hovers. */
export interface CitedRange {
  path: string;
  startLine: number;
  endLine: number;
  turnId: string;
  question: string;
  /** The answer text around the citation marker. */
  excerpt: string;
  /** sha256 of the cited source text at answer time (to tell whether the file changed since). */
  textHash: string;
  at: number;
  /** An edit touched these lines after the answer (the range no longer means what was cited). */
  edited?: boolean;
}

export interface ProviderChoice {
  llm?: LlmProvider;
  /** What the UI shows as the provider. */
  label: string;
  /** Why remote models are not used, in an untrusted workspace. */
  trustNote?: string;
  /** A configuration problem to show (the answer falls back to quoting). */
  problem?: ErrorView;
}

export class AnswerService implements vscode.Disposable {
  private turns: TurnRecord[];
  private conversations: ConversationRecord[];
  private cited: CitedRange[];
  private running: AbortController | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the remembered citations change (hovers and decorations refresh). */
  readonly onDidChangeCitations = this.changed.event;
  private readonly turnsChanged = new vscode.EventEmitter<TurnView[]>();
  /** Fires with the finished turns whose citations moved or went stale through an edit. */
  readonly onDidUpdateTurns = this.turnsChanged.event;
  /** The turn being answered, as streamed so far (a view re-created mid-answer shows it). */
  private current: TurnView | undefined;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly index: IndexService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.turns = context.workspaceState.get<TurnRecord[]>(TURNS_KEY, []);
    this.conversations = context.workspaceState.get<ConversationRecord[]>(CONVERSATIONS_KEY, []);
    this.cited = context.workspaceState.get<CitedRange[]>(CITED_KEY, []);
    // The provider choice reads secrets and asks VS Code for models; it is cached and recomputed
    // only when something it depends on changes (the chat view's status asks for it often).
    const invalidate = () => (this.choice = undefined);
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('groundwork')) invalidate();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(invalidate),
      context.secrets.onDidChange((e) => {
        if (e.key === API_KEY_SECRET) invalidate();
      }),
    );
    if (vscode.lm?.onDidChangeChatModels) this.disposables.push(vscode.lm.onDidChangeChatModels(invalidate));
    this.disposables.push(
      this.turnsChanged,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme === 'file' && e.contentChanges.length) this.trackEdits(e.document.uri.fsPath, e.contentChanges);
      }),
    );
  }

  /** The turn being answered right now, with the text streamed so far. */
  get inFlight(): TurnView | undefined {
    return this.current;
  }

  /**
   * Follows an edit of a document: cited ranges below the edit stay, ranges after it move with their
   * lines, ranges it touches become stale. Updates the transcript, the hovers and the decorations.
   */
  trackEdits(fsPath: string, changes: readonly vscode.TextDocumentContentChangeEvent[]): void {
    const p = this.index.indexPathOf(fsPath);
    if (!p) return;
    const edits: TextChange[] = changes.map((c) => ({ start: c.range.start, end: c.range.end, text: c.text.replace(/\r\n|\r/g, '\n') }));
    const updated: TurnView[] = [];
    for (const t of this.turns) {
      let touched = false;
      t.citations.forEach((c, i) => {
        if (c.path !== p || c.status === 'invalid' || c.startLine === undefined || c.endLine === undefined) return;
        const r = applyChanges({ startLine: c.startLine, endLine: c.endLine, edited: false }, edits);
        const view = t.view.citations[i];
        if (r.edited && c.status !== 'stale') {
          c.status = 'stale';
          c.reason = EDITED_REASON;
          c.support = 'unchecked';
          delete c.missing;
          if (view) {
            view.status = 'stale';
            view.reason = EDITED_REASON;
            view.support = 'unchecked';
            delete view.missing;
          }
          touched = true;
        }
        if (r.startLine !== c.startLine) {
          c.startLine = r.startLine;
          c.endLine = r.endLine;
          if (view) view.label = `${p}:L${r.startLine}-L${r.endLine}`;
          touched = true;
        }
      });
      for (const [i, s] of t.sources.entries()) {
        if (s.path !== p) continue;
        const r = applyChanges({ startLine: s.startLine, endLine: s.endLine, edited: false }, edits);
        if (r.startLine === s.startLine) continue;
        s.startLine = r.startLine;
        s.endLine = r.endLine;
        const sv = t.view.sources[i];
        if (sv) sv.label = `${p}:L${r.startLine}-L${r.endLine}`;
        touched = true;
      }
      if (touched) updated.push(t.view);
    }
    let citedChanged = false;
    for (const c of this.cited) {
      if (c.path !== p || c.edited) continue;
      const r = applyChanges({ startLine: c.startLine, endLine: c.endLine, edited: false }, edits);
      if (r.edited) c.edited = true;
      if (r.edited || r.startLine !== c.startLine) {
        c.startLine = r.startLine;
        c.endLine = r.endLine;
        citedChanged = true;
      }
    }
    if (updated.length) this.turnsChanged.fire(updated);
    if (citedChanged) this.changed.fire();
    if (updated.length || citedChanged) this.saveSoon();
  }

  /** Persists turns and cited ranges shortly (edits arrive once per keystroke). */
  private saveSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.context.workspaceState.update(TURNS_KEY, this.turns);
      void this.context.workspaceState.update(CITED_KEY, this.cited);
    }, 500);
  }

  private choice: Promise<ProviderChoice> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  get history(): readonly TurnRecord[] {
    return this.turns;
  }

  get citedRanges(): readonly CitedRange[] {
    return this.cited;
  }

  turn(id: string): TurnRecord | undefined {
    return this.turns.find((t) => t.view.id === id);
  }

  /** The model to use now, honouring the settings and workspace trust (cached, see the constructor). */
  chooseProvider(): Promise<ProviderChoice> {
    this.choice ??= this.computeProvider().catch((err: unknown) => {
      this.choice = undefined;
      throw err;
    });
    return this.choice;
  }

  private async computeProvider(): Promise<ProviderChoice> {
    const s = readSettings();
    const apiKey = await this.context.secrets.get(API_KEY_SECRET);
    const { decision, trustNote } = chooseModel({ provider: s.provider, baseUrl: s.baseUrl, model: s.model, hasApiKey: Boolean(apiKey), trusted: vscode.workspace.isTrusted });
    const quote = (q: QuoteDecision): ProviderChoice => ({ label: q.label, trustNote, ...(q.problem ? { problem: q.problem } : {}) });
    switch (decision.kind) {
      case 'quote':
        return quote(decision);
      case 'endpoint': {
        const llm = new OpenAIChatProvider({
          baseURL: decision.baseURL,
          apiKey,
          model: decision.model || DEFAULT_OPENAI_MODEL,
          apiKeyHint: 'run "Groundwork: Set API Key"',
        });
        return { llm, label: llm.label, trustNote };
      }
      case 'vscode-lm': {
        try {
          const llm = await VscodeLmProvider.select(decision.family);
          if (llm) return { llm, label: llm.label, trustNote };
        } catch (err) {
          this.log.warn(`VS Code language models are unavailable: ${errMessage(err)}`);
        }
        return quote(decision.otherwise);
      }
    }
  }

  stop(): void {
    this.running?.abort(new LlmError('aborted', 'Stopped.'));
  }

  /**
   * Starts an empty conversation. With `keep` (New chat) the current one goes to the history list;
   * without (Clear Conversation) it is discarded.
   */
  async clear(keep = false): Promise<void> {
    this.stop();
    if (keep) this.archiveCurrent();
    this.turns = [];
    await this.context.workspaceState.update(TURNS_KEY, this.turns);
    await this.context.workspaceState.update(CONVERSATIONS_KEY, this.conversations);
  }

  private archiveCurrent(): void {
    const turns = this.turns.filter((t) => !t.view.pending);
    if (!turns.length) return;
    const first = turns[0]!.view.question.replace(/\s+/g, ' ').trim();
    const record: ConversationRecord = {
      id: `c${turns[0]!.view.id}`.slice(0, 64),
      title: first.length > 80 ? `${first.slice(0, 79)}…` : first,
      at: turns[turns.length - 1]!.at,
      turns,
    };
    this.conversations = [record, ...this.conversations.filter((c) => c.id !== record.id)].slice(0, MAX_CONVERSATIONS);
  }

  /** The history list, newest first. */
  get pastConversations(): ReadonlyArray<{ id: string; title: string; at: number; turns: number }> {
    return this.conversations.map((c) => ({ id: c.id, title: c.title, at: c.at, turns: c.turns.length }));
  }

  /** Makes a past conversation the current one (the current one goes to the history). */
  async openConversation(id: string): Promise<boolean> {
    const found = this.conversations.find((c) => c.id === id);
    if (!found) return false;
    this.stop();
    this.conversations = this.conversations.filter((c) => c.id !== id);
    this.archiveCurrent();
    this.turns = found.turns;
    await this.context.workspaceState.update(TURNS_KEY, this.turns);
    await this.context.workspaceState.update(CONVERSATIONS_KEY, this.conversations);
    return true;
  }

  /**
   * Answers `question`, streaming through the callbacks. Resolves with the finished turn (also when
   * the model failed: the turn then carries the error and the fallback answer).
   */
  async ask(
    question: string,
    cb: {
      onStart?: (turn: TurnView) => void;
      onDelta?: (turnId: string, delta: string) => void;
      useHistory?: boolean;
      llmOverride?: LlmProvider | null;
      attachment?: Attachment;
      /** Earlier turns to condense follow-ups with, instead of the sidebar's conversation. */
      history?: Turn[];
    } = {},
  ): Promise<TurnRecord> {
    this.stop();
    const controller = new AbortController();
    this.running = controller;
    const id = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const att = cb.attachment;
    const attachmentView = att ? { label: `${att.path}:L${att.startLine}-L${att.endLine}` } : undefined;
    if (this.index.noFolder) {
      // Nothing to search: say what to do, not that the answer was "quoted".
      const view: TurnView = {
        id,
        question,
        answer: '',
        citations: [],
        sources: [],
        flags: { weakContext: false, stale: false, truncated: false, cut: false, extractive: false },
        provider: '',
        integrity: '',
        error: {
          kind: 'no-folder',
          message: 'No folder is open, so there is no code to answer from. Open a folder, then ask again.',
          action: { id: 'openFolder', label: 'Open Folder' },
        },
        ...(attachmentView ? { attachment: attachmentView } : {}),
      };
      if (this.running === controller) this.running = undefined;
      // Kept like any turn, so a view that opens after the question shows it.
      const record: TurnRecord = { view, citations: [], sources: [], at: Date.now(), ...(att ? { attachment: att } : {}) };
      this.turns = [...this.turns, record].slice(-MAX_TURNS);
      await this.context.workspaceState.update(TURNS_KEY, this.turns);
      return record;
    }
    const choice = cb.llmOverride === undefined ? await this.chooseProvider() : { llm: cb.llmOverride ?? undefined, label: cb.llmOverride?.label ?? 'quoted answers (no model)' };
    const pending: TurnView = {
      id,
      question,
      answer: '',
      citations: [],
      sources: [],
      flags: { weakContext: false, stale: false, truncated: false, cut: false, extractive: !choice.llm },
      provider: choice.label,
      integrity: '',
      pending: true,
      stage: 'searching',
      ...(attachmentView ? { attachment: attachmentView } : {}),
    };
    this.current = pending;
    cb.onStart?.(pending);
    // On a first index, questions are answered once the open files are indexed, with a note on the rest.
    await this.index.whenSearchable();
    await this.index.settle();
    const indexing = this.index.indexingNote();
    const history: Turn[] = cb.history ?? (cb.useHistory === false ? [] : this.turns.slice(-4)).map((t) => ({ question: t.view.question, answer: t.view.answer }));
    let result: AnswerResult | undefined;
    const problem = 'problem' in choice ? choice.problem : undefined;
    let error: ErrorView | undefined = problem;
    try {
      const settings = readSettings();
      result = await answerQuestion(
        this.index.requireClient().retriever((p) => this.index.absolutePath(p)),
        question,
        {
          llm: choice.llm,
          history,
          k: settings.topK,
          signal: controller.signal,
          attachment: att,
          onSources: () => {
            // Retrieval is done: what remains is the model (or quoting), and the view says so.
            pending.stage = 'answering';
            cb.onStart?.({ ...pending });
          },
          onToken: (d) => {
            pending.answer += d;
            cb.onDelta?.(id, d);
          },
          // The panel says "quoted, no model" and shows model errors in their own box: the answer
          // text repeats neither.
          noModelNote: '',
          modelErrorNote: () => '',
        },
      );
      if (result.error) error = errorView(result.error.kind, result.error.message);
    } catch (err) {
      const stopped = err instanceof LlmError && err.kind === 'aborted';
      error = stopped ? undefined : errorView(err instanceof LlmError ? err.kind : 'error', errMessage(err));
      if (!stopped) this.log.error(`Answer failed: ${errMessage(err)}`);
    } finally {
      if (this.running === controller) this.running = undefined;
      if (this.current === pending) this.current = undefined;
    }
    const record = this.toRecord(id, question, choice.label, result, error, controller.signal.aborted, pending.answer);
    if (indexing && result) record.view.searchNote = [indexing, record.view.searchNote].filter(Boolean).join(' ');
    if (attachmentView) record.view.attachment = attachmentView;
    if (att) record.attachment = att;
    this.turns = [...this.turns, record].slice(-MAX_TURNS);
    await this.context.workspaceState.update(TURNS_KEY, this.turns);
    if (result) await this.remember(record, result);
    return record;
  }

  private toRecord(id: string, question: string, provider: string, r: AnswerResult | undefined, error: ErrorView | undefined, stopped: boolean, partial: string): TurnRecord {
    const citations = r?.citations ?? [];
    const view: TurnView = {
      id,
      question,
      // A stopped turn keeps what had streamed; its "Stopped." note says the rest.
      answer: r?.answer ?? partial,
      citations: citations.map((c, i) => ({
        id: i,
        n: c.n,
        label: c.path ? `${c.path}:L${c.startLine}-L${c.endLine}` : c.marker,
        status: c.status,
        reason: c.reason,
        support: c.support,
        ...(c.missing?.length ? { missing: c.missing } : {}),
      })),
      sources: (r?.sources ?? []).map((s) => ({ n: s.n, label: `${s.path}:L${s.startLine}-L${s.endLine}`, score: s.score, retrievers: s.retrievers })),
      // Without a result nothing was quoted either: the turn failed or was stopped.
      flags: r?.flags ?? { weakContext: false, stale: false, truncated: false, cut: false, extractive: false },
      provider: r?.provider.label ?? provider,
      integrity: r ? `${r.citationIntegrity.verified}/${r.citationIntegrity.total}` : '',
      error,
      ...(stopped && !r ? { stopped: true } : {}),
      ...(r?.search && coverageNote(r.search) ? { searchNote: coverageNote(r.search) } : {}),
    };
    return {
      view,
      citations,
      sources: (r?.sources ?? []).map(({ text, ...s }) => ({ ...s, textHash: hash16(text) })),
      at: Date.now(),
    };
  }

  /** Stores verified cited ranges for hovers (bounded, newest kept). */
  private async remember(record: TurnRecord, r: AnswerResult): Promise<void> {
    const entries: CitedRange[] = [];
    for (const c of r.citations) {
      if (c.status === 'invalid' || !c.path || c.startLine === undefined || c.endLine === undefined) continue;
      const src = r.sources.find((s) => s.n === c.n);
      if (!src) continue;
      const excerpt = excerptAround(r.answer, c.offset);
      if (entries.some((e) => e.path === c.path && e.startLine === c.startLine && e.endLine === c.endLine)) continue;
      // Hash exactly the cited lines as the model saw them (a path mention may cite part of a source).
      const cited = src.text
        .split('\n')
        .slice(c.startLine - src.startLine, c.endLine - src.startLine + 1)
        .join('\n');
      entries.push({ path: c.path, startLine: c.startLine, endLine: c.endLine, turnId: record.view.id, question: r.question, excerpt, textHash: hash16(cited), at: Date.now() });
    }
    if (!entries.length) return;
    this.cited = [...this.cited, ...entries].slice(-MAX_CITED);
    await this.context.workspaceState.update(CITED_KEY, this.cited);
    this.changed.fire();
  }

  dispose(): void {
    this.stop();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * The paragraph of an answer that holds a citation marker, as plain prose for the hover: code
 * fences dropped, whitespace folded, at most ~300 characters centred on the marker.
 */
export function excerptAround(answer: string, offset: number): string {
  const start = answer.lastIndexOf('\n\n', offset);
  const end = answer.indexOf('\n\n', offset);
  const para = answer.slice(start < 0 ? 0 : start + 2, end < 0 ? answer.length : end);
  const prose = para
    .split('\n')
    .filter((l) => !/^\s*(```|~~~)/.test(l))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (prose.length <= 300) return prose;
  const at = Math.max(0, offset - (start < 0 ? 0 : start + 2) - 150);
  return `…${prose.slice(at, at + 300)}…`;
}

/** An error for the UI, with the action that fixes it. */
export function errorView(kind: string, message: string): ErrorView {
  const action =
    kind === 'auth'
      ? ({ id: 'setApiKey', label: 'Set API Key' } as const)
      : kind === 'not-found' || kind === 'unreachable' || kind === 'bad-request' || kind === 'config'
        ? ({ id: 'openSettings', label: 'Open Settings' } as const)
        : undefined;
  return { kind, message, action };
}
