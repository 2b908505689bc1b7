/**
 * Provider settings, filled by each front end (CLI: flags, environment, a config file; the
 * extension: its settings and secret storage), and the factory that turns them into providers.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LlmError, type LlmProvider } from '../core/llm';
import type { Embedder, Logger } from '../core/types';
import { LocalEmbedder } from './localEmbedder';
import { DEFAULT_LOCAL_MODEL } from './localModel';
import { ModelDownloadError, ModelUnavailableError } from './localModelErrors';
import { downloadModel } from './modelDownload';
import { DEFAULT_OPENAI_BASE_URL, OpenAIChatProvider } from './openaiChat';
import { displayURL } from './errors';
import { OpenAIEmbedder } from './openaiEmbedder';
import { errMessage } from '../core/errMessage';

export type LlmProviderName = 'auto' | 'openai' | 'extractive';

export interface LlmSettings {
  /**
   * `auto` (default): an OpenAI-compatible endpoint when one is configured (an API key, a base URL
   * or a model), else the extractive answer. `openai`: always the endpoint. `extractive`: never a model.
   */
  provider: LlmProviderName;
  baseURL?: string;
  apiKey?: string;
  model?: string;
  timeoutMs?: number;
}

/** Default chat model when talking to api.openai.com without `--model`. */
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The config file: `$GROUNDWORK_CONFIG`, else `<config dir>/groundwork/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GROUNDWORK_CONFIG) return path.resolve(env.GROUNDWORK_CONFIG);
  const base = process.platform === 'win32' ? (env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming')) : (env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'));
  return path.join(base, 'groundwork', 'config.json');
}

interface FileConfig {
  llm?: { provider?: string; baseURL?: string; model?: string; apiKeyEnv?: string; timeoutMs?: number };
  embeddings?: { provider?: string; baseURL?: string; model?: string; apiKeyEnv?: string; cacheDir?: string };
}

export type EmbedProviderName = 'local' | 'openai' | 'none';

export interface EmbedSettings {
  /**
   * `local` (default): transformers.js on this machine with a model from the model folder; while the
   * model is absent, search is lexical only. `openai`: an OpenAI-compatible /v1/embeddings
   * endpoint. `none`: lexical only. (The deterministic test embedder, core/testEmbedder.ts, is not a
   * choice here: tests and the benchmark construct it directly, so it never ships as a model.)
   */
  provider: EmbedProviderName;
  model?: string;
  baseURL?: string;
  apiKey?: string;
  /** Where local models live (default: the user cache folder, groundwork/models). */
  cacheDir?: string;
}

/** Reads the config file; a missing file is an empty config, a broken one a clear error. */
export async function readConfigFile(file: string): Promise<FileConfig> {
  let raw: string;
  try {
    raw = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read the config file ${file}: ${errMessage(err)}`);
  }
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed;
  } catch (err) {
    throw new ConfigError(`the config file ${file} is not valid JSON (${errMessage(err)}); fix or delete it`);
  }
}

/**
 * Merges, highest priority first: flags, environment (OPENAI_API_KEY, OPENAI_BASE_URL,
 * GROUNDWORK_MODEL, GROUNDWORK_PROVIDER), the config file. API keys never come from flags (they
 * would end up in shell history); the config file may name the environment variable that holds one.
 */
export function resolveLlmSettings(flags: { provider?: string; model?: string; baseURL?: string }, env: NodeJS.ProcessEnv, file: FileConfig): LlmSettings {
  const provider = flags.provider ?? env.GROUNDWORK_PROVIDER ?? file.llm?.provider ?? 'auto';
  if (provider !== 'auto' && provider !== 'openai' && provider !== 'extractive') {
    throw new ConfigError(`unknown provider "${provider}" (use auto, openai or extractive)`);
  }
  const keyEnv = file.llm?.apiKeyEnv ?? 'OPENAI_API_KEY';
  return {
    provider,
    baseURL: flags.baseURL ?? env.OPENAI_BASE_URL ?? file.llm?.baseURL,
    model: flags.model ?? env.GROUNDWORK_MODEL ?? file.llm?.model,
    apiKey: env[keyEnv] || undefined,
    timeoutMs: file.llm?.timeoutMs,
  };
}

/**
 * The LLM for these settings, or undefined for the extractive answer. Throws {@link ConfigError}
 * when a custom endpoint is configured without a model (there is no sensible default there).
 */
export function createLlm(settings: LlmSettings, apiKeyHint?: string): LlmProvider | undefined {
  if (settings.provider === 'extractive') return undefined;
  const configured = Boolean(settings.apiKey || settings.baseURL || settings.model);
  if (settings.provider === 'auto' && !configured) return undefined;
  const baseURL = settings.baseURL ?? DEFAULT_OPENAI_BASE_URL;
  let model = settings.model;
  if (!model) {
    if (baseURL !== DEFAULT_OPENAI_BASE_URL) {
      throw new ConfigError(`a model is needed for the endpoint ${displayURL(baseURL)}: pass --model (e.g. --model llama3.1:8b for Ollama)`);
    }
    model = DEFAULT_OPENAI_MODEL;
  }
  try {
    return new OpenAIChatProvider({ baseURL, apiKey: settings.apiKey, model, timeoutMs: settings.timeoutMs, apiKeyHint });
  } catch (err) {
    // An unusable base URL (ftp:, credentials in it) is a configuration error, reported as such.
    if (err instanceof LlmError) throw new ConfigError(err.message);
    throw err;
  }
}

