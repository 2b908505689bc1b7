import { strict as assert } from 'node:assert';
import { chooseModel, UNTRUSTED_NOTE, type ModelChoiceInput } from '../../src/vscode/modelChoice';

// Invariant 13 and the groundwork.provider documentation (package.json, README) as a table:
// settings × workspace trust × stored key × whether VS Code offers a language model → who answers.

type Outcome = string;

/** The whole decision, with the vscode.lm step resolved as `lmAvailable` says. */
function outcome(input: ModelChoiceInput, lmAvailable: boolean): Outcome {
  const { decision } = chooseModel(input);
  switch (decision.kind) {
    case 'quote':
      return `quote: ${decision.label}${decision.problem ? ' [problem]' : ''}`;
    case 'endpoint':
      return `endpoint ${decision.baseURL} ${decision.model || '(default model)'}`;
    case 'vscode-lm':
      return lmAvailable ? `vscode-lm${decision.family ? ` ${decision.family}` : ''}` : `quote: ${decision.otherwise.label}${decision.otherwise.problem ? ' [problem]' : ''}`;
  }
}

const OPENAI = 'https://api.openai.com/v1';
const OLLAMA = 'http://localhost:11434/v1';
const REMOTE = 'https://llm.example.com/v1';

const base: ModelChoiceInput = { provider: 'auto', baseUrl: '', model: '', hasApiKey: false, trusted: true };

const table: Array<[Partial<ModelChoiceInput>, boolean, Outcome]> = [
  // auto: an endpoint when anything points at one, else a VS Code model, else quoting.
  [{}, true, 'vscode-lm'],
  [{}, false, 'quote: quoted answers (no model)'],
  [{ hasApiKey: true }, true, `endpoint ${OPENAI} (default model)`],
  [{ model: 'gpt-4o-mini' }, true, `endpoint ${OPENAI} gpt-4o-mini`],
  [{ baseUrl: OLLAMA, model: 'llama3.1:8b' }, true, `endpoint ${OLLAMA} llama3.1:8b`],
  [{ baseUrl: OLLAMA }, true, `quote: quoted answers (${OLLAMA} needs groundwork.model) [problem]`],
  // auto, untrusted: remote endpoints and VS Code models are never used; loopback is.
  [{ trusted: false }, true, 'quote: quoted answers (no model)'],
  [{ trusted: false, hasApiKey: true }, true, 'quote: quoted answers (untrusted workspace)'],
  [{ trusted: false, baseUrl: REMOTE, model: 'm' }, true, 'quote: quoted answers (untrusted workspace)'],
  [{ trusted: false, baseUrl: OLLAMA, model: 'llama3.1:8b' }, true, `endpoint ${OLLAMA} llama3.1:8b`],
  // openai: always the endpoint (the default one without a base URL, with or without a key).
  [{ provider: 'openai' }, true, `endpoint ${OPENAI} (default model)`],
  [{ provider: 'openai', baseUrl: REMOTE, model: 'm', hasApiKey: true }, true, `endpoint ${REMOTE} m`],
  [{ provider: 'openai', baseUrl: REMOTE }, true, `quote: quoted answers (${REMOTE} needs groundwork.model) [problem]`],
  [{ provider: 'openai', trusted: false }, true, 'quote: quoted answers (untrusted workspace)'],
  [{ provider: 'openai', trusted: false, baseUrl: 'http://127.0.0.1:1234/v1', model: 'q' }, true, 'endpoint http://127.0.0.1:1234/v1 q'],
  // vscode-lm: the model setting is a family; none available is a problem to fix.
  [{ provider: 'vscode-lm' }, true, 'vscode-lm'],
  [{ provider: 'vscode-lm', model: 'gpt-4o', hasApiKey: true, baseUrl: OLLAMA }, true, 'vscode-lm gpt-4o'],
  [{ provider: 'vscode-lm' }, false, 'quote: quoted answers (no VS Code language model available) [problem]'],
  [{ provider: 'vscode-lm', trusted: false }, true, 'quote: quoted answers (no model)'],
  // extractive: never a model, whatever else is set.
  [{ provider: 'extractive', hasApiKey: true, baseUrl: OLLAMA, model: 'm' }, true, 'quote: quoted answers (no model)'],
  [{ provider: 'extractive', trusted: false }, true, 'quote: quoted answers (no model)'],
];

describe('model choice (settings × trust × key × VS Code models)', () => {
  for (const [over, lm, want] of table) {
    const input = { ...base, ...over };
    it(`${JSON.stringify(over)}${lm ? '' : ', no VS Code model'} → ${want}`, () => {
      assert.equal(outcome(input, lm), want);
      assert.equal(chooseModel(input).trustNote, input.trusted ? undefined : UNTRUSTED_NOTE);
    });
  }

  it('never sends anything off the machine from an untrusted workspace (every combination)', () => {
    for (const provider of ['auto', 'openai', 'vscode-lm', 'extractive'] as const)
      for (const baseUrl of ['', OLLAMA, REMOTE, 'http://[::1]:8080/v1', 'http://localhost.evil.com/v1'])
        for (const model of ['', 'm'])
          for (const hasApiKey of [false, true]) {
            const { decision } = chooseModel({ provider, baseUrl, model, hasApiKey, trusted: false });
            assert.notEqual(decision.kind, 'vscode-lm');
            if (decision.kind === 'endpoint')
              assert.match(decision.baseURL, /^http:\/\/(localhost|127\.0\.0\.1|\[::1\]):/, JSON.stringify({ provider, baseUrl, model, hasApiKey }));
          }
  });
});
