// @ts-check
/**
 * esbuild plugin shared by scripts/build.mjs and scripts/runTs.mjs. vectra's package entry pulls in
 * its whole barrel (~0.45 s, ~120 MB at require time); we only need LocalIndex and its storage/codec
 * types, which its exports map hides. Resolve the deep import (`vectra/lib/…`, as tsconfig's node10
 * resolution allows) to the file directly.
 */
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @type {import('esbuild').Plugin} */
export const vectraDeepImport = {
  name: 'vectra-deep-import',
  setup(build) {
    build.onResolve({ filter: /^vectra\/lib\// }, (a) => {
      const libDir = path.dirname(require.resolve('vectra'));
      const rel = a.path.slice('vectra/lib/'.length);
      return { path: require.resolve(path.join(libDir, rel)) };
    });
  },
};
