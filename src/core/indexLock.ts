/**
 * The index-wide writer lock: one process writes an index folder at a time (ARCHITECTURE.md,
 * invariant 4). Readers never take it (invariant 16). The catalog, lexical snapshot and vector store do
 * not lock themselves; `WorkspaceIndex.open` takes this lock when it opens for writing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from './types';

/** File name of the writer lock inside the index folder. */
export const LOCK_FILE_NAME = 'index.lock';

/**
 * Default age (since the holder's last heartbeat) after which a lock is considered abandoned even if its
 * pid looks alive. Default 10 minutes; range ≥ 1 s. The holder touches the lock every `staleMs / 4`, so a
 * live holder never gets close; this covers hosts whose pids we cannot check (network folders) and
 * recycled pids.
 */
export const DEFAULT_LOCK_STALE_MS = 10 * 60 * 1000;

/**
 * Grace period for a lock file whose content cannot be parsed. Default 5 s. A holder writes its content
 * right after creating the file, so an empty or garbled lock younger than this is probably being
 * written; older than this, it was left by a crash between create and write.
 */
export const UNREADABLE_LOCK_GRACE_MS = 5000;

/** What a lock file records about its holder. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  createdAt: string;
  /** Random token distinguishing this acquisition from an earlier process that had the same pid. */
  token: string;
}

/** The index folder is locked by a live writer. `holder` is what its lock file says. */
export class IndexLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockInfo | undefined,
    detail: string,
  ) {
    super(`index is locked (${lockPath}): ${detail}`);
    // The name survives the index worker's error serialisation (indexWorker.ts).
    this.name = 'IndexLockedError';
  }
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** See {@link DEFAULT_LOCK_STALE_MS}. */
  staleMs?: number;
  /** Receives the warning when a stale lock is broken. */
  logger?: Logger;
}

const heldLocks = new Map<string, string>(); // lock path → token held by this process
let exitHookInstalled = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeHolder(info: LockInfo): string {
  return `pid ${info.pid} on ${info.hostname}, since ${info.createdAt}`;
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as LockInfo;
    if (v && typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.token === 'string') return v;
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * Takes the exclusive writer lock of an index folder and returns its release function (idempotent).
 *
 * The lock is a file created with `wx` (atomic create-if-absent) holding pid, hostname, time and a random
 * token; the holder refreshes its mtime as a heartbeat. An existing lock is broken, with a warning, when
 * its process is gone (same host), when it was left by an earlier process that had our pid, when its
 * heartbeat is older than `staleMs`, or when it is unreadable past a short grace period. Otherwise
 * {@link IndexLockedError} names the holder. The lock is also removed if the process exits normally.
 */
export async function acquireLock(dir: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const staleMs = Math.max(1000, opts.staleMs ?? DEFAULT_LOCK_STALE_MS);
  const logger = opts.logger ?? silentLogger;
  await fs.promises.mkdir(dir, { recursive: true });
  const lockPath = path.resolve(dir, LOCK_FILE_NAME);
  const host = os.hostname();
  const info: LockInfo = { pid: process.pid, hostname: host, createdAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };

  for (let attempt = 0; attempt < 5; attempt++) {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(lockPath, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let text: string;
      let mtimeMs: number;
      try {
        text = await fs.promises.readFile(lockPath, 'utf8');
        mtimeMs = (await fs.promises.stat(lockPath)).mtimeMs;
      } catch (readErr) {
        if ((readErr as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw readErr;
      }
      const holder = parseLock(text);
      const age = Date.now() - mtimeMs;
      let staleReason: string | undefined;
      if (!holder) {
        if (age > UNREADABLE_LOCK_GRACE_MS) staleReason = 'its content is unreadable';
        else throw new IndexLockedError(lockPath, undefined, 'another process is creating the lock right now');
      } else if (age > staleMs) {
        staleReason = `no heartbeat for ${Math.round(age / 1000)} s`;
      } else if (holder.hostname === host) {
        if (holder.pid === process.pid) {
          if (heldLocks.get(lockPath) === holder.token) {
            throw new IndexLockedError(lockPath, holder, `already held by this process (${describeHolder(holder)})`);
          }
          staleReason = 'it was left by an earlier process with the same pid';
        } else if (!pidAlive(holder.pid)) {
          staleReason = `process ${holder.pid} is no longer running`;
        }
      }
      if (!staleReason) {
        throw new IndexLockedError(lockPath, holder, `held by ${describeHolder(holder!)}; another Groundwork indexer is writing this index`);
      }
      logger.warn(`Breaking stale index lock ${lockPath}${holder ? ` (${describeHolder(holder)})` : ''}: ${staleReason}`);
      await breakLock(lockPath, text);
      continue;
    }
    try {
      await handle.writeFile(JSON.stringify(info) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return holdLock(lockPath, info, staleMs, logger);
  }
  throw new IndexLockedError(lockPath, undefined, 'the lock kept changing hands; try again');
}

/**
 * Removes a stale lock without ever removing a fresh one: two processes may judge the same lock stale,
 * and the slower one must not delete the lock the faster one just created. So the lock is first renamed
 * to a private name (atomic, exactly one process wins it), then checked to still be the stale content;
 * if it is not, it is put back with `link` (which refuses to overwrite a newer lock).
 */
async function breakLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.promises.rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke it first
    throw err;
  }
  const text = await fs.promises.readFile(aside, 'utf8').catch(() => '');
  if (text !== staleText) {
    await fs.promises.link(aside, lockPath).catch(() => undefined);
  }
  await fs.promises.unlink(aside).catch(() => undefined);
}

function holdLock(lockPath: string, info: LockInfo, staleMs: number, logger: Logger): () => Promise<void> {
  heldLocks.set(lockPath, info.token);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Best effort for a normal exit with the lock still held; a crash leaves it to the stale rules.
    process.on('exit', () => {
      for (const [p, token] of heldLocks) {
        try {
          if (parseLock(fs.readFileSync(p, 'utf8'))?.token === token) fs.unlinkSync(p);
        } catch {
          // ignore: exiting
        }
      }
    });
  }
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      fs.promises.utimes(lockPath, now, now).catch(() => undefined);
    },
    Math.max(250, Math.floor(staleMs / 4)),
  );
  heartbeat.unref();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    heldLocks.delete(lockPath);
    let text = '';
    try {
      text = await fs.promises.readFile(lockPath, 'utf8');
    } catch {
      logger.warn(`index lock ${lockPath} was already removed by someone else`);
      return;
    }
    if (parseLock(text)?.token !== info.token) {
      logger.warn(`index lock ${lockPath} was taken over by another process; leaving it in place`);
      return;
    }
    await fs.promises.unlink(lockPath).catch(() => undefined);
  };
}
