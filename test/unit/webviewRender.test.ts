import { strict as assert } from 'node:assert';
import { highlightCode, languageOf } from '../../media/src/highlight';
import { citationTitle, disambiguate, escapeHtml, renderAnswerHtml, integrityText, shortLabel, formatScore } from '../../media/src/render';
import { references, waitingText } from '../../media/src/turnView';
import { applyHostMessage, MAX_TURNS, normalizeConversations, normalizeTurn, readPersisted } from '../../media/src/transcript';
import { parseContextRefs } from '../../src/vscode/contextRefs';
import { parseWebviewMessage } from '../../src/vscode/protocol';
import type { CitationView, TurnView } from '../../src/vscode/protocol';

const CITES: CitationView[] = [
  { id: 0, n: 1, label: 'src/auth/token.ts:L10-L24', status: 'verified' },
  { id: 1, n: 2, label: 'src/auth/session.ts:L3-L9', status: 'stale', reason: 'the file changed since it was indexed' },
  { id: 2, n: 3, label: '[3]', status: 'invalid', reason: 'there is no source [3] (the answer had 2)' },
];

/** Every tag name the HTML opens. */
function tags(html: string): string[] {
  return [...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());
}

/** The attributes of every opened tag, as `name` strings. */
function attributeNames(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<[a-zA-Z][\w-]*((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    for (const a of m[1]!.matchAll(/([\w:-]+)(?:="[^"]*")?/g)) out.push(a[1]!.toLowerCase());
  }
  return out;
}

/** Asserts the HTML has no active content: no script/img/a/iframe elements, no href/src/style/on* attributes. */
function assertInert(html: string): void {
  const bad = tags(html).filter((t) => ['script', 'img', 'a', 'iframe', 'object', 'embed', 'svg', 'style', 'link', 'form', 'input'].includes(t));
  assert.deepEqual(bad, [], `unexpected elements in ${html}`);
  const attrs = attributeNames(html).filter((a) => a === 'href' || a === 'src' || a === 'style' || a.startsWith('on') || a === 'srcset' || a === 'formaction');
  assert.deepEqual(attrs, [], `unexpected attributes in ${html}`);
}

function turn(id: string, extra: Partial<TurnView> = {}): TurnView {
  return {
    id,
    question: `q ${id}`,
    answer: '',
    citations: [],
    sources: [],
    flags: { weakContext: false, stale: false, truncated: false, cut: false, extractive: false },
    provider: 'test',
    integrity: '0/0',
    ...extra,
  };
}

describe('webview answer rendering', () => {
  it('escapes raw HTML: script, img with onerror, javascript: anchors', () => {
    const md = [
      'Before <script>alert(1)</script> after.',
      '',
      '<img src=x onerror="alert(2)">',
      '',
      '<a href="javascript:alert(3)">click</a>',
      '',
      '<div onclick="alert(4)">block html</div>',
    ].join('\n');
    const html = renderAnswerHtml(md, CITES);
    assertInert(html);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), html);
    assert.ok(html.includes('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;'), html);
    assert.ok(html.includes('&lt;a href=&quot;javascript:alert(3)&quot;&gt;click&lt;/a&gt;'), html);
  });

  it('renders markdown links, autolinks and reference links as inert text', () => {
    const md =
      'See [the docs](https://evil.example/x "t"), [js](javascript:alert(1)), [cmd](command:workbench.action.terminal.new), <https://auto.example> and [ref][r].\n\n[r]: https://ref.example';
    const html = renderAnswerHtml(md, []);
    assertInert(html);
    assert.ok(html.includes('<span class="md-link" title="Links in answers are not opened">the docs</span>'), html);
    assert.ok(html.includes('>js</span>'), html);
    assert.ok(!html.includes('javascript'), html);
    assert.ok(html.includes('>cmd</span>'), html);
    assert.ok(!html.includes('command:'), html);
    assert.ok(html.includes('>https://auto.example</span>'), html);
    assert.ok(html.includes('>ref</span>'), html);
    assert.ok(!html.includes('evil.example'), 'the link target must not appear at all');
    assert.ok(!html.includes('ref.example'), 'a reference definition must not appear at all');
  });

  it('renders images as their alt text and never loads them', () => {
    const html = renderAnswerHtml('![a <b>cat</b>](https://x.example/cat.png) ![](x)', []);
    assertInert(html);
    assert.ok(html.includes('[image: a &lt;b&gt;cat&lt;/b&gt;]'), html);
    assert.ok(html.includes('[image]'), html);
    assert.ok(!html.includes('cat.png'));
  });

  it('does not emit style attributes for aligned table columns (the CSP blocks inline styles)', () => {
    const html = renderAnswerHtml('| a | b |\n|:-:|--:|\n| 1 | 2 |', []);
    assertInert(html);
    assert.match(html, /<th class="align-center">a<\/th>/);
    assert.match(html, /<td class="align-right">2<\/td>/);
  });

  it('turns [n] into a chip with the citation id, number and status', () => {
    const html = renderAnswerHtml('Tokens are signed [1].', CITES);
    assert.match(
      html,
      /<button type="button" class="chip chip-verified" data-citation-id="0" data-n="1" data-status="verified" title="src\/auth\/token.ts:L10-L24 — found \(source in the prompt, lines unchanged\)"[^>]*>1<\/button>/,
    );
    assertInert(html);
  });

  it('marks a stale chip with the warning class and tooltip, and disables an invalid one', () => {
    const html = renderAnswerHtml('Sessions [2] and [3].', CITES);
    assert.match(html, /class="chip chip-stale" data-citation-id="1"[^>]*title="src\/auth\/session.ts:L3-L9 — stale: the file changed since it was indexed/);
    const invalid = /<button [^>]*class="chip chip-invalid"[^>]*>/.exec(html)?.[0];
    assert.ok(invalid, html);
    assert.match(invalid, /\sdisabled[\s>]/);
    assert.match(invalid, /data-citation-id="2"/);
    assert.match(invalid, /title="\[3\] — not a valid citation: there is no source \[3\] \(the answer had 2\)"/);
  });

  it('leaves [n] literal inside code spans and code blocks', () => {
    const html = renderAnswerHtml('Use `arr [1]` here.\n\n```ts\nconst x = [1];\nfoo([1]);\n```\n\n    indented [1]\n', CITES);
    assert.ok(!html.includes('class="chip'), html);
    assert.ok(html.includes('<code>arr [1]</code>'), html);
    const text = html.replace(/<[^>]+>/g, '');
    assert.ok(text.includes('const x = [1];'), html);
    assert.ok(text.includes('indented [1]'), html);
  });

  it('leaves [7] literal when the host sent no such citation', () => {
    const html = renderAnswerHtml('Nothing backs this [7].', CITES);
    assert.ok(!html.includes('chip'), html);
    assert.ok(html.includes('this [7].'), html);
  });

  it('splits [1, 2] into two chips and skips indexing and link forms like the host parser', () => {
    const html = renderAnswerHtml('Both [1, 2]. Not arr[1] nor [1](x).', CITES);
    assert.equal((html.match(/class="chip /g) ?? []).length, 2, html);
    assert.ok(html.includes('arr[1]'), html);
  });

  it('maps the k-th [n] to the k-th citation numbered n', () => {
    const cites: CitationView[] = [
      { id: 0, n: 1, label: 'a.ts:L1-L2', status: 'verified' },
      { id: 1, n: 1, label: 'a.ts:L1-L2', status: 'verified' },
    ];
    const html = renderAnswerHtml('First [1], again [1], and once more [1].', cites);
    assert.deepEqual(
      [...html.matchAll(/data-citation-id="(\d+)"/g)].map((m) => m[1]),
      ['0', '1', '1'],
    );
  });

  it('renders [n] as a disabled placeholder while the answer streams', () => {
    const html = renderAnswerHtml('Partial answer [1] and [9', [], { pending: true });
    assert.match(html, /<button type="button" class="chip chip-pending" disabled[^>]*>1<\/button>/);
    assert.ok(html.includes('[9'), html);
    assert.ok(!html.includes('data-citation-id'), 'placeholders carry no id to send back');
  });

  it('escapes citation labels and reasons that contain markup', () => {
    const cites: CitationView[] = [{ id: 0, n: 1, label: 'src/<img src=x onerror=alert(1)>.ts:L1-L2', status: 'invalid', reason: '"><script>alert(1)</script>' }];
    const html = renderAnswerHtml('x [1]', cites);
    assertInert(html);
    assert.ok(!html.includes('<script'), html);
    assert.ok(!html.includes('<img'), html);
  });

  it('gives code blocks a language label and a copy button, with an untrusted info string sanitized', () => {
    const html = renderAnswerHtml('```ts\nlet a = 1 < 2;\n```\n\n```"><script>x</script>\nplain\n```', []);
    assertInert(html);
    assert.equal((html.match(/<button type="button" class="code-copy icon-button"/g) ?? []).length, 2, html);
    assert.ok(html.includes('<span class="code-lang">ts</span>'), html);
    // Highlighted (keyword and number spans), still escaped.
    assert.ok(
      html.includes(
        '<code class="hljs language-ts"><span class="hljs-keyword">let</span> a = <span class="hljs-number">1</span> &lt; <span class="hljs-number">2</span>;\n</code>',
      ),
      html,
    );
    assert.equal((html.match(/class="code-insert icon-button"/g) ?? []).length, 2, 'each block has Insert at Cursor');
    assert.deepEqual(
      [...html.matchAll(/data-block="(\d+)"/g)].map((m) => m[1]),
      ['0', '1'],
    );
    assert.ok(html.includes('<span class="code-lang">text</span>'), html);
  });

  it('formats labels, scores and integrity for display', () => {
    assert.equal(shortLabel('src/core/citations.ts:L64-L78'), 'citations.ts:L64-L78');
    assert.equal(shortLabel('a.ts:L1-L2'), 'a.ts:L1-L2');
    assert.equal(formatScore(0.81234), '0.812');
    assert.equal(integrityText('3/3'), '3/3 citations found');
    assert.equal(integrityText('1/1'), '1/1 citation found');
    assert.equal(integrityText('0/0'), 'no citations');
    const weak: CitationView = { id: 0, n: 1, label: 'a.ts:L1-L2', status: 'verified', support: 'unsupported', missing: ['rateLimit'] };
    assert.equal(integrityText('1/1', [weak]), '1/1 citation found · 1 may not support its claim');
    assert.match(citationTitle(weak), /found, but may not support the claim: the cited lines do not mention “rateLimit”/);
    assert.match(citationTitle(CITES[1]!), /stale: the file changed/);
    // Counted from the citations as they are now: an edit after the answer made one stale.
    assert.equal(integrityText('3/3', CITES), '1/3 citations found · 1 stale');
  });

  it('renders adjacent markers [1][2] and [1] [2] as one chip each, like the host parser', () => {
    const html = renderAnswerHtml('Signed and checked [1][2]. Again [1] [2]. Code m[1][2] is not.', CITES);
    assert.deepEqual(
      [...html.matchAll(/data-citation-id="(\d+)"/g)].map((m) => m[1]),
      ['0', '1', '0', '1'],
    );
    assert.ok(html.includes('m[1][2]'), html);
    assert.ok(!html.includes('[2]</'), 'no marker left as literal text');
  });

  it('shows chips compactly as their number and marks weakly supported ones', () => {
    const html = renderAnswerHtml('A claim [1].', [{ id: 0, n: 1, label: 'src/a.ts:L1-L2', status: 'verified', support: 'partial', missing: ['x_y'] }]);
    assert.match(html, /class="chip chip-verified chip-weak"[^>]*><span class="codicon codicon-warning" aria-hidden="true"><\/span>1<\/button>/);
  });

  it('tells files with the same name apart by their shortest distinct folder suffix', () => {
    const names = disambiguate(['router/trie/router.ts', 'router/regexp/router.ts', 'src/index.ts', 'a/x/util.ts', 'b/x/util.ts']);
    assert.equal(names.get('router/trie/router.ts'), 'trie/router.ts');
    assert.equal(names.get('router/regexp/router.ts'), 'regexp/router.ts');
    assert.equal(names.get('src/index.ts'), 'index.ts');
    assert.equal(names.get('a/x/util.ts'), 'a/x/util.ts');
    assert.equal(names.get('b/x/util.ts'), 'b/x/util.ts');
  });

  it('lists each cited source once in "Used N references", with the worst state of its uses', () => {
    const t = turn('r', {
      citations: [
        { id: 0, n: 1, label: 'router/trie/router.ts:L1-L9', status: 'verified', support: 'supported' },
        { id: 1, n: 2, label: 'router/regexp/router.ts:L4-L8', status: 'verified', support: 'supported' },
        { id: 2, n: 1, label: 'router/trie/router.ts:L1-L9', status: 'verified', support: 'unsupported', missing: ['lookup'] },
      ],
    });
    const refs = references(t);
    assert.deepEqual(
      refs.map((r) => [r.citation.n, r.name, r.lines, r.weak]),
      [
        [1, 'trie/router.ts', ':L1-L9', true],
        [2, 'regexp/router.ts', ':L4-L8', false],
      ],
    );
  });

  it('says what a pending turn waits for', () => {
    assert.equal(waitingText(turn('w', { pending: true, stage: 'searching' })), 'Searching the workspace…');
    assert.equal(waitingText(turn('w', { pending: true, stage: 'answering', provider: 'gpt-4o-mini' })), 'Waiting for gpt-4o-mini…');
    assert.equal(
      waitingText(turn('w', { pending: true, stage: 'answering', flags: { weakContext: false, stale: false, truncated: false, cut: false, extractive: true } })),
      'Quoting the sources…',
    );
  });

  it('highlights known languages and only escapes unknown ones', () => {
    assert.equal(languageOf('py'), 'python');
    assert.equal(languageOf('TSX'), 'typescript');
    assert.equal(languageOf('brainfuck'), undefined);
    assert.match(highlightCode('def f(): return "<b>"', 'python', escapeHtml), /<span class="hljs-keyword">def<\/span>.*<span class="hljs-string">&quot;&lt;b&gt;&quot;<\/span>/);
    assert.equal(highlightCode('<b>', 'nope', escapeHtml), '&lt;b&gt;');
  });
});

describe('webview transcript state', () => {
  it('normalizes the history list and validates the messages that open it', () => {
    assert.deepEqual(normalizeConversations([{ id: 'c1', title: 'Where is X?', at: 5, turns: 2 }, { id: '../x', title: 'bad id' }, 'junk']), [
      { id: 'c1', title: 'Where is X?', at: 5, turns: 2 },
    ]);
    assert.deepEqual(normalizeConversations(undefined), []);
    assert.deepEqual(parseWebviewMessage({ type: 'openConversation', id: 'c1' }), { type: 'openConversation', id: 'c1' });
    assert.equal(parseWebviewMessage({ type: 'openConversation', id: '/etc/passwd' }), undefined);
    assert.deepEqual(parseWebviewMessage({ type: 'retry', turnId: 't1' }), { type: 'retry', turnId: 't1' });
    assert.equal(parseWebviewMessage({ type: 'insertCode', turnId: 't1', code: '' }), undefined);
    assert.deepEqual(parseWebviewMessage({ type: 'runAction', action: 'openFolder' }), { type: 'runAction', action: 'openFolder' });
  });

  it('applies answerStart, answerDelta and answerDone in order', () => {
    let turns = applyHostMessage([], { type: 'answerStart', turn: turn('t1') })!;
    assert.equal(turns[0]!.pending, true);
    turns = applyHostMessage(turns, { type: 'answerDelta', turnId: 't1', delta: 'Hello ' })!;
    turns = applyHostMessage(turns, { type: 'answerDelta', turnId: 't1', delta: 'world [1]' })!;
    assert.equal(turns[0]!.answer, 'Hello world [1]');
    assert.equal(applyHostMessage(turns, { type: 'answerDelta', turnId: 'nope', delta: 'x' }), undefined);
    turns = applyHostMessage(turns, { type: 'answerDone', turn: turn('t1', { answer: 'Hello world [1]', citations: [CITES[0]!], integrity: '1/1' }) })!;
    assert.equal(turns.length, 1);
    assert.equal(turns[0]!.pending, undefined);
    assert.equal(turns[0]!.citations.length, 1);
    assert.deepEqual(applyHostMessage(turns, { type: 'cleared' }), []);
  });

  it('keeps only the newest MAX_TURNS turns', () => {
    const many = Array.from({ length: MAX_TURNS + 5 }, (_, i) => turn(`t${i}`));
    const turns = applyHostMessage([], { type: 'init', turns: many, status: { state: 'Ready', files: 1, chunks: 1, vectors: 'off', provider: 'x' } })!;
    assert.equal(turns.length, MAX_TURNS);
    assert.equal(turns[0]!.id, 't5');
  });

  it('normalizes malformed turns and saved state instead of trusting their shape', () => {
    assert.equal(normalizeTurn({ question: 'no id' }), undefined);
    const t = normalizeTurn({
      id: 'x',
      question: 42,
      answer: null,
      citations: [{ id: 'a' }, { id: 0, status: 'weird', label: 'a.ts:L1' }],
      sources: 'no',
      flags: null,
      error: { message: 'boom', action: { id: 'rm -rf', label: 'x' } },
    })!;
    assert.equal(t.question, '');
    assert.equal(t.answer, '');
    assert.deepEqual(t.citations, [{ id: 0, label: 'a.ts:L1', status: 'invalid' }]);
    assert.deepEqual(t.sources, []);
    assert.equal(t.error?.message, 'boom');
    assert.equal(t.error?.action, undefined, 'an unknown action id is dropped');
    assert.deepEqual(readPersisted(undefined), { v: 1, turns: [] });
    assert.deepEqual(readPersisted({ v: 2, turns: [turn('a')] }), { v: 1, turns: [] });
    assert.equal(readPersisted({ v: 1, turns: [turn('a'), { bad: true }], draft: 'hi' }).turns.length, 1);
  });
});

describe('#file and #selection in questions', () => {
  it('strips the references it recognises and reports each once', () => {
    assert.deepEqual(parseContextRefs('what does #selection do? #selection'), { question: 'what does do?', refs: ['selection'] });
    assert.deepEqual(parseContextRefs('#file how is this tested'), { question: 'how is this tested', refs: ['file'] });
    assert.deepEqual(parseContextRefs('compare #file and #selection'), { question: 'compare and', refs: ['file', 'selection'] });
    assert.deepEqual(parseContextRefs('issue#file #files #selection2 stay'), { question: 'issue#file #files #selection2 stay', refs: [] });
  });
});