/** Embedding settings: flags, then GROUNDWORK_EMBEDDER / GROUNDWORK_EMBED_MODEL, then the config file. */
export function resolveEmbedSettings(flags: { embedder?: string; embedModel?: string }, env: NodeJS.ProcessEnv, file: FileConfig): EmbedSettings {
  const provider = flags.embedder ?? env.GROUNDWORK_EMBEDDER ?? file.embeddings?.provider ?? 'local';
  if (!['local', 'openai', 'none'].includes(provider)) {
    throw new ConfigError(`unknown embedder "${provider}" (use local, openai or none)`);
  }
  const keyEnv = file.embeddings?.apiKeyEnv ?? 'OPENAI_API_KEY';
  return {
    provider: provider as EmbedProviderName,
    model: flags.embedModel ?? env.GROUNDWORK_EMBED_MODEL ?? file.embeddings?.model,
    baseURL: file.embeddings?.baseURL ?? env.OPENAI_BASE_URL,
    apiKey: env[keyEnv] || undefined,
    cacheDir: file.embeddings?.cacheDir,
  };
}

/** Why there are no vectors, for status lines; undefined when an embedder is available. */
export interface EmbedderStatus {
  embedder?: Embedder;
  /** Present when vectors are off: says why and what to do. */
  reason?: string;
  /**
   * True when an embedder is configured but could not be used now (endpoint down, model missing):
   * the index keeps its stored vectors instead of dropping them as for a change of model.
   */
  unavailable?: boolean;
  close(): Promise<void>;
}

/**
 * Creates the embedder. A missing local model is not an error: the index runs lexical-only and the
 * returned reason says where the model goes and how to get it. Other failures (a broken runtime, an
 * unreachable endpoint) are also reported as a reason, so indexing and search keep working.
 */
export async function createEmbedder(
  settings: EmbedSettings,
  logger: Logger,
  downloadHint?: string,
  /**
   * Download a missing local model on first use (default false). Front ends turn it off when the
   * user asked for offline operation (GROUNDWORK_OFFLINE=1) and in tests.
   */
  autoDownload = false,
): Promise<EmbedderStatus> {
  // An embedder that is configured but cannot be used right now: stored vectors must be kept.
  const none = (reason?: string): EmbedderStatus => ({ reason, unavailable: true, close: async () => {} });
  if (settings.provider === 'none') return { reason: 'no embedding model is configured (embedder: none)', close: async () => {} };
  if (settings.provider === 'openai') {
    if (!settings.model) throw new ConfigError('the openai embedder needs a model, e.g. --embed-model text-embedding-3-small');
    try {
      const embedder = await OpenAIEmbedder.create({ baseURL: settings.baseURL ?? DEFAULT_OPENAI_BASE_URL, apiKey: settings.apiKey, model: settings.model });
      return { embedder, close: async () => {} };
    } catch (err) {
      return none(`the embedding endpoint could not be used: ${errMessage(err)}`);
    }
  }
  const modelId = settings.model ?? DEFAULT_LOCAL_MODEL;
  const open = async () => LocalEmbedder.open({ modelId, cacheDir: settings.cacheDir, downloadHint });
  try {
    const embedder = await open();
    return { embedder, close: () => embedder.close() };
  } catch (err) {
    if (err instanceof ModelUnavailableError && autoDownload) {
      // First use: fetch the model (no workspace data is sent; only the model files are requested).
      logger.info(`Downloading the embedding model ${modelId} (first use; set GROUNDWORK_OFFLINE=1 to skip)…`);
      try {
        await downloadModel({ modelId, cacheDir: settings.cacheDir });
        const embedder = await open();
        return { embedder, close: () => embedder.close() };
      } catch (dlErr) {
        if (dlErr instanceof ModelDownloadError) {
          return none(`the local model ${modelId} could not be downloaded (${dlErr.message.split('. ')[0]}); search is lexical only until it is installed in ${err.modelDir}`);
        }
        return none(`the local embedding model could not be loaded after its download (${errMessage(dlErr)})`);
      }
    }
    if (err instanceof ModelUnavailableError) {
      return none(
        `the local model ${err.modelId} is not installed in ${err.modelDir} (${downloadHint ?? 'download it'}, or copy its files there from https://huggingface.co/${err.modelId})`,
      );
    }
    logger.warn(`The local embedding model could not be loaded: ${errMessage(err)}`);
    return none(`the local embedding model could not be loaded (${errMessage(err)})`);
  }
}
