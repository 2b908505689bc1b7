import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { classifyContent, classifyPath, discoverFiles, isMinified, readSourceFile, type WorkspaceRoot } from '../../src/core/discovery';
import type { SkipReason } from '../../src/core/skipReasons';
import { findSecrets } from '../../src/core/secrets';
import { readRegularFile, UnsafeFileError } from '../../src/core/fsUtil';

function write(root: string, rel: string, content: string | Buffer): void {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

async function collect(roots: WorkspaceRoot[], opts = {}): Promise<{ files: string[]; skips: Map<string, SkipReason> }> {
  const files: string[] = [];
  const skips = new Map<string, SkipReason>();
  for await (const ev of discoverFiles(roots, opts)) {
    if (ev.kind === 'file') files.push(ev.file.path);
    else skips.set(ev.skip.path, ev.skip.reason);
  }
  return { files, skips };
}

describe('file discovery', () => {
  let root: string;
  let outside: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'gw-disc-'));
    outside = mkdtempSync(path.join(tmpdir(), 'gw-outside-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('honours nested .gitignore files with negations and .groundworkignore', async () => {
    write(root, '.gitignore', '*.log\nsecret-notes/\n');
    write(root, 'app.ts', 'export const a = 1;\n');
    write(root, 'debug.log', 'log line\n');
    write(root, 'secret-notes/plan.md', '# plan\n');
    write(root, 'pkg/.gitignore', '*.txt\n!keep.txt\n');
    write(root, 'pkg/drop.txt', 'dropped\n');
    write(root, 'pkg/keep.txt', 'kept\n');
    write(root, 'pkg/sub/deep.txt', 'nested rule applies below too\n');
    write(root, 'pkg/sub/.gitignore', '!deep.txt\n');
    write(root, '.groundworkignore', 'fixtures/\n');
    write(root, 'fixtures/big.json', '{}\n');
    const { files, skips } = await collect([{ name: 'r', dir: root }]);
    assert.deepEqual(files.sort(), ['.gitignore', '.groundworkignore', 'app.ts', 'pkg/.gitignore', 'pkg/keep.txt', 'pkg/sub/.gitignore', 'pkg/sub/deep.txt'].sort());
    assert.equal(skips.get('debug.log'), 'ignored');
    assert.equal(skips.get('secret-notes/'), 'ignored');
    assert.equal(skips.get('pkg/drop.txt'), 'ignored');
    assert.equal(skips.get('fixtures/'), 'ignored');
  });

  it('applies default excludes: VCS, dependencies, build output, lock files, minified bundles', async () => {
    write(root, 'src/index.ts', 'export {};\n');
    write(root, '.git/config', '[core]\n');
    write(root, 'node_modules/x/index.js', 'module.exports = 1;\n');
    write(root, 'dist/index.js', 'built\n');
    write(root, 'package-lock.json', '{}\n');
    write(root, 'vendor/jquery.min.js', 'x\n');
    const { files, skips } = await collect([{ name: 'r', dir: root }]);
    assert.deepEqual(files, ['src/index.ts']);
    for (const p of ['.git/', 'node_modules/', 'dist/', 'package-lock.json', 'vendor/jquery.min.js']) assert.equal(skips.get(p), 'ignored', p);
  });

  it('skips secrets, binaries by name and files over the size cap, each with its reason', async () => {
    write(root, '.env', 'API_KEY=abc\n');
    write(root, '.env.production', 'API_KEY=abc\n');
    write(root, '.env.example', 'API_KEY=\n');
    write(root, 'certs/server.pem', '-----BEGIN CERTIFICATE-----\n');
    write(root, 'keys/id_rsa', 'private\n');
    write(root, 'deploy/credentials.json', '{}\n');
    write(root, 'logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    write(root, 'big.ts', `export const x = "${'a'.repeat(2000)}";\n`);
    const { files, skips } = await collect([{ name: 'r', dir: root }], { maxFileBytes: 1000 });
    assert.deepEqual(files, ['.env.example']);
    for (const p of ['.env', '.env.production', 'certs/server.pem', 'keys/id_rsa', 'deploy/credentials.json']) assert.equal(skips.get(p), 'secret', p);
    assert.equal(skips.get('logo.png'), 'binary');
    assert.equal(skips.get('big.ts'), 'too-large');
  });

  it('lets the secret patterns be overridden', async () => {
    write(root, 'server.key', 'not really a key\n');
    const { files } = await collect([{ name: 'r', dir: root }], { secretPatterns: ['*.pem'] });
    assert.deepEqual(files, ['server.key']);
  });

  it('never follows a symlink out of the workspace or into a loop', async () => {
    write(root, 'a/file.ts', 'export {};\n');
    write(outside, 'stolen.ts', 'export const secret = 1;\n');
    symlinkSync(outside, path.join(root, 'escape'));
    symlinkSync(path.join(outside, 'stolen.ts'), path.join(root, 'escape-file.ts'));
    symlinkSync(path.join(root, 'a'), path.join(root, 'a', 'loop'));
    symlinkSync(path.join(root, 'missing.ts'), path.join(root, 'broken.ts'));
    write(root, 'b/real.ts', 'export const b = 2;\n');
    symlinkSync(path.join(root, 'b', 'real.ts'), path.join(root, 'alias.ts'));
    const { files, skips } = await collect([{ name: 'r', dir: root }]);
    assert.deepEqual(files.sort(), ['a/file.ts', 'alias.ts', 'b/real.ts']);
    assert.equal(skips.get('escape'), 'symlink-outside');
    assert.equal(skips.get('escape-file.ts'), 'symlink-outside');
    assert.equal(skips.get('a/loop'), 'symlink-loop');
    assert.equal(skips.get('broken.ts'), 'unreadable');
  });

  it('prefixes paths with the root name when there are several roots', async () => {
    write(root, 'x.ts', 'export {};\n');
    write(outside, 'y.py', 'print(1)\n');
    const { files } = await collect([
      { name: 'front', dir: root },
      { name: 'back', dir: outside },
    ]);
    assert.deepEqual(files, ['front/x.ts', 'back/y.py']);
  });

  it('classifies a single path with the same rules as the walk', async () => {
    write(root, '.gitignore', 'gen/\n');
    write(root, 'gen/out.ts', 'x\n');
    write(root, 'src/ok.ts', 'x\n');
    const roots = [{ name: 'r', dir: root }];
    assert.equal((await classifyPath(roots, path.join(root, 'gen/out.ts')))?.ignoredBy, 'ignored');
    assert.equal((await classifyPath(roots, path.join(root, '.env')))?.ignoredBy, 'secret');
    const ok = await classifyPath(roots, path.join(root, 'src/ok.ts'));
    assert.equal(ok?.path, 'src/ok.ts');
    assert.equal(ok?.ignoredBy, undefined);
    assert.equal(await classifyPath(roots, path.join(outside, 'x.ts')), undefined);
  });
});

