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

/** Compound test: only these words produce parts (a plain lower-case word is its own single part). */
const COMPOUND = /[-_$]|[a-z][A-Z]|[A-Z]{2}[a-z]|[A-Za-z][0-9]|[0-9][A-Za-z]/;

/** The terms one word yields: its stemmed lower-cased form (unless a stopword), then its parts. */
function wordTermsUncached(word: string): readonly string[] {
  const out: string[] = [];
  const lower = word.toLowerCase();
  if (!STOPWORDS.has(lower)) out.push(stem(lower));
  if (COMPOUND.test(word)) {
    const parts = splitIdentifier(word);
    if (parts.length > 1) {
      for (const p of parts) {
        if (p.length > 1 && !STOPWORDS.has(p)) out.push(stem(p));
      }
    }
  }
  return out;
}

/**
 * Word → terms, memoised. Code repeats its identifiers, so most words of a file were seen before:
 * on the `npm run bench` corpus the cache turns tokenising (lower-casing, the compound test,
 * splitting, stemming) into one map look-up for most words (docs/benchmarks.md). Bounded: cleared
 * when it holds {@link WORD_CACHE_MAX} words. A pure function of the word, so results are identical.
 */
const WORD_CACHE_MAX = 200_000;
const wordCache = new Map<string, readonly string[]>();

function wordTerms(word: string): readonly string[] {
  let terms = wordCache.get(word);
  if (terms === undefined) {
    terms = wordTermsUncached(word);
    if (wordCache.size >= WORD_CACHE_MAX) wordCache.clear();
    wordCache.set(word, terms);
  }
  return terms;
}

/**
 * Calls `fn` for each term of a text, in order, with repeats; returns how many there were. The
 * allocation-free form of {@link codeTerms}, for the indexer.
 */
export function forEachCodeTerm(text: string, fn: (term: string) => void): number {
  const re = new RegExp(WORD.source, 'g');
  let n = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const word = m[0];
    if (word.length > MAX_TERM_LENGTH) continue;
    const terms = wordTerms(word);
    for (let i = 0; i < terms.length; i++) fn(terms[i]!);
    n += terms.length;
  }
  return n;
}

/**
 * Terms of a text, in order, with repeats (term frequency matters to BM25): for each word, the whole
 * lower-cased word and, when it is a compound, its parts. Stopwords and over-long terms are dropped.
 */
export function codeTerms(text: string): string[] {
  const out: string[] = [];
  forEachCodeTerm(text, (t) => out.push(t));
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
