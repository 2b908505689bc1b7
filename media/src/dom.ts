/**
 * A tiny element builder. Everything the webview shows is built with it from text nodes and
 * attributes, never from HTML strings; the one exception is the sanitized markdown of an answer
 * (render.ts).
 */

/** Attributes for {@link h}: `class`, `text` (textContent), anything else via setAttribute; `false`/`undefined` skip. */
export type Attrs = Record<string, string | number | boolean | undefined>;

/** A child: an element, a text (made a text node) or nothing. */
export type Child = Node | string | false | null | undefined;

/** Creates `<tag>` with attributes and children; strings become text nodes, never markup. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') el.textContent = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children) if (c) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/** A codicon glyph; decorative, so hidden from assistive technology. */
export function icon(name: string, extra = ''): HTMLSpanElement {
  return h('span', { class: `codicon codicon-${name}${extra ? ` ${extra}` : ''}`, 'aria-hidden': 'true' });
}
