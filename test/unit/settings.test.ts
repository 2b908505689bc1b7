import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTINGS_DEFAULTS } from '../../src/vscode/settingsDefaults';
import { repoRoot } from '../repoRoot';

describe('settings', () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default: unknown; description?: string; markdownDescription?: string }> } };
  };
  const props = manifest.contributes.configuration.properties;

  it('declares exactly the settings the code reads, with the same defaults', () => {
    const declared = Object.keys(props).map((k) => k.replace(/^groundwork\./, '')).sort();
    assert.deepEqual(declared, Object.keys(SETTINGS_DEFAULTS).sort());
    for (const [key, value] of Object.entries(SETTINGS_DEFAULTS)) {
      assert.deepEqual(props[`groundwork.${key}`]!.default, value, `default of groundwork.${key}`);
    }
  });

  it('describes every setting', () => {
    for (const [key, p] of Object.entries(props)) assert.ok((p.markdownDescription ?? p.description ?? '').length > 20, key);
  });
});
