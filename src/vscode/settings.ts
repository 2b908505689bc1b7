/** Reads Groundwork's settings, validated against their rules (settingsDefaults.ts). */
import * as vscode from 'vscode';
import { fusionWeights, type FusionWeights } from '../core/retrieval';
import { validateSettings, type GroundworkSettings } from './settingsDefaults';

/** Problems already shown, so a bad value is reported once per session, not on every read. */
const reported = new Set<string>();

/**
 * The current settings. A value that breaks its rule (not in the enum, out of range, wrong type) is
 * replaced by its default, and a warning says which setting, what it must be and what is used.
 */
export function readSettings(): GroundworkSettings {
  const c = vscode.workspace.getConfiguration('groundwork');
  const { settings, problems } = validateSettings((key) => c.get(key));
  for (const p of problems) {
    if (reported.has(p)) continue;
    reported.add(p);
    void vscode.window.showWarningMessage(p, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'groundwork');
    });
  }
  return settings;
}

/** The secret-storage key of the OpenAI-compatible API key (never in settings or logs). */
export const API_KEY_SECRET = 'groundwork.apiKey';

/**
 * The hybrid fusion weights of `groundwork.search.lexicalWeight` / `groundwork.search.vectorWeight`.
 * readSettings already replaced a weight out of range by its default (with a warning); both weights 0
 * is an error that names the settings (see {@link fusionWeights}).
 */
export function fusionSettings(settings: GroundworkSettings = readSettings()): FusionWeights {
  return fusionWeights(settings['search.lexicalWeight'], settings['search.vectorWeight'], {
    lexical: 'The setting groundwork.search.lexicalWeight',
    vector: 'The setting groundwork.search.vectorWeight',
  });
}
