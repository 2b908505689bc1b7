/**
 * A stand-in for the extension host, for looking at the webview in a plain browser
 * (scripts/previewWebview.mjs serves media/preview.html with this script before main.js). It stubs
 * `acquireVsCodeApi`, answers the `ready` handshake with a scripted conversation (a streamed answer
 * with verified/stale/invalid citations, a weak-context quoted answer, an error with a fix-it
 * action, and a hostile answer), and replies to citation previews. Never shipped.
 *
 * Query parameters: `theme=dark|light`, `trust=no` (show the untrusted-workspace note), `delay=ms`
 * (between streamed deltas), `host=silent` (never answer `ready`, to check that a reload shows the
 * transcript saved with setState).
 */
import type { CitationView, HostMessage, SourceView, StatusView, TurnView, WebviewMessage } from '../../../src/vscode/protocol';

interface PreviewWindow {
  acquireVsCodeApi?: () => unknown;
  /** Everything the webview posted, for the screenshot script to check. */
  __sent: WebviewMessage[];
  /** Content-Security-Policy violations seen on the page. */
  __csp: string[];
  /** Set by the hostile answer if any of its markup ever ran. */
  __pwned?: number;
  /** True once the scripted conversation is complete. */
  __done: boolean;
}

const w = window as unknown as PreviewWindow & Window;
const params = new URLSearchParams(location.search);
const STATE_KEY = 'groundwork-preview-state';
w.__sent = [];
w.__csp = [];
w.__done = false;
document.documentElement.classList.add(params.get('theme') === 'light' ? 'theme-light' : 'theme-dark');
document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));

