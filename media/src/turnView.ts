/**
 * DOM for one turn of the transcript: the question, the answer (sanitized markdown with citation
 * chips), flags, an error box with its fix-it action, the Context list and the footer. Event
 * handling is delegated to the transcript container (main.ts); elements carry only ids in data-*
 * attributes, which is all the webview ever sends back.
 */
import type { TurnView } from '../../src/vscode/protocol';
import { h, icon } from './dom';
import { allVerified, citationTitle, formatScore, integrityText, renderAnswerHtml } from './render';

let nextDomId = 0;

/** Text of the banner shown when retrieval found only weak matches. */
export const WEAK_CONTEXT_TEXT = 'The workspace may not contain an answer to this question: the best matches were weak. Check the sources below.';

function note(iconName: string, text: string, cls: string): HTMLElement {
  return h('div', { class: `note ${cls}` }, icon(iconName), h('span', { text }));
}

/** Fills the answer element from the turn's markdown (the only innerHTML in the webview). */
export function renderAnswerInto(answerEl: HTMLElement, turn: TurnView): void {
  // renderAnswerHtml escapes all raw HTML and emits no href/src/style (see render.ts).
  answerEl.innerHTML = renderAnswerHtml(turn.answer, turn.citations, { pending: turn.pending === true });
  answerEl.setAttribute('aria-busy', turn.pending ? 'true' : 'false');
  const waiting = turn.pending === true && !turn.answer;
  answerEl.classList.toggle('empty', waiting);
  if (waiting) answerEl.replaceChildren(h('span', { class: 'thinking' }, icon('loading', 'codicon-modifier-spin'), ' Searching the workspace…'));
}

function contextSection(turn: TurnView, open: boolean): HTMLElement | undefined {
  if (!turn.sources.length) return undefined;
  const items = turn.sources.map((s) =>
    h(
      'li',
      {},
      h(
        'button',
        { type: 'button', class: 'source-open', 'data-n': s.n, title: `Open ${s.label}`, 'aria-label': `Open source ${s.n}: ${s.label}` },
        h('span', { class: 'source-n', text: `[${s.n}]` }),
        h('span', { class: 'source-label', text: s.label }),
      ),
      h('span', { class: 'source-meta', text: [formatScore(s.score), s.retrievers.join(', ')].filter(Boolean).join(' · ') }),
    ),
  );
  const details = h(
    'details',
    { class: 'context' },
    h('summary', {}, h('span', { text: 'Context' }), h('span', { class: 'muted', text: ` · ${turn.sources.length} source${turn.sources.length === 1 ? '' : 's'} the model saw` })),
    h('ol', { class: 'sources' }, ...items),
  );
  details.open = open;
  return details;
}

function footer(turn: TurnView): HTMLElement | undefined {
  if (turn.pending) {
    // Says that more is coming once text has started (before that the answer shows "Searching…").
    return h('footer', { class: 'turn-footer' }, h('span', { class: 'thinking', title: 'Citations are checked when the answer is complete' }, icon('loading', 'codicon-modifier-spin'), h('span', { text: 'Answering…' })));
  }
  const parts: HTMLElement[] = [];
  if (turn.provider) parts.push(h('span', { class: 'provider', text: turn.provider }));
  // "no citations" says nothing useful under an error box.
  if (turn.integrity && !(turn.error && turn.citations.length === 0)) {
    const problems = turn.citations.filter((c) => c.status !== 'verified');
    const ok = allVerified(turn.integrity);
    parts.push(
      h(
        'span',
        { class: `integrity${ok ? ' ok' : problems.length ? ' warn' : ''}`, title: problems.length ? problems.map(citationTitle).join('\n') : undefined },
        icon(ok ? 'verified' : problems.length ? 'warning' : 'info'),
        h('span', { text: integrityText(turn.integrity) }),
      ),
    );
  }
  return parts.length ? h('footer', { class: 'turn-footer' }, ...parts) : undefined;
}

/** Builds the article for a turn; `contextOpen` keeps a Context section open across re-renders. */
export function renderTurn(turn: TurnView, contextOpen = false): HTMLElement {
  const qid = `q-${nextDomId++}`;
  const answer = h('div', { class: 'answer markdown' });
  renderAnswerInto(answer, turn);
  const f = turn.flags;
  const notes: HTMLElement[] = [];
  if (f.cut) notes.push(note('debug-stop', 'The answer was cut off.', 'note-warn'));
  if (f.truncated) notes.push(note('fold', 'Some sources were shortened to fit the model’s context.', 'note-muted'));
  if (f.stale) notes.push(note('history', 'Some files changed since they were indexed.', 'note-warn'));
  if (f.extractive) notes.push(note('quote', 'Quoted from the sources, no model.', 'note-muted'));
  let errorBox: HTMLElement | undefined;
  if (turn.error) {
    const action = turn.error.action;
    errorBox = h(
      'div',
      { class: 'error-box' },
      icon('error'),
      h(
        'div',
        { class: 'error-body' },
        h('div', { class: 'error-message', text: turn.error.message || 'Something went wrong.' }),
        action ? h('button', { type: 'button', class: 'action-button', 'data-action': action.id, text: action.label }) : undefined,
      ),
    );
  }
  const article = h(
    'article',
    { class: `turn${turn.pending ? ' pending' : ''}`, 'data-turn-id': turn.id, 'aria-labelledby': qid, tabindex: -1 },
    h('div', { class: 'question', id: qid }, h('span', { class: 'visually-hidden', text: 'Question: ' }), h('span', { class: 'question-text', text: turn.question })),
    f.weakContext ? h('div', { class: 'banner banner-warn' }, icon('warning'), h('span', { text: WEAK_CONTEXT_TEXT })) : undefined,
    answer,
    errorBox,
    notes.length ? h('div', { class: 'notes' }, ...notes) : undefined,
    contextSection(turn, contextOpen),
    footer(turn),
  );
  return article;
}
