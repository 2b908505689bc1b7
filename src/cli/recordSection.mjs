// @ts-check
/**
 * Writes a generated report into a Markdown file between `<!-- NAME:begin -->` and
 * `<!-- NAME:end -->`, replacing what was there: the one splicer behind every `--record` option
 * (`groundwork bench`, `npm run eval`, `npm run eval:bench`). Plain JavaScript so the Node scripts
 * can import it unbundled; recordSection.d.mts types it for TypeScript.
 *
 * @param {string} current the file's text ('' when it does not exist)
 * @param {string} name marker name, e.g. `bench`
 * @param {string} report the text to put between the markers
 * @param {{ append?: 'blank-line' | 'newline' | false }} [opts] what to do when the markers are
 *   missing: append the block after a newline (`blank-line`: always one `\n` before it; `newline`:
 *   one only if the file is not empty), or `false` to refuse (returns undefined)
 * @returns {string | undefined} the new text, or undefined when the markers are missing and
 *   appending is refused
 */
export function spliceSection(current, name, report, opts = {}) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${report}\n${end}`;
  if (current.includes(begin) && current.includes(end)) {
    return current.slice(0, current.indexOf(begin)) + block + current.slice(current.indexOf(end) + end.length);
  }
  const append = opts.append ?? 'newline';
  if (append === false) return undefined;
  return append === 'blank-line' ? `${current}\n${block}\n` : `${current}${current ? '\n' : ''}${block}\n`;
}