describe('reading files', () => {
  it('strips a BOM, keeps CRLF text and replaces invalid UTF-8 instead of throwing', () => {
    const bom = classifyContent(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('const a = 1;\r\nconst b = 2;\r\n')]));
    assert.ok(bom.ok);
    assert.equal(bom.ok && bom.text.startsWith('const a'), true);
    const bad = classifyContent(Buffer.from([0x63, 0x6f, 0x6e, 0x73, 0x74, 0x20, 0xff, 0xfe, 0x41, 0x0a]));
    assert.ok(bad.ok);
    assert.ok(bad.ok && bad.text.includes('\ufffd'));
  });

  it('decodes UTF-16 with a BOM', () => {
    const r = classifyContent(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('let x = 1;\n', 'utf16le')]));
    assert.ok(r.ok && r.text === 'let x = 1;\n');
  });

  it('detects binary, minified, generated and empty content', () => {
    assert.equal((classifyContent(Buffer.from([0x41, 0x00, 0x42])) as { reason: string }).reason, 'binary');
    const minified = `var a=1;${'function f(a,b){return a+b}'.repeat(200)}\n`;
    assert.ok(isMinified(minified));
    assert.equal((classifyContent(Buffer.from(minified)) as { reason: string }).reason, 'minified');
    const generated = '// Code generated by protoc-gen-go. DO NOT EDIT.\npackage pb\n';
    assert.equal((classifyContent(Buffer.from(generated)) as { reason: string }).reason, 'generated');
    assert.equal((classifyContent(Buffer.from('  \n\n')) as { reason: string }).reason, 'empty');
    // Bundler/compiler output ends with a source-map comment; a source that mentions one does not.
    const bundle = `(function (global, factory) { factory(); })(this, function () {\n${'  var x = 1;\n'.repeat(50)}});\n//# sourceMappingURL=lib.js.map\n`;
    assert.equal((classifyContent(Buffer.from(bundle)) as { reason: string }).reason, 'generated');
    assert.equal((classifyContent(Buffer.from('a { color: red }\n/*# sourceMappingURL=site.css.map */\n')) as { reason: string }).reason, 'generated');
    assert.ok(classifyContent(Buffer.from('// the bundler appends "//# sourceMappingURL=" to its output\nexport const x = 1;\n')).ok);
    // Mentioning "generated" in code is fine.
    const code = 'export function generatedId() { return 1; }\n';
    assert.ok(classifyContent(Buffer.from(code)).ok);
    // Hand-written code with a single long line is not minified.
    const table = `export const TABLE = [${'1, '.repeat(700)}];\n${'export const x = 1;\n'.repeat(200)}`;
    assert.equal(isMinified(table), false);
  });

  it('reports a file deleted before it is read as unreadable', async () => {
    const r = await readSourceFile(path.join(tmpdir(), 'gw-does-not-exist', 'gone.ts'));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'unreadable');
  });
});

