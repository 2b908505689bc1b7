/**
 * File discovery: which files of the workspace roots are indexed, and why the others are not.
 *
 * Ignore rules use the `ignore` package (the matcher ESLint uses) with gitignore semantics: every
 * `.gitignore` and `.groundworkignore` applies to its own folder and below, deeper files override
 * shallower ones, `!negations` re-include, and a file inside an excluded folder cannot be re-included
 * (we never descend into it, exactly as git does).
 */
import { promises as fsp, Dirent, Stats } from 'node:fs';
import * as path from 'node:path';
import ignore, { Ignore } from 'ignore';
import { isInside, readRegularFile, UnsafeFileError } from './fsUtil';
import { findSecrets } from './secrets';

import type { SkipReason } from './skipReasons';
import { errMessage } from './errMessage';

/** A workspace root folder. `name` prefixes paths when there is more than one root. */
export interface WorkspaceRoot {
  name: string;
  dir: string;
}

export interface DiscoveryOptions {
  /**
   * Files larger than this are skipped as `too-large`. Default 1 MB (1_048_576). Range: any positive
   * number. Raising it lets big generated sources in; they rarely answer questions and slow indexing.
   */
  maxFileBytes?: number;
  /** Extra exclude patterns in gitignore syntax, applied at every root (e.g. from settings). */
  extraExcludes?: string[];
  /**
   * Patterns (gitignore syntax, matched against file names and paths) of files treated as secrets
   * and never read. Defaults to {@link DEFAULT_SECRET_PATTERNS}; pass your own list to override it.
   */
  secretPatterns?: string[];
}

import { DEFAULT_MAX_FILE_BYTES } from './defaults';

/**
 * Folders and files nobody wants in answers: VCS data, dependencies, build output, caches, lock
 * files, minified bundles and source maps. Applied before the ignore files (which can re-include a
 * file but not a file inside an excluded folder, as with git).
 */
export const DEFAULT_EXCLUDES = [
  '.git/',
  '.hg/',
  '.svn/',
  'node_modules/',
  'bower_components/',
  'jspm_packages/',
  'dist/',
  'build/',
  'out/',
  'target/',
  '.next/',
  '.nuxt/',
  '.svelte-kit/',
  '.turbo/',
  '.cache/',
  '.parcel-cache/',
  'coverage/',
  '.nyc_output/',
  '__pycache__/',
  '.pytest_cache/',
  '.mypy_cache/',
  '.venv/',
  'venv/',
  '.tox/',
  '.gradle/',
  '.idea/',
  '.vscode-test/',
  '.terraform/',
  'Pods/',
  '*.min.js',
  '*.min.css',
  '*.min.mjs',
  '*.bundle.js',
  '*.map',
  '*.pyc',
  '*.class',
  '*.o',
  '*.so',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'Cargo.lock',
  'poetry.lock',
  'Pipfile.lock',
  'Gemfile.lock',
  'composer.lock',
  'go.sum',
  '*.lock',
  '.DS_Store',
];

/**
 * Files that commonly hold credentials. A pattern without `/` is matched against the file's *name*
 * only (so `credentials` skips a file called `credentials`, not the source files of a `credentials/`
 * folder, nor `credentials.ts`); a pattern with `/` is matched against the end of its path. Secrets
 * inside ordinary files are found by content (see `secrets.ts`).
 */
export const DEFAULT_SECRET_PATTERNS = [
  '.env',
  '.env.*',
  '!.env.example',
  '!.env.sample',
  '!.env.template',
  '.envrc',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.jks',
  '*.keystore',
  '*.kdbx',
  '*.ppk',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  'id_ecdsa_sk',
  'id_ed25519_sk',
  'credentials',
  'credentials.json',
  'credentials.yml',
  'credentials.yaml',
  'credentials.xml',
  'credentials.csv',
  'credentials.ini',
  'credentials.toml',
  'credentials.txt',
  '.git-credentials',
  '.pgpass',
  '.my.cnf',
  'kubeconfig',
  '*.kubeconfig',
  '.npmrc',
  '.pypirc',
  '.netrc',
  '_netrc',
  '.htpasswd',
  '*.tfstate',
  '*.tfstate.*',
  '*.tfvars',
  '*.tfvars.json',
  'secrets.json',
  'secrets.yaml',
  'secrets.yml',
  'vault.yml',
  'vault.yaml',
  'token.json',
  'tokens.json',
  '.bash_history',
  '.zsh_history',
  '.*_history',
  '.aws/config',
  '.aws/credentials',
  '.docker/config.json',
  '.kube/config',
  '.ssh/*',
  '!.ssh/*.pub',
  '!.ssh/known_hosts',
];

