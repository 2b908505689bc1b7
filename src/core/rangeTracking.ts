/**
 * Keeps cited line ranges true while a file is edited: an edit above a range moves it, an edit that
 * touches it marks it edited (its citation is then stale). Pure, so the rules are unit-tested; the
 * extension feeds it VS Code's document change events.
 */

/** A text change in 0-based positions of the document before the change (VS Code's shape). */
export interface TextChange {
  start: { line: number; character: number };
  end: { line: number; character: number };
  /** The replacement text. */
  text: string;
}

/** A 1-based inclusive line range and whether an edit has touched it. */
export interface TrackedRange {
  startLine: number;
  endLine: number;
  edited: boolean;
}

function newlines(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * The range after one change. A change counts as *above* the range (which then moves by the change's
 * line delta) only when it leaves the range's first line intact: it ends on an earlier line, or it
 * ends at column 0 of the first line with whole lines inserted or deleted. Anything on or inside the
 * range's lines marks it edited. Changes below the range leave it alone.
 */
export function applyChange(range: TrackedRange, change: TextChange): TrackedRange {
  const first = range.startLine - 1;
  const last = range.endLine - 1;
  const { start, end, text } = change;
  if (start.line > last) return range;
  const wholeLines = end.line === first && end.character === 0 && (text.endsWith('\n') || (text === '' && start.character === 0));
  if (end.line < first || wholeLines) {
    const delta = newlines(text) - (end.line - start.line);
    return { ...range, startLine: range.startLine + delta, endLine: range.endLine + delta };
  }
  return { ...range, edited: true };
}

/**
 * The range after all changes of one document change event. The changes of one event refer to the
 * document before the event and do not overlap; applied from the bottom up, each change's positions
 * stay valid.
 */
export function applyChanges(range: TrackedRange, changes: readonly TextChange[]): TrackedRange {
  const sorted = [...changes].sort((a, b) => b.start.line - a.start.line || b.start.character - a.start.character);
  let r = range;
  for (const c of sorted) r = applyChange(r, c);
  return r;
}
