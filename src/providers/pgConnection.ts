/**
 * `postgres://…` connection strings for the shared index, without secrets on the command line.
 *
 * - A password inside the URL (`postgres://u:secret@host/db`) is refused: command lines end up in
 *   shell histories, process lists and CI logs.
 * - The password comes from `?passwordFile=PATH` (the whole file, trailing newline dropped; like
 *   libpq's `.pgpass`, the file must not be readable by group or others), `?passwordEnv=NAME` (an
 *   environment variable), or, when neither is given, from what node-postgres reads itself:
 *   `PGPASSWORD`, then `PGPASSFILE` / `~/.pgpass`.
 * - Every other parameter (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `application_name`, …)
 *   passes through to node-postgres unchanged.
 */
import { promises as fsp } from 'node:fs';
import { ConfigError } from './config';

export interface PgConnectionSettings {
  /** The URL node-postgres parses (our own parameters removed). */
  connectionString: string;
  /** Set when a password file or variable was named. */
  password?: string;
  /** The URL without a password, for messages and `stats`. */
  location: string;
}

/** True when a `--store` value names a PostgreSQL server. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

export async function parsePgConnection(raw: string, env: NodeJS.ProcessEnv = process.env): Promise<PgConnectionSettings> {
  if (!isPostgresUrl(raw)) throw new ConfigError(`--store must be a postgres:// or postgresql:// URL (got "${raw.split('?')[0]}")`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('--store is not a valid postgres:// URL');
  }
  if (url.password) {
    throw new ConfigError('the --store URL contains a password; never put one on the command line. Use ?passwordFile=PATH, ?passwordEnv=NAME, PGPASSWORD or ~/.pgpass');
  }
  const passwordFile = url.searchParams.get('passwordFile');
  const passwordEnv = url.searchParams.get('passwordEnv');
  url.searchParams.delete('passwordFile');
  url.searchParams.delete('passwordEnv');
  if (passwordFile && passwordEnv) throw new ConfigError('--store names both passwordFile and passwordEnv; use one');
  let password: string | undefined;
  if (passwordFile) {
    const st = await fsp.stat(passwordFile).catch(() => undefined);
    if (!st?.isFile()) throw new ConfigError(`the password file ${passwordFile} does not exist`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new ConfigError(`the password file ${passwordFile} is readable by others; run chmod 600 ${passwordFile}`);
    }
    password = (await fsp.readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '');
  } else if (passwordEnv) {
    const value = env[passwordEnv];
    if (value === undefined) throw new ConfigError(`the environment variable ${passwordEnv} named by --store is not set`);
    password = value;
  }
  const location = `${url.protocol}//${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${url.pathname}`;
  return { connectionString: url.toString(), password, location };
}
