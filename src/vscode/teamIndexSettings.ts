/**
 * The `groundwork.teamIndex` setting, validated (pure: no `vscode` import, table-tested). It names a
 * shared index on PostgreSQL without secrets: the password lives in secret storage ("Groundwork: Set
 * Team Index Password"), or comes from the URL's `passwordEnv=NAME` / `passwordFile=PATH`, or from
 * PGPASSWORD / ~/.pgpass. The extension only reads the store.
 */

export interface TeamIndexSetting {
  /** `postgres://USER@HOST:PORT/DB?sslmode=…`; empty = no team index. */
  url: string;
  /** Repository name in the store; empty = from the checkout's origin remote (as `groundwork index --store` files it). */
  repository: string;
}

export const TEAM_INDEX_DEFAULT: TeamIndexSetting = { url: '', repository: '' };

export type TeamIndexConfig = { kind: 'off' } | { kind: 'invalid'; message: string } | { kind: 'on'; url: string; repository?: string };

const SETTING = '`groundwork.teamIndex`';

/** Reads the raw setting value; every problem becomes a message naming the setting and the fix. */
export function validateTeamIndex(raw: unknown): TeamIndexConfig {
  if (raw === undefined || raw === null || raw === '') return { kind: 'off' };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'invalid', message: `${SETTING} must be an object: { "url": "postgres://user@host/db", "repository": "" }` };
  const v = raw as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'url' && key !== 'repository') return { kind: 'invalid', message: `${SETTING} has an unknown field "${key}" (fields: url, repository)` };
  }
  if (v.url !== undefined && typeof v.url !== 'string') return { kind: 'invalid', message: `${SETTING}.url must be a string` };
  if (v.repository !== undefined && typeof v.repository !== 'string') return { kind: 'invalid', message: `${SETTING}.repository must be a string` };
  const url = (v.url ?? '').trim();
  const repository = (v.repository ?? '').trim();
  if (!url) return repository ? { kind: 'invalid', message: `${SETTING}.url is empty: set it to the team index's postgres:// URL, or clear the setting` } : { kind: 'off' };
  if (!/^postgres(ql)?:\/\//i.test(url)) return { kind: 'invalid', message: `${SETTING}.url must start with postgres:// or postgresql:// (got "${url.split(/[?@]/)[0]}")` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'invalid', message: `${SETTING}.url is not a valid URL` };
  }
  if (parsed.password) {
    return {
      kind: 'invalid',
      message: `${SETTING}.url contains a password: remove it from the setting (settings are plain text, often synced) and run "Groundwork: Set Team Index Password"`,
    };
  }
  if (!parsed.hostname) return { kind: 'invalid', message: `${SETTING}.url names no host` };
  if (repository && (/\s/.test(repository) || repository.length > 300))
    return { kind: 'invalid', message: `${SETTING}.repository must be a name without spaces, e.g. github.com/acme/app` };
  return { kind: 'on', url, ...(repository ? { repository } : {}) };
}
