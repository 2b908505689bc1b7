/** Skip reasons of file discovery, in a module with no imports (front ends show them). */

/** Why a file was not indexed. Counted in the index stats. */
export type SkipReason =
  | 'ignored'
  | 'too-large'
  | 'binary'
  | 'minified'
  | 'generated'
  | 'secret'
  | 'secret-content'
  | 'unreadable'
  | 'symlink-outside'
  | 'symlink-loop'
  | 'empty'
  | 'not-regular'
  | 'bad-name';

export const SKIP_REASON_TEXT: Record<SkipReason, string> = {
  ignored: 'excluded by .gitignore, .groundworkignore or a default exclude',
  'too-large': 'larger than the size cap (maxFileBytes)',
  binary: 'binary content',
  minified: 'minified (very long lines)',
  generated: 'marked as generated (e.g. "@generated", "DO NOT EDIT")',
  secret: 'named like a secret (keys, certificates, .env files, credential stores)',
  'secret-content': 'contains a credential (private key, API token, password literal)',
  unreadable: 'could not be read (permissions, or deleted while indexing)',
  'symlink-outside': 'symbolic link that points outside the workspace',
  'symlink-loop': 'symbolic link that loops back into an already visited folder',
  empty: 'empty or whitespace only',
  'not-regular': 'not a regular file (named pipe, socket or device); never opened',
  'bad-name': 'its name contains a control character (newline, escape code)',
};
