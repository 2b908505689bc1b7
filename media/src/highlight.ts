/**
 * Syntax highlighting of code in answers and previews: highlight.js's core with the languages
 * Groundwork indexes plus the usual companions (shell, JSON, YAML, HTML/XML, CSS, SQL, diff,
 * Markdown). No auto-detection: it guesses wrongly on short excerpts and costs a pass per language.
 * Pure (no DOM), so it runs in the webview bundle and in Node unit tests.
 *
 * The output is highlight.js's HTML: the code escaped, with `<span class="hljs-…">` around tokens;
 * main.css colours the classes with --vscode-* variables so every theme applies.
 */
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, c, cpp, csharp, css, diff, go, java, javascript, json, markdown, php, python, ruby, rust, sql, typescript, xml, yaml };
for (const [name, def] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, def);

/** Fence info strings and index language ids that name a registered language another way. */
const ALIASES: Record<string, string> = {
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  js: 'javascript',
  jsx: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  py: 'python',
  rs: 'rust',
  golang: 'go',
  cs: 'csharp',
  'c#': 'csharp',
  rb: 'ruby',
  'c++': 'cpp',
  cc: 'cpp',
  h: 'c',
  hpp: 'cpp',
  sh: 'bash',
  shell: 'bash',
  zsh: 'bash',
  console: 'bash',
  yml: 'yaml',
  md: 'markdown',
  html: 'xml',
  svg: 'xml',
  jsonc: 'json',
  patch: 'diff',
};

/** The registered language for a fence info string or index language id, if any. */
export function languageOf(id: string): string | undefined {
  const key = id.trim().toLowerCase();
  const name = ALIASES[key] ?? key;
  return hljs.getLanguage(name) ? name : undefined;
}

/** Longest code highlighted (characters); longer blocks are shown plain so rendering stays quick. */
export const MAX_HIGHLIGHT_CHARS = 50_000;

/**
 * The code as HTML: highlighted when the language is known, else only escaped. Never throws (a
 * grammar error falls back to plain text).
 */
export function highlightCode(code: string, language: string, escape: (text: string) => string): string {
  const lang = languageOf(language);
  if (!lang || code.length > MAX_HIGHLIGHT_CHARS) return escape(code);
  try {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  } catch {
    return escape(code);
  }
}