describe('secret scanning at scale', () => {
  it('leaves no performance marks behind (secretlint profiles every rule of every file unless turned off)', async () => {
    const { performance } = await import('node:perf_hooks');
    const before = performance.getEntriesByType('mark').length;
    for (let i = 0; i < 50; i++) assert.equal((await findSecrets(`export const value${i} = ${i};\n`, `src/f${i}.ts`)).length, 0);
    // A real finding still goes through every rule.
    assert.ok((await findSecrets('const key = "AKIAQWERTYUIOPASDFGH";\n', 'src/key.ts')).length > 0);
    assert.equal(performance.getEntriesByType('mark').length, before);
  });
});

describe('readRegularFile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-read-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns exactly the bytes of files of every size around its read sizes', async () => {
    for (const size of [0, 1, 4095, 65_536, (1 << 20) - 1, 1 << 20, (1 << 20) + 3, 3 * (1 << 20) + 7]) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
      const file = path.join(dir, `f${size}.bin`);
      writeFileSync(file, bytes);
      const read = await readRegularFile(file, { within: [dir] });
      assert.equal(read.bytes.length, size, `size ${size}`);
      assert.ok(read.bytes.equals(bytes), `content of size ${size}`);
    }
  });

  it('reads past the size fstat reports, and still stops at the cap (a file growing while read)', async function () {
    // Linux's /proc files report size 0 and have content: the read must not trust fstat's size.
    if (process.platform !== 'linux') this.skip();
    const read = await readRegularFile('/proc/self/status');
    assert.match(read.bytes.toString('utf8'), /^Name:/);
    await assert.rejects(readRegularFile('/proc/self/status', { maxBytes: 16 }), (err: Error) => err instanceof UnsafeFileError && /more than 16 bytes/.test(err.message));
  });
});
