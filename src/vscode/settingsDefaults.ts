/**
 * Groundwork's settings, their defaults and their rules (enums, integer ranges), in one place.
 * package.json `contributes.configuration` must declare the same keys, defaults, enums and ranges (a
 * unit test compares them). No `vscode` import, so the tests run without VS Code.
 */
import { DEFAULT_CHUNK_CHARS, DEFAULT_MAX_FILE_BYTES, MAX_CHUNK_CHARS, MIN_CHUNK_CHARS } from '../core/defaults';
import { MAX_FUSION_WEIGHT, SEARCH_DEFAULTS } from '../core/retrieval';
import { TEAM_INDEX_DEFAULT, type TeamIndexSetting } from './teamIndexSettings';

export interface GroundworkSettings {
  /** Which model answers: auto (an OpenAI-compatible endpoint if configured, else VS Code's language models, else quoting), openai, vscode-lm, extractive. */
  provider: 'auto' | 'openai' | 'vscode-lm' | 'extractive';
  /** OpenAI-compatible base URL (empty: https://api.openai.com/v1 when a key is set). */
  baseUrl: string;
  /** Chat model id for the OpenAI-compatible endpoint (or a VS Code language-model family with vscode-lm). */
  model: string;
  /** Embeddings: local (transformers.js on this machine), openai, none. */
  'embeddings.provider': 'local' | 'openai' | 'none';
  /** Embedding model id (empty: Xenova/bge-small-en-v1.5 for local). */
  'embeddings.model': string;
  /** Share of the time the embedding model may compute, (0, 1] (see src/core/embedQueue.ts). */
  'embeddings.cpuShare': number;
  /** Pause embedding while the user types. */
  'embeddings.pauseWhileTyping': boolean;
  /** Chunk budget in characters. */
  chunkChars: number;
  /** Sources retrieved per question. */
  topK: number;
  /** Files larger than this many bytes are skipped. */
  maxFileBytes: number;
  /** Extra exclude patterns (gitignore syntax). */
  exclude: string[];
  /** Mark cited ranges in the editor. */
  hoverDecorations: boolean;
  /** Weight of the keyword (BM25) list in the hybrid fusion. */
  'search.lexicalWeight': number;
  /** Weight of the semantic (vector) list in the hybrid fusion. */
  'search.vectorWeight': number;
  /** A shared team index on PostgreSQL (read-only), validated by teamIndexSettings.ts. */
  teamIndex: TeamIndexSetting;
}

export const SETTINGS_DEFAULTS: GroundworkSettings = {
  provider: 'auto',
  baseUrl: '',
  model: '',
  'embeddings.provider': 'local',
  'embeddings.model': '',
  'embeddings.cpuShare': 0.5,
  'embeddings.pauseWhileTyping': true,
  chunkChars: DEFAULT_CHUNK_CHARS,
  topK: 10,
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
  exclude: [],
  hoverDecorations: true,
  'search.lexicalWeight': SEARCH_DEFAULTS.lexicalWeight,
  'search.vectorWeight': SEARCH_DEFAULTS.vectorWeight,
  teamIndex: TEAM_INDEX_DEFAULT,
};

/** What a setting's value must be; package.json declares the same enums and ranges. */
export type SettingRule =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string' }
  | { kind: 'integer'; minimum: number; maximum?: number }
  | { kind: 'number'; minimum: number; maximum: number }
  | { kind: 'strings' }
  | { kind: 'boolean' }
  /** An object whose fields its own module validates (teamIndex: teamIndexSettings.ts). */
  | { kind: 'object' };

export const SETTING_RULES: { readonly [K in keyof GroundworkSettings]: SettingRule } = {
  provider: { kind: 'enum', values: ['auto', 'openai', 'vscode-lm', 'extractive'] },
  baseUrl: { kind: 'string' },
  model: { kind: 'string' },
  'embeddings.provider': { kind: 'enum', values: ['local', 'openai', 'none'] },
  'embeddings.model': { kind: 'string' },
  'embeddings.cpuShare': { kind: 'number', minimum: 0.05, maximum: 1 },
  'embeddings.pauseWhileTyping': { kind: 'boolean' },
  // The range the chunker accepts (the CLI's --chunk-chars has the same one).
  chunkChars: { kind: 'integer', minimum: MIN_CHUNK_CHARS, maximum: MAX_CHUNK_CHARS },
  topK: { kind: 'integer', minimum: 1, maximum: 50 },
  maxFileBytes: { kind: 'integer', minimum: 1024 },
  exclude: { kind: 'strings' },
  hoverDecorations: { kind: 'boolean' },
  'search.lexicalWeight': { kind: 'number', minimum: 0, maximum: MAX_FUSION_WEIGHT },
  'search.vectorWeight': { kind: 'number', minimum: 0, maximum: MAX_FUSION_WEIGHT },
  teamIndex: { kind: 'object' },
};

function describeRule(rule: SettingRule): string {
  switch (rule.kind) {
    case 'enum':
      return `one of ${rule.values.map((v) => `"${v}"`).join(', ')}`;
    case 'string':
      return 'a string';
    case 'integer':
      return rule.maximum === undefined ? `a whole number of at least ${rule.minimum}` : `a whole number from ${rule.minimum} to ${rule.maximum}`;
    case 'number':
      return `a number from ${rule.minimum} to ${rule.maximum}`;
    case 'strings':
      return 'a list of strings';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
  }
}

function satisfies(rule: SettingRule, v: unknown): boolean {
  switch (rule.kind) {
    case 'enum':
      return typeof v === 'string' && rule.values.includes(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= rule.minimum && (rule.maximum === undefined || v <= rule.maximum);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && v >= rule.minimum && v <= rule.maximum;
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'boolean':
      return typeof v === 'boolean';
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  try {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(v);
  }
}

/**
 * The settings from raw configuration values (`undefined`: not set). A value that breaks its rule is
 * replaced by the default, and `problems` says so in one sentence per setting naming the key, what it
 * must be, what it was and what is used instead.
 */
export function validateSettings(read: (key: keyof GroundworkSettings) => unknown): { settings: GroundworkSettings; problems: string[] } {
  const out: Record<string, unknown> = { ...SETTINGS_DEFAULTS };
  const problems: string[] = [];
  for (const key of Object.keys(SETTINGS_DEFAULTS) as Array<keyof GroundworkSettings>) {
    const v = read(key);
    if (v === undefined) continue;
    const rule = SETTING_RULES[key];
    if (satisfies(rule, v)) out[key] = Array.isArray(v) ? [...(v as unknown[])] : v;
    else problems.push(`Setting groundwork.${key} must be ${describeRule(rule)}, not ${show(v)}; using the default ${show(SETTINGS_DEFAULTS[key])}.`);
  }
  return { settings: out as unknown as GroundworkSettings, problems };
}
