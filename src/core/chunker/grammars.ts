/** Runtime and grammar loading for the chunker (process-wide: the WASM runtime is global and grammars are immutable). */
import fs from 'node:fs';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';

let runtimeReady: Promise<void> | undefined;
const grammarCache = new Map<string, Promise<Language>>();

export function initRuntime(wasmDir: string): Promise<void> {
  if (!runtimeReady) {
    runtimeReady = Parser.init({ locateFile: (file: string) => path.join(wasmDir, file) }).catch((err: unknown) => {
      // Let a later call retry (e.g. after the build copied the files).
      runtimeReady = undefined;
      throw err;
    });
  }
  return runtimeReady;
}

export function loadGrammar(file: string): Promise<Language> {
  let pending = grammarCache.get(file);
  if (!pending) {
    // Reading the bytes ourselves avoids depending on how web-tree-sitter fetches paths in Node.
    pending = fs.promises.readFile(file).then((bytes) => Language.load(new Uint8Array(bytes)));
    // A failure stays cached: the file will not appear mid-run, and retrying per file is costly.
    grammarCache.set(file, pending);
  }
  return pending;
}
