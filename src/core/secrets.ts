/**
 * Secrets found by content, so a credential pasted into an ordinary source file never reaches the
 * index, a prompt or a model.
 *
 * The main rule set is secretlint's recommended preset (`@secretlint/secretlint-rule-preset-recommend`,
 * MIT, maintained by azu): private-key blocks, AWS, GCP service-account keys, GitHub, GitLab, npm,
 * Slack, SendGrid, Shopify, OpenAI, Anthropic, Linear, 1Password tokens, basic-auth URLs and database
 * connection strings with passwords. It is backed by {@link EXTRA_RULES}, a few well-known formats the
 * preset reports only in context (a bare AWS access key id, any `sk-proj-`/`sk-svcacct-` OpenAI key),
 * and a high-entropy assignment rule for `password = "…"`-style literals.
 *
 * A file with a finding is skipped as `secret-content` (never redacted: a citation must quote the
 * file exactly as it is), with the rule names as the detail, and counted in the index stats.
 */
import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';

// secretlint's profiler is on by default: each `lintSource` call leaves performance marks for every
// rule, which its observer keeps (entries, measures, a promise per measure) and Node's global
// performance buffer keeps too, for the life of the process. Indexing 30k files left over 1,000,000
// marks (Node's warning) and memory that grew with every file. Nothing reads them: off. The package is
// a direct dependency at @secretlint/core's version so both resolve to this one instance.
secretLintProfiler.setEnabled(false);

/** A rule of the supplemental set: a name shown in stats and a pattern that must not match. */
interface ExtraRule {
  name: string;
  pattern: RegExp;
}

/**
 * Well-known token formats, matched anywhere. The documented AWS example key
 * (`AKIAIOSFODNN7EXAMPLE`) is allowed, as the preset does, so documentation stays searchable.
 */
export const EXTRA_RULES: readonly ExtraRule[] = [
  { name: 'aws-access-key-id', pattern: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)(?!IOSFODNN7EXAMPLE)[A-Z0-9]{16}\b/ },
  { name: 'openai-api-key', pattern: /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}/ },
  { name: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b/ },
  { name: 'private-key-block', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
];

/**
 * `name = "literal"` where the name says secret and the literal looks random. Range of the tunables:
 * at least {@link ENTROPY_MIN_LENGTH} characters and {@link ENTROPY_MIN_BITS} bits of Shannon entropy
 * per character, no spaces. 4.0 bits keeps hex digests of 32+ characters and words out (English
 * text is ~4.1 bits over a whole alphabet but never without spaces at that length); lowering it
 * finds more keys and skips more ordinary files.
 */
const SECRET_ASSIGNMENT =
  /\b[\w.-]*(?:password|passwd|secret|api[_-]?key|apikey|access[_-]?key|auth[_-]?token|private[_-]?key|client[_-]?secret)[\w.-]*["']?\s*[:=]\s*["'`]([^"'`\s]{20,200})["'`]/gi;
export const ENTROPY_MIN_LENGTH = 20;
export const ENTROPY_MIN_BITS = 4.0;

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Placeholders that look like assignments of secrets but are not ones. */
const PLACEHOLDER = /^(?:x+|\*+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[^%]*%|process\.env\..*|changeme|your[-_].*)$/i;

const SECRETLINT_CONFIG = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedPreset }] };

/**
 * Names of the rules that match `text`, sorted and unique; empty when it looks clean.
 * `filePath` is only used by rules that look at the file name (e.g. GCP key files).
 */
export async function findSecrets(text: string, filePath: string): Promise<string[]> {
  const found = new Set<string>();
  for (const r of EXTRA_RULES) if (r.pattern.test(text)) found.add(r.name);
  for (const m of text.matchAll(SECRET_ASSIGNMENT)) {
    const value = m[1]!;
    if (value.length >= ENTROPY_MIN_LENGTH && !PLACEHOLDER.test(value) && shannonEntropy(value) >= ENTROPY_MIN_BITS) {
      found.add('high-entropy-assignment');
      break;
    }
  }
  const ext = filePath.includes('.') ? filePath.slice(filePath.lastIndexOf('.')) : '';
  const result = await lintSource({
    source: { filePath, content: text, ext, contentType: 'text' },
    options: { config: SECRETLINT_CONFIG, maskSecrets: true, noPhysicFilePath: true },
  });
  for (const msg of result.messages) found.add(msg.ruleId.replace(/^@secretlint\/secretlint-rule-/, ''));
  return [...found].sort();
}
