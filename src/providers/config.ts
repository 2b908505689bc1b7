/**
 * Provider settings, filled by each front end (CLI: flags, environment, a config file; the
 * extension: its settings and secret storage), and the factory that turns them into providers.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LlmProvider } from '../core/llm';
import { DEFAULT_OPENAI_BASE_URL, OpenAIChatProvider } from './openaiChat';

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
  const base =
    process.platform === 'win32'
      ? (env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'))
      : (env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'));
  return path.join(base, 'groundwork', 'config.json');
}

interface FileConfig {
  llm?: { provider?: string; baseURL?: string; model?: string; apiKeyEnv?: string; timeoutMs?: number };
}

/** Reads the config file; a missing file is an empty config, a broken one a clear error. */
export async function readConfigFile(file: string): Promise<FileConfig> {
  let raw: string;
  try {
    raw = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed;
  } catch (err) {
    throw new ConfigError(`the config file ${file} is not valid JSON (${(err as Error).message}); fix or delete it`);
  }
}

/**
 * Merges, highest priority first: flags, environment (OPENAI_API_KEY, OPENAI_BASE_URL,
 * GROUNDWORK_MODEL, GROUNDWORK_PROVIDER), the config file. API keys never come from flags (they
 * would end up in shell history); the config file may name the environment variable that holds one.
 */
export function resolveLlmSettings(
  flags: { provider?: string; model?: string; baseURL?: string },
  env: NodeJS.ProcessEnv,
  file: FileConfig,
): LlmSettings {
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
      throw new ConfigError(`a model is needed for the endpoint ${baseURL}: pass --model (e.g. --model llama3.1:8b for Ollama)`);
    }
    model = DEFAULT_OPENAI_MODEL;
  }
  return new OpenAIChatProvider({ baseURL, apiKey: settings.apiKey, model, timeoutMs: settings.timeoutMs, apiKeyHint });
}