/** Characters that break one-line formats (paths in citations, terminal output): C0 controls and DEL. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** True when a file or folder name contains a control character (newline, escape, …). */
export function hasControlChars(name: string): boolean {
  return CONTROL_CHARS.test(name);
}

/** Extensions whose content is binary; skipped without reading. */
const BINARY_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'bmp',
  'ico',
  'webp',
  'avif',
  'tiff',
  'psd',
  'pdf',
  'zip',
  'gz',
  'tgz',
  'bz2',
  'xz',
  '7z',
  'rar',
  'jar',
  'war',
  'exe',
  'dll',
  'dylib',
  'bin',
  'wasm',
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
  'mp3',
  'mp4',
  'mov',
  'avi',
  'webm',
  'wav',
  'flac',
  'ogg',
  'sqlite',
  'db',
  'onnx',
  'pt',
  'npy',
  'npz',
  'parquet',
  'vsix',
  'node',
]);

/** A file that passed the name-based filters; its content is checked when read. */
export interface DiscoveredFile {
  root: WorkspaceRoot;
  absPath: string;
  /** Workspace-relative path with `/` separators (prefixed with the root name if multi-root). */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  detail?: string;
}

export type DiscoveryEvent = { kind: 'file'; file: DiscoveredFile } | { kind: 'skip'; skip: SkippedFile };

interface Scope {
  /** Folder of the ignore file, relative to the root, '' for the root, with a trailing '/'. */
  base: string;
  matcher: Ignore;
}

/** Index paths of a set of roots: single root → plain relative path, several → `<name>/<path>`. */
export function displayPath(roots: readonly WorkspaceRoot[], root: WorkspaceRoot, rel: string): string {
  return roots.length > 1 ? `${root.name}/${rel}` : rel;
}

/** Compiled filters shared by the walk and by single-file checks (watcher events). */
export class FileFilter {
  readonly maxFileBytes: number;
  private readonly defaults: Ignore;
  private readonly secretNames: Ignore;
  private readonly secretPaths: Ignore;

  constructor(options: DiscoveryOptions = {}) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.defaults = ignore()
      .add(DEFAULT_EXCLUDES)
      .add(options.extraExcludes ?? []);
    const patterns = options.secretPatterns ?? DEFAULT_SECRET_PATTERNS;
    const hasSlash = (p: string) => p.replace(/^!/, '').includes('/');
    this.secretNames = ignore().add(patterns.filter((p) => !hasSlash(p)));
    this.secretPaths = ignore().add(patterns.filter(hasSlash).map((p) => (p.startsWith('!') ? `!**/${p.slice(1)}` : `**/${p}`)));
  }

  /** True when a default or extra exclude matches `rel` (use a trailing `/` for folders). */
  isDefaultExcluded(rel: string): boolean {
    return this.defaults.ignores(rel);
  }

  /** True when the file `rel` (never a folder) has a secret's name; see {@link DEFAULT_SECRET_PATTERNS}. */
  isSecret(rel: string): boolean {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    return this.secretNames.ignores(name) || this.secretPaths.ignores(rel);
  }

  isBinaryName(rel: string): boolean {
    const dot = rel.lastIndexOf('.');
    return dot >= 0 && BINARY_EXTENSIONS.has(rel.slice(dot + 1).toLowerCase());
  }
}

/** Ignore files larger than this are not read (a real one is a few KB). */
const MAX_IGNORE_FILE_BYTES = 1 << 20;

async function readIgnoreFile(file: string): Promise<string | undefined> {
  try {
    // Never blocks on a FIFO named .gitignore, never reads a device.
    return (await readRegularFile(file, { maxBytes: MAX_IGNORE_FILE_BYTES })).bytes.toString('utf8');
  } catch {
    return undefined;
  }
}

function isIgnored(scopes: readonly Scope[], rel: string, isDir: boolean): boolean {
  let ignored = false;
  for (const scope of scopes) {
    if (scope.base && !rel.startsWith(scope.base)) continue;
    const sub = rel.slice(scope.base.length) + (isDir ? '/' : '');
    if (!sub || sub === '/') continue;
    const r = scope.matcher.test(sub);
    if (r.ignored) ignored = true;
    else if (r.unignored) ignored = false;
  }
  return ignored;
}

/**
 * Roots from folders: names (from `name`, else the folder's basename) made unique with `-2`, `-3`…,
 * since with several roots the name prefixes every index path.
 */
