// @ts-check
// Builds every runtime bundle with esbuild and copies the WebAssembly files next to them.
//   node scripts/build.mjs            extension + CLI into dist/, the chat webview into dist/media/
//   node scripts/build.mjs --tests    also every test/**/*.test.ts into out/test/
//   node scripts/build.mjs --production  minified, no source maps (used for the VSIX)
//   node scripts/build.mjs --integration  also the real-VS-Code suites into out/integration/: the
//       extension-host suite (test/integration/suite → out/integration/suite, run by VS Code through
//       extensionTestsPath) and the browser-driven UI tests (test/integration/ui → out/integration/ui)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { vectraDeepImport } from './vectraDeepImport.mjs';
import { webTreeSitterCjs } from './webTreeSitterCjs.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const withTests = args.has('--tests');
const withScripts = args.has('--scripts');
const withIntegration = args.has('--integration');

/** Grammar packages and the .wasm files they ship; copied into <bundle dir>/wasm. */
export const GRAMMAR_WASM = [
  ['tree-sitter-typescript', 'tree-sitter-typescript.wasm'],
  ['tree-sitter-typescript', 'tree-sitter-tsx.wasm'],
  ['tree-sitter-javascript', 'tree-sitter-javascript.wasm'],
  ['tree-sitter-python', 'tree-sitter-python.wasm'],
  ['tree-sitter-go', 'tree-sitter-go.wasm'],
  ['tree-sitter-rust', 'tree-sitter-rust.wasm'],
  ['tree-sitter-java', 'tree-sitter-java.wasm'],
  ['tree-sitter-c', 'tree-sitter-c.wasm'],
  ['tree-sitter-cpp', 'tree-sitter-cpp.wasm'],
  ['tree-sitter-c-sharp', 'tree-sitter-c_sharp.wasm'],
  ['tree-sitter-ruby', 'tree-sitter-ruby.wasm'],
  ['tree-sitter-php', 'tree-sitter-php.wasm'],
];

/** Compiles the hand-written WebAssembly kernels (src/core/wasm/*.wat) with wabt, once per build. */
let kernels;
async function compileKernels() {
  if (kernels) return kernels;
  const wabt = await (await import('wabt')).default();
  const dir = path.join(root, 'src', 'core', 'wasm');
  kernels = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.wat'))
    .map((f) => {
      const mod = wabt.parseWat(f, fs.readFileSync(path.join(dir, f), 'utf8'), { simd: true });
      mod.validate();
      const { buffer } = mod.toBinary({});
      mod.destroy();
      return [f.replace(/\.wat$/, '.wasm'), Buffer.from(buffer)];
    });
  return kernels;
}

async function copyWasm(outDir) {
  const wasmDir = path.join(outDir, 'wasm');
  fs.mkdirSync(wasmDir, { recursive: true });
  for (const [name, bytes] of await compileKernels()) fs.writeFileSync(path.join(wasmDir, name), bytes);
  const runtime = path.join(path.dirname(require.resolve('web-tree-sitter')), 'web-tree-sitter.wasm');
  fs.copyFileSync(runtime, path.join(wasmDir, 'web-tree-sitter.wasm'));
  for (const [pkg, file] of GRAMMAR_WASM) {
    const src = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
    fs.copyFileSync(src, path.join(wasmDir, file));
  }
}

/**
 * vectra's LocalIndex requires wink-nlp, its English model and wink-bm25-text-search at load time for
 * its own BM25 (which we never call: lexical search is src/core/lexicalIndex.ts), and its codec barrel
 * pulls in protobufjs for the ProtobufCodec (we plug in BinaryVectorCodec). Together they were ~3.7 MB
 * of each engine bundle (~80%). Inside vectra these imports resolve to stubs that throw a clear error
 * if vectra ever reaches them; test/unit/bundle.test.ts checks the bundles stay free of them.
 */
