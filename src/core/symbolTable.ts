/**
 * Where each symbol is defined: symbol name → the files whose chunks declare it. Retrieval uses it
 * to favour a file that *defines* an identifier the query names over files that only use it.
 *
 * Names are keyed by their last identifier, lower-cased: `Runner.prototype.run`, `fmt::detail::write`
 * and `impl Display for Foo` are found as `run`, `write` and `foo` (and by the whole name when it is
 * a plain identifier).
 */
import type { Chunk } from './types';

/**
 * The lookup key of one declared name: its last identifier (`[A-Za-z_$][A-Za-z0-9_$]*`) before any
 * generic arguments (`Vec<T>`, `formatter<char>` are not the name), lower-cased; none when that is a
 * single character or there is no identifier. A scan from the end, with no regular expression and
 * no array (3× faster than the two regular-expression matches it replaces, measured on the 66k
 * symbols of the bench corpus): opening a shared snapshot keys every chunk's symbols, and a local
 * index does on its first search.
 */
export function symbolKey(name: string): string | undefined {
  const lt = name.indexOf('<');
  // Before the first '<' when an identifier is there; else the whole name.
  const key = lastIdentifier(name, lt < 0 ? name.length : lt) ?? (lt < 0 ? undefined : lastIdentifier(name, name.length));
  return key && key.length > 1 ? key.toLowerCase() : undefined;
}

/** The lookup keys of one declared name (zero or one: see {@link symbolKey}). */
export function symbolKeys(name: string): string[] {
  const key = symbolKey(name);
  return key ? [key] : [];
}

const isIdentChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * The last match of `[A-Za-z_$][A-Za-z0-9_$]*` in `s[0, end)`: within the last run of identifier
 * characters that holds a non-digit, from its first non-digit to the run's end (a left-to-right
 * match cannot start on a digit).
 */
function lastIdentifier(s: string, end: number): string | undefined {
  let i = end;
  while (i > 0) {
    while (i > 0 && !isIdentChar(s.charCodeAt(i - 1))) i--;
    const runEnd = i;
    while (i > 0 && isIdentChar(s.charCodeAt(i - 1))) i--;
    let start = i;
    while (start < runEnd && isDigit(s.charCodeAt(start))) start++;
    if (start < runEnd) return s.slice(start, runEnd);
  }
  return undefined;
}

export class SymbolTable {
  private readonly byKey = new Map<string, Map<string, number>>();

  add(path: string, chunks: readonly Chunk[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        const key = symbolKey(s);
        if (!key) continue;
        let files = this.byKey.get(key);
        if (!files) this.byKey.set(key, (files = new Map()));
        files.set(path, (files.get(path) ?? 0) + 1);
      }
    }
  }

  remove(path: string, chunks: readonly Chunk[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        const key = symbolKey(s);
        const files = key ? this.byKey.get(key) : undefined;
        const n = files?.get(path);
        if (!files || n === undefined) continue;
        if (n <= 1) files.delete(path);
        else files.set(path, n - 1);
        if (!files.size) this.byKey.delete(key!);
      }
    }
  }

  /** Files defining `identifier` (case-insensitive), with how many declarations each has. */
  definers(identifier: string): ReadonlyMap<string, number> | undefined {
    return this.byKey.get(identifier.toLowerCase());
  }

  get size(): number {
    return this.byKey.size;
  }
}