export function uniqueRoots(folders: ReadonlyArray<{ dir: string; name?: string }>): WorkspaceRoot[] {
  const used = new Set<string>();
  return folders.map((f) => {
    const dir = path.resolve(f.dir);
    const base = (f.name ?? path.basename(dir)).replace(/[\\/]/g, '_') || 'root';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return { name, dir };
  });
}

/** Absolute file of an index path, or undefined when it names no root. Inverse of {@link indexPathOf}. */
export function absolutePathOf(roots: readonly WorkspaceRoot[], indexPath: string): string | undefined {
  if (roots.length === 1) return path.join(roots[0]!.dir, ...indexPath.split('/'));
  const slash = indexPath.indexOf('/');
  const root = roots.find((r) => r.name === indexPath.slice(0, slash));
  return root ? path.join(root.dir, ...indexPath.slice(slash + 1).split('/')) : undefined;
}

/** Index path of an absolute file, or undefined when it is outside every root. */
export function indexPathOf(roots: readonly WorkspaceRoot[], absPath: string): string | undefined {
  const resolved = path.resolve(absPath);
  const root = roots.find((r) => isInside(path.resolve(r.dir), resolved));
  if (!root) return undefined;
  return displayPath(roots, root, path.relative(path.resolve(root.dir), resolved).split(path.sep).join('/'));
}

/**
 * Walks the roots and yields every candidate file and every skip. Never throws for a single
 * unreadable folder or file: it becomes a skip. Symbolic links are followed only when they resolve
 * inside one of the roots and do not lead back into a folder already visited.
 */
export async function* discoverFiles(roots: readonly WorkspaceRoot[], options: DiscoveryOptions = {}, signal?: AbortSignal): AsyncGenerator<DiscoveryEvent> {
  const filter = new FileFilter(options);
  const realRoots = await Promise.all(roots.map(async (r) => fsp.realpath(r.dir).catch(() => path.resolve(r.dir))));
  for (const [i, root] of roots.entries()) {
    const visited = new Set<string>();
    yield* walk(root, realRoots[i]!, '', [], visited);
  }

  async function* walk(root: WorkspaceRoot, realDir: string, relDir: string, parentScopes: readonly Scope[], visited: Set<string>): AsyncGenerator<DiscoveryEvent> {
    signal?.throwIfAborted();
    if (visited.has(realDir)) return;
    visited.add(realDir);
    const absDir = relDir ? path.join(root.dir, relDir) : root.dir;
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(absDir, { withFileTypes: true });
    } catch (err) {
      yield { kind: 'skip', skip: { path: displayPath(roots, root, relDir || '.'), reason: 'unreadable', detail: errMessage(err) } };
      return;
    }
    const scopes = [...parentScopes];
    const base = relDir ? `${relDir}/` : '';
    for (const name of ['.gitignore', '.groundworkignore']) {
      if (!entries.some((e) => e.name === name)) continue;
      const content = await readIgnoreFile(path.join(absDir, name));
      if (content !== undefined) scopes.push({ base, matcher: ignore().add(content) });
    }
    // Sorted for a deterministic order (stable progress output and stable tests).
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = base + entry.name;
      const shown = displayPath(roots, root, rel);
      if (hasControlChars(entry.name)) {
        yield { kind: 'skip', skip: { path: JSON.stringify(shown), reason: 'bad-name' } };
        continue;
      }
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let realPath: string | undefined;
      if (entry.isSymbolicLink()) {
        try {
          realPath = await fsp.realpath(path.join(absDir, entry.name));
          const st = await fsp.stat(realPath);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch (err) {
          yield { kind: 'skip', skip: { path: shown, reason: 'unreadable', detail: `broken symbolic link: ${errMessage(err)}` } };
          continue;
        }
        if (!realRoots.some((r) => isInside(r, realPath!))) {
          yield { kind: 'skip', skip: { path: shown, reason: 'symlink-outside', detail: realPath } };
          continue;
        }
        if (isDir && (visited.has(realPath) || isInside(realPath, realDir))) {
          yield { kind: 'skip', skip: { path: shown, reason: 'symlink-loop', detail: realPath } };
          continue;
        }
      }
      if (isDir) {
        if (filter.isDefaultExcluded(`${rel}/`) || isIgnored(scopes, rel, true)) {
          yield { kind: 'skip', skip: { path: `${shown}/`, reason: 'ignored' } };
          continue;
        }
        yield* walk(root, realPath ?? path.join(realDir, entry.name), rel, scopes, visited);
        continue;
      }
      if (!isFile) {
        // Sockets, FIFOs, devices: never opened (a FIFO would block the reader forever).
        yield { kind: 'skip', skip: { path: shown, reason: 'not-regular' } };
        continue;
      }
      if (filter.isDefaultExcluded(rel) || isIgnored(scopes, rel, false)) {
        yield { kind: 'skip', skip: { path: shown, reason: 'ignored' } };
        continue;
      }
      if (filter.isSecret(rel)) {
        yield { kind: 'skip', skip: { path: shown, reason: 'secret' } };
        continue;
      }
      if (filter.isBinaryName(rel)) {
        yield { kind: 'skip', skip: { path: shown, reason: 'binary' } };
        continue;
      }
      let st: Stats;
      try {
        st = await fsp.stat(path.join(absDir, entry.name));
      } catch (err) {
        yield { kind: 'skip', skip: { path: shown, reason: 'unreadable', detail: errMessage(err) } };
        continue;
      }
      if (st.size > filter.maxFileBytes) {
        yield { kind: 'skip', skip: { path: shown, reason: 'too-large', detail: `${st.size} bytes` } };
        continue;
      }
      yield {
        kind: 'file',
        file: { root, absPath: path.join(absDir, entry.name), path: shown, size: st.size, mtimeMs: st.mtimeMs },
      };
    }
  }
}