const VECTRA_UNUSED = ['wink-nlp', 'wink-eng-lite-web-model', 'wink-bm25-text-search', 'protobufjs'];
const vectraUnused = {
  name: 'vectra-unused',
  setup(build) {
    const filter = new RegExp(`^(${VECTRA_UNUSED.join('|')})$`);
    const vectraDir = `${path.sep}node_modules${path.sep}vectra${path.sep}`;
    build.onResolve({ filter }, (a) => (a.importer.includes(vectraDir) ? { path: a.path, namespace: 'vectra-unused' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'vectra-unused' }, (a) => {
      const message = `${a.path} is not bundled with Groundwork (vectra's BM25 and protobuf codec are not used).`;
      // protobufjs is required lazily inside a try/catch (vectra rewords the failure); the wink
      // modules are required eagerly and only called by vectra's BM25, so they throw when called.
      const contents =
        a.path === 'protobufjs' ? `throw new Error(${JSON.stringify(message)});` : `module.exports = function unavailable() { throw new Error(${JSON.stringify(message)}); };`;
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The local-embedding worker (src/providers/localEmbedderWorker.ts) bundles transformers.js' own
 * CJS build: its ESM build reads import.meta.url, which is empty in a CJS bundle. That build loads
 * onnxruntime-node through createRequire(__filename), so the native runtime stays in node_modules
 * and is resolved from the bundle's folder at run time; onnxruntime-common must stay external too,
 * so transformers.js and onnxruntime-node share one copy (its Tensor class is checked with instanceof).
 */
const transformersCjs = {
  name: 'transformers-cjs',
  setup(build) {
    build.onResolve({ filter: /^@huggingface\/transformers$/ }, () => ({
      path: require.resolve('@huggingface/transformers'), // the "node"/"require" condition: transformers.node.cjs
    }));
  },
};

/**
 * transformers.js requires sharp at load time and throws unless it is truthy; text embeddings never
 * touch images, so a stub that fails on use replaces the native image library (~20 MB per platform).
 */
const sharpStub = {
  name: 'sharp-stub',
  setup(build) {
    build.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'sharp-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'sharp-stub' }, () => ({
      contents: "module.exports = function sharp() { throw new Error('Image processing is not available in Groundwork.'); };",
      loader: 'js',
    }));
  },
};

/** Options for the worker bundle, written as <outdir>/localEmbedderWorker.js. */
function workerBuild(outdir) {
  return {
    ...common,
    entryPoints: [{ in: path.join(root, 'src/providers/localEmbedderWorker.ts'), out: 'localEmbedderWorker' }],
    outdir,
    plugins: [...(common.plugins ?? []), transformersCjs, sharpStub],
    external: ['onnxruntime-node', 'onnxruntime-common'],
  };
}

/** @type {import('esbuild').BuildOptions & { external: string[] }} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  plugins: [vectraDeepImport, vectraUnused, webTreeSitterCjs],
  // transformers.js imports sharp at top level; text embeddings never touch images. pg loads its
  // optional native binding (pg-native, not installed) only when `pg.native` is read; we never do.
  external: ['vscode', 'sharp', 'onnxruntime-node', 'pg-native'],
};

/**
 * The chat webview (media/): a browser IIFE and its stylesheet, plus the codicon font and CSS from
 * @vscode/codicons, into dist/media, the webview's only localResourceRoot. The bundle includes
 * markdown-it and the protocol file; it must not pull in Node modules (platform 'browser' fails the
 * build if it does).
 */
async function buildWebview() {
  const outdir = path.join(root, 'dist', 'media');
  fs.mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [
      { in: path.join(root, 'media/src/main.ts'), out: 'main' },
      { in: path.join(root, 'media/main.css'), out: 'main' },
    ],
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
  });
  const codicons = path.join(path.dirname(require.resolve('@vscode/codicons/package.json')), 'dist');
  for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(codicons, f), path.join(outdir, f));
}

/** Every *.test.ts under dir, skipping fixtures and (for the unit build) the VS Code-only suites. */
function listTests(dir, skip = ['fixtures', 'integration']) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (skip.includes(e.name)) continue;
      out.push(...listTests(p, skip));
    } else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Bundles of the integration suites; every bundle is self-contained except for the externals. */
function integrationBuilds() {
  const src = path.join(root, 'test', 'integration');
  const out = path.join(root, 'out', 'integration');
  fs.rmSync(out, { recursive: true, force: true });
  const builds = [
    // Runs inside the extension host: `vscode` is provided there, mocha is required from node_modules.
    esbuild.build({
      ...common,
      sourcemap: 'inline',
      entryPoints: [path.join(src, 'suite', 'index.ts'), ...listTests(path.join(src, 'suite'), ['fixtures'])],
      outbase: src,
      outdir: out,
      external: [...common.external, 'mocha'],
    }),
  ];
  // Runs in the test runner's Node process and drives Chromium; never imports `vscode`.
  const uiTests = listTests(path.join(src, 'ui'), ['fixtures']);
  if (uiTests.length) {
    builds.push(
      esbuild.build({
        ...common,
        sourcemap: 'inline',
        entryPoints: uiTests,
        outbase: src,
        outdir: out,
        external: ['mocha', 'playwright-core'],
      }),
    );
  }
  return builds;
}

async function main() {
  const dist = path.join(root, 'dist');
  const builds = [];
  const entries = [];
  if (fs.existsSync(path.join(root, 'src/vscode/extension.ts'))) {
    entries.push({ in: path.join(root, 'src/vscode/extension.ts'), out: 'extension' });
    // The engine runs in this worker so the extension host never blocks on indexing.
    entries.push({ in: path.join(root, 'src/vscode/indexWorker.ts'), out: 'indexWorker' });
  }
  builds.push(
    esbuild.build({ ...common, entryPoints: entries.length ? entries : [], outdir: dist }),
    esbuild.build({
      ...common,
      entryPoints: [{ in: path.join(root, 'src/cli/main.ts'), out: 'cli' }],
      outdir: dist,
      banner: { js: '#!/usr/bin/env node' },
    }),
    esbuild.build(workerBuild(dist)),
    buildWebview(),
  );
  await copyWasm(dist);
  if (withTests) {
    const outTest = path.join(root, 'out', 'test');
    // Emptied first: a bundle of a test file that no longer exists (another branch's) would still run.
    fs.rmSync(outTest, { recursive: true, force: true });
    const tests = listTests(path.join(root, 'test'));
    builds.push(
      esbuild.build({
        ...common,
        sourcemap: 'inline',
        entryPoints: tests,
        outbase: path.join(root, 'test'),
        outdir: outTest,
        // PGlite (the tests' PostgreSQL) finds its .wasm and data files next to its own modules.
        external: [...common.external, 'mocha', '@electric-sql/pglite', '@electric-sql/pglite-pgvector', '@electric-sql/pglite-socket'],
      }),
      // Test bundles live in out/test/**; the worker sits in out/, where resolveWorkerScript looks.
      esbuild.build(workerBuild(path.join(root, 'out'))),
    );
    await copyWasm(path.join(root, 'out'));
  }
  if (withIntegration) builds.push(...integrationBuilds());
  if (withScripts) {
    const scripts = fs.readdirSync(path.join(root, 'scripts')).filter((f) => f.endsWith('.ts'));
    builds.push(
      esbuild.build({
        ...common,
        entryPoints: scripts.map((f) => path.join(root, 'scripts', f)),
        outdir: path.join(root, 'out', 'scripts'),
      }),
    );
    await copyWasm(path.join(root, 'out'));
  }
  await Promise.all(builds);
  fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
