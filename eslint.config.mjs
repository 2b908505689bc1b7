// @ts-check
// Lint enforces the layer rule of ARCHITECTURE.md: only src/vscode imports `vscode`; src/core imports
// no network SDK and no front end; src/providers imports no front end.
import tseslint from 'typescript-eslint';

const NETWORK = ['openai', '@huggingface/transformers', 'onnxruntime-node', 'undici', 'node-fetch', 'http', 'https', 'node:http', 'node:https', 'net', 'node:net'];
const noVscode = { name: 'vscode', message: 'Only src/vscode may import vscode (see ARCHITECTURE.md).' };

export default tseslint.config(
  // No .js files are written by hand; the plain-JavaScript ES modules (.mjs) are linted with their own
  // project (tsconfig.mjs.json, `// @ts-check` + JSDoc types).
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-output/**', '.vscode-host/**', '**/*.js', 'test/fixtures/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { parserOptions: { projectService: false, project: './tsconfig.mjs.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...NETWORK.map((name) => ({ name, message: 'src/core must not use the network; put network code in src/providers.' }))],
          patterns: [{ group: ['**/providers/**', '**/cli/**', '**/vscode/**'], message: 'src/core must not import the front ends or providers.' }],
        },
      ],
    },
  },
  {
    files: ['src/providers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noVscode], patterns: [{ group: ['**/cli/**', '**/vscode/**'], message: 'providers must not import the front ends.' }] }],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'test/unit/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      // The host ⇄ webview protocol and the other import-free pure modules may be tested anywhere.
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: [
            {
              group: [
                '**/vscode/**',
                '!**/vscode/protocol',
                '!**/vscode/settingsDefaults',
                '!**/vscode/contextRefs',
                '!**/vscode/webviewCsp',
                '!**/vscode/modelChoice',
                '!**/vscode/teamIndexSettings',
              ],
              message: 'Only the extension imports src/vscode.',
            },
          ],
        },
      ],
    },
  },
  {
    // The chat webview runs in a browser sandbox: no vscode, no Node built-ins, and from src/ only the
    // dependency-free protocol file.
    files: ['media/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: [
            {
              group: ['**/src/core/**', '**/src/providers/**', '**/src/cli/**', '**/vscode/**', '!**/vscode/protocol'],
              message: 'The webview imports only src/vscode/protocol from src/.',
            },
            { group: ['node:*'], message: 'The webview runs in a browser.' },
          ],
        },
      ],
    },
  },
);
