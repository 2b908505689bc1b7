/**
 * The chat webview's Content-Security-Policy, in one place: scripts only by nonce, styles, fonts and
 * images only from `source` (the webview's `cspSource` in VS Code; `'self'` in media/preview.html,
 * which a unit test keeps equal), nothing else. Pure and import-free, so tests can check it.
 */
export function chatViewCsp(nonce: string, source: string): string {
  return ["default-src 'none'", `script-src 'nonce-${nonce}'`, `style-src ${source}`, `font-src ${source}`, `img-src ${source}`].join('; ');
}