/** State shared by the {@link classifyPath} calls of one batch. */
export interface ClassifyBatch {
  filter: FileFilter;
  /** Ignore file → its matcher, or null when it does not exist. */
  ignoreFiles: Map<string, Ignore | null>;
}

export function newClassifyBatch(options: DiscoveryOptions = {}): ClassifyBatch {
  return { filter: new FileFilter(options), ignoreFiles: new Map() };
}

/**
 * Resolves one absolute path (e.g. from a file watcher) to its index path, or says why it is not
 * indexed. Applies the same rules as the walk, including every ignore file on the way down.
 */
export async function classifyPath(
  roots: readonly WorkspaceRoot[],
  absPath: string,
  options: DiscoveryOptions = {},
  /**
   * Shared by the calls of one batch (e.g. a watcher flush): the compiled filters and the ignore
   * files already read, so N files in one folder read its ignore files once, not N times.
   */
  batch: ClassifyBatch = newClassifyBatch(options),
): Promise<{ root: WorkspaceRoot; path: string; rel: string; ignoredBy?: SkipReason } | undefined> {
  const filter = batch.filter;
  const resolved = path.resolve(absPath);
  const root = roots.find((r) => isInside(path.resolve(r.dir), resolved));
  if (!root) return undefined;
  const rel = path.relative(path.resolve(root.dir), resolved).split(path.sep).join('/');
  const shown = displayPath(roots, root, rel);
  const segments = rel.split('/');
  const scopes: Scope[] = [];
  let base = '';
  for (let i = 0; i < segments.length; i++) {
    const dirAbs = path.join(root.dir, base);
    for (const name of ['.gitignore', '.groundworkignore']) {
      const file = path.join(dirAbs, name);
      let matcher = batch.ignoreFiles.get(file);
      if (matcher === undefined) {
        const content = await readIgnoreFile(file);
        matcher = content === undefined ? null : ignore().add(content);
        batch.ignoreFiles.set(file, matcher);
      }
      if (matcher) scopes.push({ base, matcher });
    }
    const isLast = i === segments.length - 1;
    const sub = base + segments[i]!;
    if (hasControlChars(segments[i]!)) return { root, path: shown, rel, ignoredBy: 'bad-name' };
    if (!isLast) {
      if (filter.isDefaultExcluded(`${sub}/`) || isIgnored(scopes, sub, true)) return { root, path: shown, rel, ignoredBy: 'ignored' };
    } else {
      if (filter.isDefaultExcluded(sub) || isIgnored(scopes, sub, false)) return { root, path: shown, rel, ignoredBy: 'ignored' };
      if (filter.isSecret(sub)) return { root, path: shown, rel, ignoredBy: 'secret' };
      if (filter.isBinaryName(sub)) return { root, path: shown, rel, ignoredBy: 'binary' };
    }
    base = `${sub}/`;
  }
  return { root, path: shown, rel };
}

/** Result of reading a candidate file: its text, or why it is skipped. */
export type ReadResult = { ok: true; text: string; bytes: number } | { ok: false; reason: SkipReason; detail?: string };

// Also the banners of parser and scanner generators (Bison, flex, yacc, re2c, ANTLR, protoc): their
// output is large, matches every question about the grammar, and is never where a fix is written.
const GENERATED_MARKERS =
  /@generated\b|\bdo not edit\b|\bauto-?generated\b|\bcode generated by\b|\bmade by GNU Bison\b|\bgenerated by (?:flex|bison|b?yacc|re2c|ragel|antlr|protoc)\b/i;
