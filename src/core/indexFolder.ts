/**
 * Recognising an index folder before touching it. Groundwork removes and replaces files inside its
 * index folder (a rebuild wipes `catalog/`, `vectors/`…), so it must never do that in a folder that
 * is not one of its own: `--index-dir ~/Documents` would otherwise delete the user's files. A marker
 * file is written when the folder is created (or adopted while empty); a non-empty folder without it
 * is refused, with one exception: an index written before the marker existed (a valid manifest).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './fsUtil';
import { IndexError } from './indexError';
import type { Logger } from './types';

/** Name of the marker file at the top of every index folder. */
export const INDEX_MARKER_FILE = 'groundwork-index.json';

const MARKER = { groundwork: 'index', version: 1, note: 'This folder is a Groundwork index; it can be deleted at any time.' };

async function hasMarker(dir: string): Promise<boolean> {
  try {
    const st = await fsp.lstat(path.join(dir, INDEX_MARKER_FILE));
    if (!st.isFile() || st.size > 4096) return false;
    const data = JSON.parse(await fsp.readFile(path.join(dir, INDEX_MARKER_FILE), 'utf8')) as { groundwork?: unknown };
    return data?.groundwork === 'index';
  } catch {
    return false;
  }
}

/** An index written before the marker existed: a manifest with Groundwork's fields. */
async function isLegacyIndex(dir: string): Promise<boolean> {
  try {
    const m = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    return typeof m.schemaVersion === 'number' && typeof m.chunkerVersion === 'number' && Array.isArray(m.roots);
  } catch {
    return false;
  }
}

/**
 * Makes sure `dir` is a Groundwork index folder, or can become one. With `create`, a missing or
 * empty folder is created and marked. Throws {@link IndexError} when `dir` is a file, or a folder
 * with other content: nothing in it is deleted or overwritten.
 */
export async function assertIndexFolder(dir: string, opts: { create: boolean; logger?: Logger }): Promise<void> {
  const st = await fsp.stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new IndexError(`cannot use ${dir} as the index folder (${err.code ?? err.message})`);
  });
  if (st && !st.isDirectory()) throw new IndexError(`the index folder ${dir} is not a folder; pass --index-dir a folder (it is created if missing)`);
  if (st && (await hasMarker(dir))) return;
  const entries = st ? await fsp.readdir(dir) : [];
  if (entries.length && !(await isLegacyIndex(dir))) {
    throw new IndexError(
      `${dir} is not a Groundwork index folder (no ${INDEX_MARKER_FILE}) and is not empty; refusing to write there so nothing of yours is deleted. Choose an empty or new folder for --index-dir.`,
    );
  }
  if (!opts.create) return;
  await fsp.mkdir(dir, { recursive: true });
  // A damaged marker (garbled, or replaced by a folder) in a folder that is otherwise an index.
  await fsp.rm(path.join(dir, INDEX_MARKER_FILE), { recursive: true, force: true });
  await writeFileAtomic(path.join(dir, INDEX_MARKER_FILE), `${JSON.stringify(MARKER, null, 2)}\n`);
  if (entries.length) opts.logger?.info(`Marked ${dir} as a Groundwork index folder.`);
}
