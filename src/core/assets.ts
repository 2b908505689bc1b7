/**
 * Locates the WebAssembly files (web-tree-sitter's runtime and the grammars) that scripts/build.mjs
 * copies next to every bundle.
 */
import fs from 'node:fs';
import path from 'node:path';

/** File that marks a folder as the wasm folder: the tree-sitter runtime itself. */
export const RUNTIME_WASM = 'web-tree-sitter.wasm';

/** Environment variable that overrides the search (a folder holding the same files). */
export const WASM_DIR_ENV = 'GROUNDWORK_WASM_DIR';

/**
 * The folder holding `web-tree-sitter.wasm` and the grammar `.wasm` files.
 *
 * Bundles live at different depths (dist/cli.js → dist/wasm, dist/extension.js → dist/wasm,
 * out/test/unit/x.test.js → out/wasm), so the folder is looked for next to the running bundle and
 * up to two levels above it. `GROUNDWORK_WASM_DIR`, when set, wins and must be right.
 *
 * @throws Error naming every place looked at when no folder holds the runtime.
 */
export function resolveWasmDir(): string {
  const fromEnv = process.env[WASM_DIR_ENV];
  if (fromEnv) {
    const dir = path.resolve(fromEnv);
    if (fs.existsSync(path.join(dir, RUNTIME_WASM))) return dir;
    throw new Error(`${WASM_DIR_ENV}=${fromEnv} does not contain ${RUNTIME_WASM}.`);
  }
  const candidates = [path.join(__dirname, 'wasm'), path.join(__dirname, '..', 'wasm'), path.join(__dirname, '..', '..', 'wasm')];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, RUNTIME_WASM))) return dir;
  }
  throw new Error(
    `Cannot find ${RUNTIME_WASM} (looked in ${candidates.join(', ')}). ` + `Run "npm run build" to copy the WebAssembly files next to the bundle, or set ${WASM_DIR_ENV}.`,
  );
}
