import { strict as assert } from 'node:assert';
import { spliceSection } from '../../src/cli/recordSection.mjs';

describe('spliceSection (--record)', () => {
  const file = 'intro\n<!-- bench:begin -->\nold\nrows\n<!-- bench:end -->\noutro\n';

  it('replaces exactly the text between its own markers', () => {
    assert.equal(spliceSection(file, 'bench', 'new'), 'intro\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\noutro\n');
    // Another section's markers are not this section's.
    assert.equal(spliceSection(file, 'eval', 'x', { append: false }), undefined);
  });

  it('appends when the markers are missing, or refuses when asked to', () => {
    assert.equal(spliceSection('', 'bench', 'r'), '<!-- bench:begin -->\nr\n<!-- bench:end -->\n');
    assert.equal(spliceSection('doc\n', 'bench', 'r', { append: 'newline' }), 'doc\n\n<!-- bench:begin -->\nr\n<!-- bench:end -->\n');
    assert.equal(spliceSection('', 'eval', 'r', { append: 'blank-line' }), '\n<!-- eval:begin -->\nr\n<!-- eval:end -->\n');
    assert.equal(spliceSection('doc', 'bench-eval', 'r', { append: false }), undefined);
  });
});
