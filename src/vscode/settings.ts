/** Reads Groundwork's settings with their typed defaults (settingsDefaults.ts). */
import * as vscode from 'vscode';
import { fusionWeights, type FusionWeights } from '../core/retrieval';
import { SETTINGS_DEFAULTS, type GroundworkSettings } from './settingsDefaults';

export function readSettings(): GroundworkSettings {
  const c = vscode.workspace.getConfiguration('groundwork');
  const out = { ...SETTINGS_DEFAULTS } as Record<string, unknown>;
  for (const key of Object.keys(SETTINGS_DEFAULTS)) {
    const v = c.get(key);
    if (v !== undefined && typeof v === typeof (SETTINGS_DEFAULTS as unknown as Record<string, unknown>)[key]) out[key] = v;
  }
  return out as unknown as GroundworkSettings;
}

/** The secret-storage key of the OpenAI-compatible API key (never in settings or logs). */
export const API_KEY_SECRET = 'groundwork.apiKey';

/**
 * The hybrid fusion weights of `groundwork.search.lexicalWeight` / `groundwork.search.vectorWeight`,
 * validated: a value out of range is an error that names the setting (see {@link fusionWeights}).
 */
export function fusionSettings(settings: GroundworkSettings = readSettings()): FusionWeights {
  return fusionWeights(settings['search.lexicalWeight'], settings['search.vectorWeight'], {
    lexical: 'The setting groundwork.search.lexicalWeight',
    vector: 'The setting groundwork.search.vectorWeight',
  });
}
