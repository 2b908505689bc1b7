import { strict as assert } from 'node:assert';
import { titlePairs, titlePairsFound } from '../../src/core/retrieval';
import { seededRandom } from '../../src/core/random.mjs';

// titlePairsFound (retrieval.ts) counts the title's word pairs found in a file's chunks with one
// joined text and a lower-case word check first; it must count exactly what testing every pattern on
// every chunk counts.
describe('title phrases: the fast pair count', () => {
  const plain = (pairs: ReturnType<typeof titlePairs>, texts: string[]) => pairs.filter((p) => texts.some((t) => p.re.test(t))).length;

  it('counts what every pattern on every chunk counts, on random texts with case, newlines, chunk edges and non-ASCII letters', () => {
    const rand = seededRandom(11);
    const words = ['clock', 'jump', 'vector', 'bool', 'null', 'color', 'x1', 'a_b'];
    // Pieces that stress the equivalence: upper case, separators inside and outside the 1-4 gap,
    // newlines (never in a match), letters that lower-case to ASCII (İ → i̇) or look like ASCII
    // letters under case folding (K Kelvin sign, ſ long s), and word characters glued to the words.
    const pieces = [
      ...words,
      ...words.map((w) => w.toUpperCase()),
      'Clock',
      'JUMP',
      ' ',
      '  ',
      '::',
      '<',
      '>',
      ' - ',
      '\n',
      '\n\n',
      '     ',
      'İ',
      '\u212a',
      'ſ',
      'q',
      '_',
      '9',
      'é',
    ];
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    let matched = 0;
    for (let t = 0; t < 10000; t++) {
      const title = Array.from({ length: 2 + Math.floor(rand() * 4) }, () => pick(words));
      const pairs = titlePairs(title);
      const texts = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Array.from({ length: Math.floor(rand() * 14) }, () => pick(pieces)).join(''));
      const want = plain(pairs, texts);
      assert.equal(titlePairsFound(pairs, texts), want, JSON.stringify({ title, texts }));
      matched += want;
    }
    assert.ok(matched > 150, `the random texts contain matches (${matched})`);
  });

  it('examples: a phrase split across two chunks or a line does not count; case does not matter', () => {
    const pairs = titlePairs(['clock', 'jump']);
    assert.equal(titlePairsFound(pairs, ['the clock', 'jump back']), 0);
    assert.equal(titlePairsFound(pairs, ['the clock\njump back']), 0);
    assert.equal(titlePairsFound(pairs, ['a', 'the CLOCK::Jump back']), 1);
    assert.equal(titlePairsFound(pairs, ['theclock jump']), 0, 'the first word must start a word');
    assert.equal(titlePairsFound(titlePairs(['vector', 'bool']), ['std::vector<bool>']), 1);
    assert.equal(titlePairsFound([], ['anything']), 0);
  });
});
