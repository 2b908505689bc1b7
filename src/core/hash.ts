import { createHash } from 'node:crypto';

/**
 * The content hash used across the index (chunk hashes, file content hashes, embedding-cache keys,
 * cited-range hashes): the first 16 hex digits of SHA-256.
 */
export function hash16(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}
