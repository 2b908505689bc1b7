// The ESM build of web-tree-sitter relies on import.meta.url and fails in a CJS bundle; use its CJS
// build (which the package's exports map only offers to `require`, hence the explicit resolution).
// Shared by scripts/build.mjs and scripts/runTs.mjs.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const webTreeSitterCjs = {
  name: 'web-tree-sitter-cjs',
  setup(build) {
    build.onResolve({ filter: /^web-tree-sitter$/ }, () => ({
      path: require.resolve('web-tree-sitter'), // the "require" condition: web-tree-sitter.cjs
    }));
  },
};
