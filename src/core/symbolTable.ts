/**
 * Where each symbol is defined: symbol name → the files whose chunks declare it. Retrieval uses it
 * to favour a file that *defines* an identifier the query names over files that only use it.
 *
 * Names are keyed by their last identifier, lower-cased: `Runner.prototype.run`, `fmt::detail::write`
 * and `impl Display for Foo` are found as `run`, `write` and `foo` (and by the whole name when it is
 * a plain identifier).
 */
import type { Chunk } from './types';

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** The lookup keys of one declared name. */
export function symbolKeys(name: string): string[] {
  const parts = name.match(IDENT);
  if (!parts?.length) return [];
  // Generic arguments (`Vec<T>`, `formatter<char>`) are not the name.
  const head = name.split('<')[0]!.match(IDENT) ?? parts;
  const last = head[head.length - 1]!.toLowerCase();
  return last.length > 1 ? [last] : [];
}

export class SymbolTable {
  private readonly byKey = new Map<string, Map<string, number>>();

  add(path: string, chunks: readonly Chunk[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        for (const key of symbolKeys(s)) {
          let files = this.byKey.get(key);
          if (!files) this.byKey.set(key, (files = new Map()));
          files.set(path, (files.get(path) ?? 0) + 1);
        }
      }
    }
  }

  remove(path: string, chunks: readonly Chunk[]): void {
    for (const c of chunks) {
      for (const s of c.symbols) {
        for (const key of symbolKeys(s)) {
          const files = this.byKey.get(key);
          const n = files?.get(path);
          if (!files || n === undefined) continue;
          if (n <= 1) files.delete(path);
          else files.set(path, n - 1);
          if (!files.size) this.byKey.delete(key);
        }
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
