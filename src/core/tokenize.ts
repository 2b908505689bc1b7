/**
 * Code-aware terms for the lexical index.
 *
 * An identifier such as `parseHTTPResponse_v2` yields its whole lower-cased form plus its parts
 * (`parse`, `http`, `response`, `v`, `2`), so a natural-language query ("parse the http response")
 * and an exact identifier query both match. Measured on this machine kind (dependencies.md):
 * BM25 without identifier splitting fell from MRR@10 0.535 to 0.324.
 */

/** Bump when the terms produced for a given text change; stored in the index manifest. */
export const TOKENIZER_VERSION = 2;

// A "word" is a run of identifier characters, allowing inner `-` so kebab-case names (`max-warnings`)
// are kept whole as well as split. `$` is part of JS identifiers.
const WORD = /[A-Za-z0-9_$]+(?:-[A-Za-z0-9_$]+)*/g;

// Boundaries inside an identifier: lower→Upper (`fooBar`), UPPER→Upper+lower (`HTTPResponse`),
// letter↔digit (`v2`, `2d`).
const CAMEL_PARTS = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

/**
 * Words that carry no retrieval signal in code or in questions about code. Kept short on purpose:
 * language keywords such as `function` or `class` are *not* here, because "which class handles X"
 * style questions still rank better without them only via IDF, which BM25 already applies.
 */
const STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'can',
  'do',
  'does',
  'for',
  'from',
  'how',
  'i',
  'if',
  'in',
  'into',
  'is',
  'it',
  'its',
  'me',
  'my',
  'of',
  'on',
  'or',
  'so',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'this',
  'to',
  'was',
  'we',
  'what',
  'when',
  'where',
  'which',
  'who',
  'why',
  'will',
  'with',
  'you',
  'your',
]);

/** Maximum length of a term; longer runs (base64 blobs, hashes) are noise and bloat the index. */
const MAX_TERM_LENGTH = 40;

/**
 * Harman's "S" stemmer: folds English plurals (`todos` → `todo`, `properties` → `property`,
 * `matches` → `match`) and nothing else. Deliberately conservative: -ed/-ing stripping mangles
 * identifiers (`parsed` → `pars`). Measured on the dev set, see docs/evaluation.md.
 */
export function stem(term: string): string {
  if (term.length <= 3) return term;
  if (term.endsWith('ies') && !term.endsWith('eies') && !term.endsWith('aies')) return `${term.slice(0, -3)}y`;
  if (/(?:ss|sh|ch|x|z)es$/.test(term)) return term.slice(0, -2);
  if (term.endsWith('s') && !/(?:ss|us|is|'s)$/.test(term)) return term.slice(0, -1);
  return term;
}

export function isStopword(term: string): boolean {
  return STOPWORDS.has(term);
}

/** Splits one identifier-like word into its lower-cased parts (without the whole word). */
export function splitIdentifier(word: string): string[] {
  const parts: string[] = [];
  for (const piece of word.split(/[-_$]+/)) {
    if (!piece) continue;
    const sub = piece.match(CAMEL_PARTS);
    if (!sub) continue;
    for (const s of sub) parts.push(s.toLowerCase());
  }
  return parts;
}

/**
 * Terms of a text, in order, with repeats (term frequency matters to BM25): for each word, the whole
 * lower-cased word and, when it is a compound, its parts. Stopwords and over-long terms are dropped.
 */
export function codeTerms(text: string): string[] {
  const out: string[] = [];
  WORD.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = WORD.exec(text)) !== null) {
    const word = m[0];
    if (word.length > MAX_TERM_LENGTH) continue;
    const lower = word.toLowerCase();
    if (!STOPWORDS.has(lower)) out.push(stem(lower));
    // Only compounds produce parts: a plain lower-case word is its own single part.
    if (/[-_$]|[a-z][A-Z]|[A-Z]{2}[a-z]|[A-Za-z][0-9]|[0-9][A-Za-z]/.test(word)) {
      const parts = splitIdentifier(word);
      if (parts.length > 1) {
        for (const p of parts) {
          if (p.length > 1 && !STOPWORDS.has(p)) out.push(stem(p));
        }
      }
    }
  }
  return out;
}

/** Terms of a workspace-relative path: every segment, its stem, and the parts of each. */
export function pathTerms(path: string): string[] {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (!segment) continue;
    const dot = segment.lastIndexOf('.');
    const stem = dot > 0 ? segment.slice(0, dot) : segment;
    out.push(...codeTerms(stem));
  }
  return out;
}
