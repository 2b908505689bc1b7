/**
 * Small filesystem helpers shared by the index: crash-safe whole-file writes and stable hashing.
 * Plain Node only (no `vscode`), so the CLI and the extension share them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Data accepted by {@link writeFileAtomic}: a string (UTF-8), bytes, or a lazy sequence of byte chunks. */
export type AtomicWriteData = string | Uint8Array | Iterable<Uint8Array>;

/** Suffix of every temporary file {@link writeFileAtomic} creates; lets cleanup code recognise them. */
export const TEMP_SUFFIX = '.gwtmp';

/**
 * How many times a rename that failed with EPERM/EACCES/EBUSY is retried before giving up.
 * Default 5, range 0-20. On Windows an antivirus scanner or indexer briefly holding the target open
 * makes `rename` fail transiently; elsewhere these errors are real and the retry costs nothing.
 */
export const RENAME_RETRIES = 5;

function tempPathFor(target: string): string {
  // Same directory as the target: rename is only atomic within one filesystem.
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** True when `name` looks like a temporary file left by {@link writeFileAtomic} (e.g. after a crash). */
export function isAtomicTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.promises.rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const transient = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY';
      if (!transient || attempt >= RENAME_RETRIES) throw err;
      await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
    }
  }
}

/**
 * Makes a completed rename durable. POSIX only: a rename lives in the directory entry, so without this a
 * power cut right after the rename can bring back the old file. Windows cannot open directories this
 * way, so failures are ignored (NTFS journals the rename itself).
 */
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: some filesystems (network mounts) refuse fsync on directories.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Replaces `target` with `data` so that readers (and a crash at any moment) see either the old file or
 * the complete new one, never a mix: the data goes to a uniquely named temp file in the same directory,
 * is fsync'ed, then renamed over the target, and the directory is fsync'ed. On any failure the temp file
 * is removed and the target is left untouched.
 * @param target File to create or replace; its directory must exist.
 * @param data Content. An iterable of chunks is consumed lazily, so a large file need not be built in
 *   memory first (and a throwing iterable aborts the write cleanly).
 */
export async function writeFileAtomic(target: string, data: AtomicWriteData): Promise<void> {
  const tmp = tempPathFor(target);
  // 'wx': the random name should never exist; refusing to reuse one guards against a symlink trick.
  const handle = await fs.promises.open(tmp, 'wx', 0o644);
  let ok = false;
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for (const chunk of data) {
        let off = 0;
        while (off < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, off, chunk.byteLength - off);
          off += bytesWritten;
        }
      }
    }
    await handle.sync();
    await handle.close();
    await renameWithRetry(tmp, target);
    ok = true;
  } finally {
    if (!ok) {
      await handle.close().catch(() => undefined);
      await fs.promises.unlink(tmp).catch(() => undefined);
    }
  }
  await fsyncDir(path.dirname(target));
}

/**
 * 32-bit FNV-1a over the UTF-16 code units of `s`. Stable across platforms and Node versions (unlike
 * string hash tables), cheap, and well spread for path-like strings; used to pick a shard for a path.
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Stable shard of a path: FNV-1a of the path modulo the shard count (catalog and vector store). */
export function shardOf(filePath: string, shards: number): number {
  return fnv1a32(filePath) % shards;
}

/** True when `child` is `parent` or lies below it (plain path comparison; pass real paths to compare real locations). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Why {@link readRegularFile} refused a file (the fs error codes of real I/O failures pass through unchanged). */
export class UnsafeFileError extends Error {
  constructor(
    readonly kind: 'outside' | 'not-regular' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'UnsafeFileError';
  }
}

// Constants absent on a platform (Windows has no O_NOFOLLOW) are 0, i.e. no flag.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

export interface ReadRegularOptions {
  /** Refuse (UnsafeFileError 'too-large') files with more bytes than this. */
  maxBytes?: number;
  /** Aborts the read between chunks (and before it starts). */
  signal?: AbortSignal;
  /**
   * Real (symlink-resolved) folders the file must be inside, checked on the file actually opened,
   * so a file swapped for a symbolic link between a scan and the read is refused, not followed.
   */
  within?: readonly string[];
}

/** Bytes read per `read` call; the AbortSignal is checked between calls. */
const READ_CHUNK_BYTES = 1 << 20;
/** Read size past the length fstat gave (a file growing while it is read). */
const TAIL_READ_BYTES = 64 << 10;

/**
 * Reads a file only when it is a regular file (inside `within` when given), never blocking on a FIFO,
 * a socket or a device: the path is resolved, opened with O_NOFOLLOW | O_NONBLOCK (opening a FIFO
 * for reading would otherwise wait forever for a writer), and the opened descriptor is checked with
 * fstat and, on Linux, by the path the kernel reports for it (`/proc/self/fd/N`). Throws
 * {@link UnsafeFileError} for a refused file, the AbortSignal's reason when aborted, or the fs error.
 */
export async function readRegularFile(file: string, opts: ReadRegularOptions = {}): Promise<{ bytes: Buffer; realPath: string }> {
  opts.signal?.throwIfAborted();
  const realPath = await fs.promises.realpath(file);
  const inside = (p: string) => !opts.within || opts.within.some((r) => isInside(r, p));
  if (!inside(realPath)) throw new UnsafeFileError('outside', `resolves outside the workspace (${realPath})`);
  const handle = await fs.promises.open(realPath, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UnsafeFileError('not-regular', `not a regular file (${describeKind(st)})`);
    if (opts.within) {
      // What was opened, not what the path said a moment ago: a directory on the way may have been
      // swapped for a symbolic link between the realpath and the open.
      const opened = await fs.promises.readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
      if (opened !== undefined ? !inside(opened) : !(await sameFile(realPath, st))) {
        throw new UnsafeFileError('outside', `changed to point outside the workspace while being read (${opened ?? realPath})`);
      }
    }
    const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    if (st.size > max) throw new UnsafeFileError('too-large', `${st.size} bytes`);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      // Sized by what fstat said is left (+1 byte to see the end in the same call), then small reads
      // until the end: a fixed 1 MiB buffer per file was a fresh 1 MiB allocation for every small file.
      const left = st.size - total;
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, max - total + 1, left > 0 ? left + 1 : TAIL_READ_BYTES));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      parts.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      // The file grew past the cap while being read.
      if (total > max) throw new UnsafeFileError('too-large', `more than ${max} bytes`);
    }
    return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, total), realPath };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function sameFile(p: string, st: fs.Stats): Promise<boolean> {
  const now = await fs.promises.stat(p).catch(() => undefined);
  return Boolean(now && now.ino === st.ino && now.dev === st.dev);
}

function describeKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  return 'a special file';
}

/**
 * Reads a whole index file into one buffer of its own (never a slice of Node's shared pool, so
 * typed-array views over it at 4-byte-aligned offsets need no copy), with as few `read` calls as the
 * kernel allows. `fs.promises.readFile` reads in 512 KB pieces and concatenates them (and, with an
 * encoding, decodes piece by piece): measured at ~40 MB, ~170 ms against ~30 ms for this. A file that
 * grows while being read is read to its size at open; one that shrinks is returned short.
 */
export async function readWholeFile(file: string): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const buf = Buffer.allocUnsafeSlow(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await handle.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