const SOURCE_MAP_TRAILER = /^[ \t]*(?:\/\/|\/\*)[#@] sourceMappingURL=\S+[ \t]*(?:\*\/)?[ \t]*\s*$/m;
const COMMENT_START = /^\s*(\/\/|#|\/\*|\*|<!--|--|;)/;

/** Build output: the text ends with a source-map comment (`//# sourceMappingURL=…`). */
function endsWithSourceMap(text: string): boolean {
  return SOURCE_MAP_TRAILER.test(text.slice(-400));
}

/** Options of {@link readSourceFile}. */
export interface ReadSourceOptions {
  /** Real (symlink-resolved) root folders the file must be inside; see {@link realRootsOf}. */
  within?: readonly string[];
  signal?: AbortSignal;
  /** Index path, for the content-based secret rules that look at names. Default: `absPath`. */
  displayPath?: string;
  /** Look for secrets by content (default true). */
  scanSecrets?: boolean;
}

/** Real paths of the roots (symlinks resolved); a missing root keeps its resolved path. */
export async function realRootsOf(roots: readonly WorkspaceRoot[]): Promise<string[]> {
  return Promise.all(roots.map(async (r) => fsp.realpath(r.dir).catch(() => path.resolve(r.dir))));
}

/**
 * Reads a file and decides whether its content is indexable. Never throws except for an abort: BOM is
 * stripped, UTF-16 with a BOM is decoded, invalid UTF-8 is replaced (U+FFFD), a vanished file is
 * `unreadable`, a FIFO/socket/device is `not-regular` (never opened for a blocking read), a file that
 * resolves outside `within` is `symlink-outside`, content with a credential is `secret-content`.
 */
export async function readSourceFile(absPath: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES, opts: ReadSourceOptions = {}): Promise<ReadResult> {
  let buf: Buffer;
  try {
    buf = (await readRegularFile(absPath, { maxBytes: maxFileBytes, signal: opts.signal, within: opts.within })).bytes;
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof UnsafeFileError) {
      const reason: SkipReason = err.kind === 'outside' ? 'symlink-outside' : err.kind === 'not-regular' ? 'not-regular' : 'too-large';
      return { ok: false, reason, detail: err.message };
    }
    return { ok: false, reason: 'unreadable', detail: errMessage(err) };
  }
  const result = classifyContent(buf);
  if (result.ok && opts.scanSecrets !== false) {
    const rules = await findSecrets(result.text, opts.displayPath ?? absPath);
    if (rules.length) return { ok: false, reason: 'secret-content', detail: rules.join(', ') };
  }
  return result;
}

export function classifyContent(buf: Buffer): ReadResult {
  let text: string;
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    text = new TextDecoder('utf-16le').decode(buf.subarray(2));
  } else if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    text = new TextDecoder('utf-16be').decode(buf.subarray(2));
  } else {
    // A NUL byte in the first 8 KB is git's own heuristic for binary content.
    const head = buf.subarray(0, 8192);
    if (head.includes(0)) return { ok: false, reason: 'binary' };
    text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(buf);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!/\S/.test(text)) return { ok: false, reason: 'empty' };
  if (isMinified(text)) return { ok: false, reason: 'minified' };
  // Only a marker inside one of the first comment lines counts; code that merely mentions the word
  // "generated" stays indexed.
  const head = text.slice(0, 1200).split('\n', 12);
  if (head.some((l) => COMMENT_START.test(l) && GENERATED_MARKERS.test(l))) return { ok: false, reason: 'generated' };
  // Build output: a bundler or compiler ends what it writes with a source-map comment
  // (`//# sourceMappingURL=app.js.map`); hand-written sources do not. A bundle repeats the whole
  // library's vocabulary and outranks the files it was built from.
  if (endsWithSourceMap(text)) return { ok: false, reason: 'generated' };
  return { ok: true, text, bytes: buf.length };
}

/**
 * Minified or bundled output: long, dense lines. A file is minified when it is at least 2 KB and
 * either its mean line length exceeds 300 characters or more than half of its characters sit on
 * lines longer than 1,000 characters. Hand-written code with a few long lines (data tables, URLs)
 * stays indexed; lines longer than the chunk budget are split by characters instead.
 */
export function isMinified(text: string): boolean {
  if (text.length < 2048) return false;
  let lines = 0;
  let longChars = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const len = end - start;
    lines++;
    if (len > 1000) longChars += len;
    start = end + 1;
  }
  return text.length / lines > 300 || longChars > text.length / 2;
}
