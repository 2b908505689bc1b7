/**
 * DOM for one turn of the transcript: the question, the answer (sanitized markdown with citation
 * chips), flags, an error box with its fix-it action, the Context list and the footer. Event
 * handling is delegated to the transcript container (main.ts); elements carry only ids in data-*
 * attributes, which is all the webview ever sends back.
 */
import type { CitationView, TurnView } from '../../src/vscode/protocol';
import { h, icon } from './dom';
import { allVerified, citationTitle, disambiguate, formatScore, integrityText, renderAnswerHtml, splitLabel, supportText, weaklySupported } from './render';

let nextDomId = 0;

/** Text of the banner shown when retrieval found only weak matches. */
export const WEAK_CONTEXT_TEXT = 'The workspace may not contain an answer to this question: the best matches were weak. Check the sources below.';

function note(iconName: string, text: string, cls: string): HTMLElement {
  return h('div', { class: `note ${cls}` }, icon(iconName), h('span', { text }));
}

/** Fills the answer element from the turn's markdown (innerHTML is set only from render.ts and highlight.ts output, both escaped). */
export function renderAnswerInto(answerEl: HTMLElement, turn: TurnView): void {
  // renderAnswerHtml escapes all raw HTML and emits no href/src/style (see render.ts).
  answerEl.innerHTML = renderAnswerHtml(turn.answer, turn.citations, { pending: turn.pending === true });
  answerEl.setAttribute('aria-busy', turn.pending ? 'true' : 'false');
  const waiting = turn.pending === true && !turn.answer;
  answerEl.classList.toggle('empty', waiting);
  if (waiting) answerEl.replaceChildren(h('span', { class: 'thinking' }, icon('loading', 'codicon-modifier-spin'), ` ${waitingText(turn)}`));
}

/** What a pending turn without text is waiting for, true to its stage. */
export function waitingText(turn: TurnView): string {
  if (turn.stage !== 'answering') return 'Searching the workspace…';
  return turn.flags.extractive ? 'Quoting the sources…' : `Waiting for ${turn.provider || 'the model'}…`;
}

/** One entry per cited source (the first citation of each), in order of first appearance. */
export function references(turn: TurnView): Array<{ citation: CitationView; name: string; lines: string; weak: boolean }> {
  const byKey = new Map<string, CitationView[]>();
  for (const c of turn.citations) {
    const key = c.n !== undefined ? `n${c.n}` : c.label;
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  const names = disambiguate(turn.citations.map((c) => splitLabel(c.label).path));
  return [...byKey.values()].map((group) => {
    const first = group[0]!;
    const { path, lines } = splitLabel(first.label);
    // The entry shows the worst state of its citations: one stale or weak use taints the source.
    const worst = group.find((c) => c.status !== 'verified') ?? group.find(weaklySupported) ?? first;
    return { citation: worst, name: names.get(path) ?? path, lines, weak: group.some(weaklySupported) };
  });
}

function referencesSection(turn: TurnView): HTMLElement | undefined {
  if (turn.pending || !turn.citations.length) return undefined;
  const refs = references(turn);
  const items = refs.map(({ citation: c, name, lines, weak }) => {
    const status = c.status === 'verified' || c.status === 'stale' ? c.status : 'invalid';
    const why = status === 'verified' ? (weak ? supportText(c) : '') : (c.reason ?? '');
    const label = h('span', { class: 'ref-label' }, h('span', { class: 'ref-file', text: name }), h('span', { class: 'ref-lines', text: lines }));
    const mark = status === 'stale' ? icon('history') : status === 'invalid' ? icon('error') : weak ? icon('warning') : icon('check');
    const open =
      status === 'invalid'
        ? h('span', { class: 'ref-open ref-invalid', title: citationTitle(c) }, h('span', { class: 'ref-n', text: String(c.n ?? '?') }), label)
        : h(
            'button',
            {
              type: 'button',
              class: `ref-open chip-ref`,
              'data-citation-id': c.id,
              'data-status': status,
              title: citationTitle(c),
              'aria-label': `Reference ${c.n ?? ''}: ${citationTitle(c)}`,
            },
            h('span', { class: 'ref-n', text: String(c.n ?? '·') }),
            label,
          );
    return h('li', { class: `ref ref-${status}${weak ? ' ref-weak' : ''}` }, mark, open, why ? h('span', { class: 'ref-why', text: why }) : undefined);
  });
  const details = h(
    'details',
    { class: 'references' },
    h('summary', {}, h('span', { text: `Used ${refs.length} reference${refs.length === 1 ? '' : 's'}` })),
    h('ul', { class: 'refs' }, ...items),
  );
  // Open by default: the references are the proof; Context (what was retrieved) stays folded.
  details.open = true;
  return details;
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
    h(
      'summary',
      {},
      h('span', { text: 'Context' }),
      // Without a model nothing "saw" the sources: they were retrieved and quoted.
      h('span', { class: 'muted', text: ` · ${turn.sources.length} source${turn.sources.length === 1 ? '' : 's'} ${turn.flags.extractive ? 'retrieved' : 'the model saw'}` }),
    ),
    h('ol', { class: 'sources' }, ...items),
  );
  details.open = open;
  return details;
}

