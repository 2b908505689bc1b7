/**
 * The one way to turn a caught value into text for a log line or a user-facing message.
 *
 * `catch (err)` gives `unknown`: a thrown string, `null` or an object without `message` would print
 * as `undefined` through an `(err as Error).message` cast. A Node system error's `code` is kept
 * (`ENOENT: …`), added in front when its message does not already start with it.
 */
export function errMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}
