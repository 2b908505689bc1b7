/**
 * Groundwork's settings and their defaults, in one place. package.json `contributes.configuration`
 * must declare the same keys with the same defaults (a unit test compares them). No `vscode` import,
 * so the test runs without VS Code.
 */
import { DEFAULT_CHUNK_CHARS, DEFAULT_MAX_FILE_BYTES } from '../core/defaults';
import { SEARCH_DEFAULTS } from '../core/retrieval';
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
