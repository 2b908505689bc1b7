import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chatViewCsp } from '../../src/vscode/webviewCsp';
import { repoRoot } from '../repoRoot';

describe('chat webview CSP', () => {
  it('allows scripts only by nonce and everything else only from the given source', () => {
    const csp = chatViewCsp('abc', 'https://x.vscode-cdn.net');
    assert.equal(csp, "default-src 'none'; script-src 'nonce-abc'; style-src https://x.vscode-cdn.net; font-src https://x.vscode-cdn.net; img-src https://x.vscode-cdn.net");
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  });

  it('media/preview.html carries the same policy, so a violation in the preview is one in VS Code', () => {
    const html = readFileSync(path.join(repoRoot(), 'media', 'preview.html'), 'utf8');
    // Whitespace and a self-closing slash allowed, so formatting the file does not defeat the check.
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/.exec(html)?.[1];
    assert.equal(meta, chatViewCsp('groundwork-preview', "'self'"));
  });
});
