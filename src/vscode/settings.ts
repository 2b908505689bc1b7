/** Reads Groundwork's settings with their typed defaults (settingsDefaults.ts). */
import * as vscode from 'vscode';
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
