import { strict as assert } from 'node:assert';
import { MAX_QUESTION_CHARS, MAX_WEBVIEW_MESSAGE_BYTES, parseHostMessage, parseWebviewMessage, type HostMessage, type StatusView, type TurnView } from '../../src/vscode/protocol';

// Invariant 12 (ARCHITECTURE.md): the webview never sends paths, only ids the host resolves, and
// every message is validated on receipt. These tables feed each validator hostile input.

describe('host ⇄ webview protocol', () => {
  describe('parseWebviewMessage (host side)', () => {
    it('accepts every well-formed message and returns a copy without extra fields', () => {
      const good: Array<[unknown, unknown]> = [
        [{ type: 'ready' }, { type: 'ready' }],
        [{ type: 'stop', extra: '/etc/passwd' }, { type: 'stop' }],
        [{ type: 'newChat' }, { type: 'newChat' }],
        [{ type: 'showHistory' }, { type: 'showHistory' }],
        [
          { type: 'ask', question: 'how are tokens verified?' },
          { type: 'ask', question: 'how are tokens verified?' },
        ],
        [
          { type: 'openCitation', turnId: 't-1', citationId: 0, path: '/etc/passwd' },
          { type: 'openCitation', turnId: 't-1', citationId: 0 },
        ],
        [
          { type: 'openSource', turnId: 't_1', n: 3 },
          { type: 'openSource', turnId: 't_1', n: 3 },
        ],
        [
          { type: 'previewCitation', requestId: 7, turnId: 'a', citationId: 2 },
          { type: 'previewCitation', requestId: 7, turnId: 'a', citationId: 2 },
        ],
        [
          { type: 'runAction', action: 'setApiKey' },
          { type: 'runAction', action: 'setApiKey' },
        ],
        [
          { type: 'retry', turnId: 'a' },
          { type: 'retry', turnId: 'a' },
        ],
        [
          { type: 'insertCode', turnId: 'a', code: 'x()' },
          { type: 'insertCode', turnId: 'a', code: 'x()' },
        ],
        [
          { type: 'openConversation', id: 'c1' },
          { type: 'openConversation', id: 'c1' },
        ],
      ];
      for (const [raw, want] of good) assert.deepEqual(parseWebviewMessage(raw), want, JSON.stringify(raw));
    });

    it('rejects hostile and malformed messages', () => {
      const circular: Record<string, unknown> = { type: 'ready' };
      circular.self = circular;
      const bad: unknown[] = [
        null,
        undefined,
        'ready',
        42,
        [],
        ['ready'],
        {},
        { type: 'READY' },
        { type: 'unknown' },
        { type: ['ready'] },
        circular,
        // Paths or traversal where an id belongs.
        { type: 'openCitation', turnId: '../../etc/passwd', citationId: 0 },
        { type: 'openCitation', turnId: 'src/auth.ts', citationId: 0 },
        { type: 'openSource', turnId: 'a b', n: 1 },
        { type: 'openConversation', id: '/home/u/.ssh/id_rsa' },
        { type: 'retry', turnId: 'x'.repeat(65) },
        { type: 'retry', turnId: '' },
        { type: 'retry', turnId: 1 },
        // Numbers that are not small non-negative integers.
        { type: 'openCitation', turnId: 'a', citationId: -1 },
        { type: 'openCitation', turnId: 'a', citationId: 1.5 },
        { type: 'openCitation', turnId: 'a', citationId: Number.NaN },
        { type: 'openCitation', turnId: 'a', citationId: 10_000 },
        { type: 'openCitation', turnId: 'a', citationId: '0' },
        { type: 'openSource', turnId: 'a', n: Infinity },
        { type: 'previewCitation', requestId: -3, turnId: 'a', citationId: 0 },
        { type: 'previewCitation', turnId: 'a', citationId: 0 },
        // Questions and code.
        { type: 'ask', question: '' },
        { type: 'ask', question: '   \n ' },
        { type: 'ask', question: { toString: () => 'hi' } },
        { type: 'ask', question: 'x'.repeat(MAX_QUESTION_CHARS + 1) },
        { type: 'insertCode', turnId: 'a', code: '' },
        { type: 'insertCode', turnId: 'a', code: 7 },
        // Commands the webview may not name.
        { type: 'runAction', action: 'workbench.action.terminal.new' },
        { type: 'runAction', action: 'groundwork.setApiKey' },
        { type: 'runAction' },
        // Oversized, whatever the type.
        { type: 'ready', padding: 'x'.repeat(MAX_WEBVIEW_MESSAGE_BYTES) },
        { type: 'insertCode', turnId: 'a', code: 'x'.repeat(MAX_WEBVIEW_MESSAGE_BYTES) },
      ];
      for (const raw of bad)
        assert.equal(parseWebviewMessage(raw), undefined, String(JSON.stringify(raw, (_k, v: unknown) => (v === circular && _k ? '[circular]' : v)))?.slice(0, 120));
    });

    it('is not fooled by a prototype-polluting payload', () => {
      const raw = JSON.parse('{"type":"runAction","action":"setApiKey","__proto__":{"action":"evil"}}') as unknown;
      const msg = parseWebviewMessage(raw);
      assert.deepEqual(msg, { type: 'runAction', action: 'setApiKey' });
      assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    });
  });

  describe('parseHostMessage (webview side)', () => {
    const turn: TurnView = {
      id: 't1',
      question: 'q',
      answer: 'a [1]',
      citations: [{ id: 0, n: 1, label: 'src/a.ts:L1-L2', status: 'verified' }],
      sources: [{ n: 1, label: 'src/a.ts:L1-L2', score: 0.5, retrievers: ['lexical'] }],
      flags: { weakContext: false, stale: false, truncated: false, cut: false, extractive: false },
      provider: 'quoted answers',
      integrity: '1/1',
    };
    const status: StatusView = { state: 'Ready', files: 1, chunks: 2, vectors: 'off', provider: 'quoted answers' };

    it('passes every well-formed message through unchanged', () => {
      const good: HostMessage[] = [
        { type: 'init', turns: [turn], status },
        { type: 'status', status: { state: 'Indexing 1/9 files', files: 1, chunks: 0, vectors: 'partial', provider: 'x', trustNote: 'untrusted' } },
        { type: 'answerStart', turn: { ...turn, pending: true, stage: 'searching' } },
        { type: 'answerDelta', turnId: 't1', delta: 'more ' },
        { type: 'answerDone', turn },
        { type: 'cleared' },
        { type: 'reveal', turnId: 't1' },
        { type: 'preview', requestId: 3, label: 'src/a.ts:L1-L2', language: 'typescript', startLine: 1, lines: ['a', 'b'] },
        { type: 'preview', requestId: 4, label: 'src/a.ts:L1-L2', language: '', startLine: 1, lines: [], note: 'Stale: changed.' },
        { type: 'focusInput' },
        { type: 'focusInput', text: 'draft' },
        { type: 'history', conversations: [{ id: 'c1', title: 'q', at: 1, turns: 2 }] },
      ];
      for (const m of good) assert.equal(parseHostMessage(m), m, m.type);
    });

    it('drops hostile and malformed messages before they reach the DOM', () => {
      const bad: unknown[] = [
        null,
        'init',
        [],
        { type: 'boom' },
        { type: 'init' },
        { type: 'init', turns: 'x', status },
        { type: 'init', turns: [], status: null },
        { type: 'init', turns: [], status: [] },
        { type: 'status' },
        { type: 'status', status: 'Ready' },
        { type: 'answerStart' },
        { type: 'answerStart', turn: null },
        { type: 'answerDone', turn: { ...turn, id: '<img src=x onerror=alert(1)>' } },
        { type: 'answerDone', turn: { ...turn, id: 5 } },
        { type: 'answerDelta', turnId: 't1' },
        { type: 'answerDelta', turnId: 't1', delta: { html: '<script>' } },
        { type: 'answerDelta', turnId: '../x', delta: 'a' },
        { type: 'reveal', turnId: '' },
        { type: 'reveal' },
        { type: 'preview', requestId: 1, label: 'l', language: 'ts', startLine: 0, lines: [] },
        { type: 'preview', requestId: 1, label: 'l', language: 'ts', startLine: 1, lines: ['ok', 42] },
        { type: 'preview', requestId: 1, label: 'l', language: 'ts', startLine: 1, lines: 'a\nb' },
        { type: 'preview', requestId: 1, label: { toString: () => 'x' }, language: 'ts', startLine: 1, lines: [] },
        { type: 'preview', requestId: 1, label: 'l', language: 'ts', startLine: 1, lines: [], note: 3 },
        { type: 'focusInput', text: ['a'] },
        { type: 'history' },
        { type: 'history', conversations: {} },
      ];
      for (const raw of bad) assert.equal(parseHostMessage(raw), undefined, JSON.stringify(raw));
    });
  });
});