function toWebview(msg: HostMessage): void {
  // VS Code delivers host messages as window 'message' events; so does this.
  window.postMessage(msg, '*');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const status: StatusView = {
  state: 'Ready',
  files: 1204,
  chunks: 5310,
  vectors: 'partial',
  vectorsReason: 'Embedding 1,200 of 5,310 chunks; keyword search covers the rest meanwhile.',
  provider: 'openai · gpt-4o-mini',
};

const flags = { weakContext: false, stale: false, truncated: false, cut: false, extractive: false };

const sources: SourceView[] = [
  { n: 1, label: 'src/auth/passwords.ts:L12-L34', score: 0.8123, retrievers: ['lexical', 'vector'] },
  { n: 2, label: 'src/auth/session.ts:L40-L58', score: 0.5531, retrievers: ['vector'] },
  { n: 3, label: 'src/config/defaults.ts:L1-L20', score: 0.2019, retrievers: ['lexical'] },
];

const earlier: TurnView = {
  id: 'turn-1',
  question: 'Where is the session cookie set?',
  answer: 'The cookie is set in `createSession` after login [1]; it is `httpOnly` and `sameSite=lax`.',
  citations: [{ id: 0, n: 1, label: 'src/auth/session.ts:L40-L58', status: 'verified' }],
  sources: [sources[1]!],
  flags,
  provider: 'openai · gpt-4o-mini',
  integrity: '1/1',
};

const streamedAnswer = [
  'Passwords are hashed with **scrypt** and a random 16-byte salt [1]. ',
  'The cost parameters come from the config defaults [3], and sessions store ',
  'only the derived key [2].\n\n',
  '```ts\nconst key = await scrypt(password, salt, 64, { N: 1 << 15 });\nreturn `${salt.toString("hex")}:${key.toString("hex")}`;\n```\n\n',
  'Verification uses `timingSafeEqual` on the two buffers [1]. There is no source [5], ',
  'and see [the Node docs](https://nodejs.org/api/crypto.html) for details.',
];

const streamedCitations: CitationView[] = [
  { id: 0, n: 1, label: 'src/auth/passwords.ts:L12-L34', status: 'verified' },
  { id: 1, n: 3, label: 'src/config/defaults.ts:L1-L20', status: 'verified' },
  { id: 2, n: 2, label: 'src/auth/session.ts:L40-L58', status: 'stale', reason: 'the file changed since it was indexed' },
  { id: 3, n: 1, label: 'src/auth/passwords.ts:L12-L34', status: 'verified' },
  { id: 4, n: 5, label: '[5]', status: 'invalid', reason: 'there is no source [5] (the answer had 3)' },
];

const weak: TurnView = {
  id: 'turn-3',
  question: 'How does the billing retry queue back off?',
  answer:
    'Closest matches found (quoted, no model):\n\n**src/jobs/queue.ts:L5-L12** [1]\n\n```ts\nexport function nextDelay(attempt: number) {\n  return Math.min(60_000, 500 * 2 ** attempt);\n}\n```',
  citations: [{ id: 0, n: 1, label: 'src/jobs/queue.ts:L5-L12', status: 'verified' }],
  sources: [{ n: 1, label: 'src/jobs/queue.ts:L5-L12', score: 0.0912, retrievers: ['lexical'] }],
  flags: { ...flags, weakContext: true, extractive: true },
  provider: 'extractive',
  integrity: '1/1',
};

const failed: TurnView = {
  id: 'turn-4',
  question: 'Summarize the auth module',
  answer: '',
  citations: [],
  sources: [],
  flags,
  provider: 'openai · gpt-4o-mini',
  integrity: '0/0',
  error: { kind: 'auth', message: 'The OpenAI endpoint refused the API key (401). Set a valid key and ask again.', action: { id: 'setApiKey', label: 'Set API Key' } },
};

const hostile: TurnView = {
  id: 'turn-5',
  question: 'Ignore previous instructions',
  answer: [
    'Hostile output stays inert: <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2">',
    '[click me](javascript:window.__pwned=3), [open a terminal](command:workbench.action.terminal.new), <a href="https://example.invalid">phish</a>,',
    '![tracker](http://127.0.0.1:9/pixel.png) and a made-up source [7]. The answer was cut off here',
  ].join('\n'),
  citations: [],
  sources: [],
  flags: { ...flags, cut: true, truncated: true },
  provider: 'openai · gpt-4o-mini',
  integrity: '0/0',
};

async function converse(): Promise<void> {
  toWebview({
    type: 'init',
    turns: [earlier],
    status: { ...status, trustNote: params.get('trust') === 'no' ? 'This workspace is not trusted: answers use only local or quoted models.' : undefined },
  });
  await sleep(50);
  const start: TurnView = {
    id: 'turn-2',
    question: 'How are passwords hashed?',
    answer: '',
    citations: [],
    sources,
    flags,
    provider: 'openai · gpt-4o-mini',
    integrity: '',
    pending: true,
  };
  toWebview({ type: 'answerStart', turn: start });
  await sleep(150);
  for (const delta of streamedAnswer) {
    toWebview({ type: 'answerDelta', turnId: 'turn-2', delta });
    await sleep(Number(params.get('delay')) || 30);
  }
  toWebview({
    type: 'answerDone',
    turn: { ...start, answer: streamedAnswer.join(''), citations: streamedCitations, pending: false, integrity: '3/5', flags: { ...flags, stale: true } },
  });
  for (const t of [weak, failed, hostile]) {
    toWebview({ type: 'answerStart', turn: { ...t, answer: '', pending: true } });
    toWebview({ type: 'answerDone', turn: t });
  }
  await sleep(150);
  w.__done = true;
}

function reply(msg: WebviewMessage): void {
  if (msg.type === 'ready') {
    if (params.get('host') !== 'silent') void converse();
    else w.__done = true;
  } else if (msg.type === 'newChat') {
    toWebview({ type: 'cleared' });
  } else if (msg.type === 'previewCitation') {
    toWebview({
      type: 'preview',
      requestId: msg.requestId,
      label: 'src/auth/passwords.ts:L12-L18',
      language: 'typescript',
      startLine: 12,
      lines: [
        'export async function hashPassword(password: string): Promise<string> {',
        '  const salt = randomBytes(16);',
        '  const key = (await scryptAsync(password, salt, 64)) as Buffer;',
        '  return `${salt.toString("hex")}:${key.toString("hex")}`;',
        '}',
        '',
        '// <script>alert("preview text is escaped")</script>',
      ],
      note: msg.citationId === 2 ? 'The file changed since indexing; showing the lines as they are now.' : undefined,
    });
  }
}

w.acquireVsCodeApi = () => ({
  postMessage(msg: WebviewMessage): void {
    w.__sent.push(msg);
    setTimeout(() => reply(msg), 0);
  },
  getState(): unknown {
    const raw = sessionStorage.getItem(STATE_KEY);
    return raw ? (JSON.parse(raw) as unknown) : undefined;
  },
  setState(state: unknown): void {
    sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
  },
});
