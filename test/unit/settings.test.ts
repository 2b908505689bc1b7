import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTING_RULES, SETTINGS_DEFAULTS, validateSettings, type GroundworkSettings } from '../../src/vscode/settingsDefaults';
import { MAX_MAX_CHARS, MIN_MAX_CHARS } from '../../src/core/chunker/chunker';
import { repoRoot } from '../repoRoot';

describe('settings', () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
    contributes: {
      configuration: {
        properties: Record<
          string,
          { type: string; default: unknown; enum?: string[]; minimum?: number; maximum?: number; items?: { type: string }; description?: string; markdownDescription?: string }
        >;
      };
    };
  };
  const props = manifest.contributes.configuration.properties;

  it('declares exactly the settings the code reads, with the same defaults', () => {
    const declared = Object.keys(props)
      .map((k) => k.replace(/^groundwork\./, ''))
      .sort();
    assert.deepEqual(declared, Object.keys(SETTINGS_DEFAULTS).sort());
    for (const [key, value] of Object.entries(SETTINGS_DEFAULTS)) {
      assert.deepEqual(props[`groundwork.${key}`]!.default, value, `default of groundwork.${key}`);
    }
  });

  it('describes every setting', () => {
    for (const [key, p] of Object.entries(props)) assert.ok((p.markdownDescription ?? p.description ?? '').length > 20, key);
  });

  it('declares the same enums, types and ranges as the rules the extension validates with', () => {
    for (const [key, rule] of Object.entries(SETTING_RULES)) {
      const p = props[`groundwork.${key}`]!;
      switch (rule.kind) {
        case 'enum':
          assert.equal(p.type, 'string', key);
          assert.deepEqual(p.enum, rule.values, key);
          break;
        case 'string':
          assert.equal(p.type, 'string', key);
          assert.equal(p.enum, undefined, key);
          break;
        case 'integer':
          assert.equal(p.type, 'integer', key);
          assert.equal(p.minimum, rule.minimum, key);
          assert.equal(p.maximum, rule.maximum, key);
          break;
        case 'number':
          assert.equal(p.type, 'number', key);
          assert.equal(p.minimum, rule.minimum, key);
          assert.equal(p.maximum, rule.maximum, key);
          break;
        case 'strings':
          assert.equal(p.type, 'array', key);
          assert.deepEqual(p.items, { type: 'string' }, key);
          break;
        case 'boolean':
          assert.equal(p.type, 'boolean', key);
          break;
        case 'object':
          assert.equal(p.type, 'object', key);
          break;
      }
    }
    // One chunk-budget range: the setting accepts exactly what the chunker (and the CLI) accepts.
    assert.deepEqual([props['groundwork.chunkChars']!.minimum, props['groundwork.chunkChars']!.maximum], [MIN_MAX_CHARS, MAX_MAX_CHARS]);
  });

  describe('validateSettings', () => {
    const read = (values: Record<string, unknown>) => validateSettings((key) => values[key]);

    it('keeps valid values and the defaults of unset ones, with no problem', () => {
      const values: Partial<GroundworkSettings> = {
        provider: 'vscode-lm',
        baseUrl: 'http://localhost:11434/v1',
        'embeddings.provider': 'none',
        'search.vectorWeight': 2.5,
        chunkChars: 64,
        topK: 50,
        maxFileBytes: 1024,
        exclude: ['*.gen.ts'],
        hoverDecorations: false,
      };
      const { settings, problems } = read(values);
      assert.deepEqual(problems, []);
      assert.deepEqual(settings, { ...SETTINGS_DEFAULTS, ...values });
      assert.deepEqual(read({}), { settings: SETTINGS_DEFAULTS, problems: [] });
    });

    // [setting, bad value, what the message must say]
    const bad: Array<[keyof GroundworkSettings, unknown, RegExp]> = [
      ['provider', 'ollama', /^Setting groundwork\.provider must be one of "auto", "openai", "vscode-lm", "extractive", not "ollama"; using the default "auto"\.$/],
      ['provider', 3, /groundwork\.provider must be one of .*, not 3;/],
      ['embeddings.provider', 'Local', /groundwork\.embeddings\.provider must be one of "local", "openai", "none", not "Local"/],
      ['chunkChars', 63, /groundwork\.chunkChars must be a whole number from 64 to 100000, not 63; using the default 800\./],
      ['chunkChars', 100_001, /from 64 to 100000, not 100001/],
      ['chunkChars', 800.5, /not 800\.5/],
      ['chunkChars', '800', /not "800"/],
      ['topK', 0, /groundwork\.topK must be a whole number from 1 to 50, not 0; using the default 10\./],
      ['topK', 51, /not 51/],
      ['topK', Number.NaN, /not NaN/],
      ['maxFileBytes', 1023, /groundwork\.maxFileBytes must be a whole number of at least 1024, not 1023; using the default 1048576\./],
      ['exclude', 'dist/**', /groundwork\.exclude must be a list of strings, not "dist\/\*\*"; using the default \[\]\./],
      ['exclude', ['ok', 7], /not \["ok",7\]/],
      ['exclude', { a: 1 }, /not \{"a":1\}/],
      ['search.vectorWeight', 11, /groundwork\.search\.vectorWeight must be a number from 0 to 10, not 11; using the default 1\./],
      ['search.lexicalWeight', -0.5, /not -0\.5/],
      ['search.lexicalWeight', '0.5', /not "0\.5"/],
      ['hoverDecorations', 'yes', /groundwork\.hoverDecorations must be true or false, not "yes"; using the default true\./],
      ['baseUrl', 42, /groundwork\.baseUrl must be a string, not 42; using the default ""\./],
    ];
    for (const [key, value, message] of bad) {
      it(`${key} = ${JSON.stringify(value)?.slice(0, 30)}: the default is used and the message says why`, () => {
        const { settings, problems } = read({ topK: 7, [key]: value });
        assert.equal(problems.length, 1, problems.join('\n'));
        assert.match(problems[0]!, message);
        assert.deepEqual(settings[key], SETTINGS_DEFAULTS[key]);
        if (key !== 'topK') assert.equal(settings.topK, 7, 'other settings are unaffected');
      });
    }

    it('cuts long values in the message; any string is a valid model id', () => {
      const { problems } = read({ exclude: ['x'.repeat(500), 1] });
      assert.match(problems[0]!, /not \["x{60,}\.\.\.; using/);
      assert.ok(problems[0]!.length < 200);
      assert.deepEqual(read({ model: 'y'.repeat(500) }), { settings: { ...SETTINGS_DEFAULTS, model: 'y'.repeat(500) }, problems: [] });
    });

    it('returns a copy of the exclude list, not the configuration object', () => {
      const exclude = ['a/**'];
      const { settings } = read({ exclude });
      assert.notEqual(settings.exclude, exclude);
      assert.deepEqual(settings.exclude, exclude);
    });
  });
});