function footer(turn: TurnView): HTMLElement | undefined {
  if (turn.pending) {
    // Says that more is coming once text has started (before that the answer shows "Searching…").
    return h(
      'footer',
      { class: 'turn-footer' },
      h('span', { class: 'thinking', title: 'Citations are checked when the answer is complete' }, icon('loading', 'codicon-modifier-spin'), h('span', { text: 'Answering…' })),
    );
  }
  const parts: HTMLElement[] = [];
  // A quoted answer's note already says there was no model; a no-folder turn had no provider.
  if (turn.provider && !turn.flags.extractive && turn.error?.kind !== 'no-folder') parts.push(h('span', { class: 'provider', text: turn.provider }));
  // "no citations" says nothing useful under an error box.
  if (turn.integrity && !(turn.error && turn.citations.length === 0)) {
    const problems = turn.citations.filter((c) => c.status !== 'verified');
    const ok = turn.citations.length ? problems.length === 0 : allVerified(turn.integrity);
    parts.push(
      h(
        'span',
        { class: `integrity${ok ? ' ok' : problems.length ? ' warn' : ''}`, title: problems.length ? problems.map(citationTitle).join('\n') : undefined },
        icon(ok && !turn.citations.some(weaklySupported) ? 'verified' : problems.length || turn.citations.some(weaklySupported) ? 'warning' : 'info'),
        h('span', { text: integrityText(turn.integrity, turn.citations) }),
      ),
    );
  }
  parts.push(
    h(
      'span',
      { class: 'turn-actions' },
      h('button', { type: 'button', class: 'icon-button turn-retry', title: 'Ask again', 'aria-label': 'Ask again' }, icon('refresh')),
      h('button', { type: 'button', class: 'icon-button turn-edit', title: 'Edit the question', 'aria-label': 'Edit the question' }, icon('edit')),
      turn.answer ? h('button', { type: 'button', class: 'icon-button turn-copy', title: 'Copy the answer', 'aria-label': 'Copy the answer' }, icon('copy')) : undefined,
    ),
  );
  return h('footer', { class: 'turn-footer' }, ...parts);
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
  const staleNow = f.stale || turn.citations.some((c) => c.status === 'stale');
  if (staleNow) notes.push(note('history', 'Some cited files changed since this answer: their citations are marked stale.', 'note-warn'));
  // One line for the no-model state; with an error box it says only what happened instead.
  if (f.extractive && !turn.stopped && !turn.pending)
    notes.push(note('quote', turn.error ? 'Quoted from the sources instead.' : 'Quoted from the sources: no language model is configured.', 'note-muted'));
  if (turn.stopped) notes.push(note('debug-stop', 'Stopped.', 'note-muted'));
  if (turn.searchNote && !turn.pending) notes.push(note('search', turn.searchNote, 'note-muted'));
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
    h(
      'div',
      { class: 'question', id: qid },
      h('span', { class: 'visually-hidden', text: 'Question: ' }),
      h('span', { class: 'question-text', text: turn.question }),
      turn.attachment
        ? h('span', { class: 'attachment', title: `Asked about ${turn.attachment.label}` }, icon('file-code'), h('span', { text: turn.attachment.label }))
        : undefined,
    ),
    f.weakContext ? h('div', { class: 'banner banner-warn' }, icon('warning'), h('span', { text: WEAK_CONTEXT_TEXT })) : undefined,
    answer,
    errorBox,
    notes.length ? h('div', { class: 'notes' }, ...notes) : undefined,
    referencesSection(turn),
    contextSection(turn, contextOpen),
    footer(turn),
  );
  return article;
}
