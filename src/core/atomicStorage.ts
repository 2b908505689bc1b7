/**
 * A vectra `FileStorage` whose writes are crash-safe. vectra's own LocalFileStorage writes index files
 * in place, so a crash (or a full disk) mid-write leaves a truncated index; here every write goes through
 * {@link writeFileAtomic} (temp file in the same folder, fsync, rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FileDetails, FileStorage, ListFilesFilter } from 'vectra/lib/storage';
import { FileStorageUtilities } from 'vectra/lib/storage/FileStorageUtilities';
import { writeFileAtomic, TEMP_SUFFIX } from './fsUtil';

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Crash-safe local-disk implementation of vectra's `FileStorage`. */
export class AtomicFileStorage implements FileStorage {
  /**
   * @param rootFolder Optional base folder; relative paths passed to the methods resolve against it.
   *   Without it, paths are used as given (vectra passes the index folder joined with the file name).
   */
  constructor(private readonly rootFolder?: string) {}

  private full(p: string): string {
    if (!this.rootFolder) return p.length > 0 ? p : '.';
    return p.length > 0 ? path.resolve(this.rootFolder, p) : this.rootFolder;
  }

  /**
   * Creates a file that must not exist yet, atomically: the content is written and fsync'ed under a temp
   * name, then hard-linked to the target (`link` fails with EEXIST instead of replacing, which is what
   * makes it exclusive), then the temp name is removed. Filesystems without hard links fall back to an
   * exclusive create + write.
   */
  async createFile(filePath: string, content: Buffer | string): Promise<void> {
    const target = this.full(filePath);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
    const handle = await fs.promises.open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.promises.link(tmp, target);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) {
        await fs.promises.unlink(tmp).catch(() => undefined);
        throw err;
      }
      // No hard links here (e.g. FAT, some network shares): exclusive open is the next best thing.
      await fs.promises.unlink(tmp).catch(() => undefined);
      await fs.promises.writeFile(target, content, { flag: 'wx' });
      return;
    }
    await fs.promises.unlink(tmp);
  }

  async createFolder(folderPath: string): Promise<void> {
    await fs.promises.mkdir(this.full(folderPath), { recursive: true });
  }

  /** Deletes the file if it exists (a missing file is not an error, as the interface specifies). */
  async deleteFile(filePath: string): Promise<void> {
    try {
      await fs.promises.unlink(this.full(filePath));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  /** Deletes the folder and everything in it, if it exists. */
  async deleteFolder(folderPath: string): Promise<void> {
    await fs.promises.rm(this.full(folderPath), { recursive: true, force: true });
  }

  async getDetails(fileOrFolderPath: string): Promise<FileDetails> {
    const stats = await fs.promises.stat(this.full(fileOrFolderPath));
    return {
      name: path.basename(fileOrFolderPath),
      path: fileOrFolderPath,
      isFolder: stats.isDirectory(),
      fileType: stats.isFile() ? FileStorageUtilities.getFileType(fileOrFolderPath) : undefined,
    };
  }

  /** Lists the entries of a folder (not recursive); `filter` selects files, folders or both (default). */
  async listFiles(folderPath: string, filter: ListFilesFilter = 'all'): Promise<FileDetails[]> {
    const entries = await fs.promises.readdir(this.full(folderPath), { withFileTypes: true });
    const out: FileDetails[] = [];
    for (const e of entries) {
      const isFolder = e.isDirectory();
      if ((filter === 'files' && isFolder) || (filter === 'folders' && !isFolder)) continue;
      out.push({
        name: e.name,
        path: path.join(folderPath, e.name),
        isFolder,
        fileType: e.isFile() ? FileStorageUtilities.getFileType(e.name) : undefined,
      });
    }
    return out;
  }

  async pathExists(fileOrFolderPath: string): Promise<boolean> {
    try {
      await fs.promises.access(this.full(fileOrFolderPath));
      return true;
    } catch {
      return false;
    }
  }

  async readFile(filePath: string): Promise<Buffer> {
    return fs.promises.readFile(this.full(filePath));
  }

  /** Creates or replaces the file atomically (readers see the old or the new content, never a mix). */
  async upsertFile(filePath: string, content: Buffer | string): Promise<void> {
    await writeFileAtomic(this.full(filePath), content);
  }
}
