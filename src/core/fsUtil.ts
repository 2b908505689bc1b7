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
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`,
  );
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
