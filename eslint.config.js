import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'var/**', 'out/**', 'schemas/json/**', 'models/training/**', 'dashboard/public/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Production code, benchmarks and the simulation never reach into the tests (ARCHITECTURE.md);
    // what both need to start local servers lives in deploy/local/.
    files: ['core/**/*.ts', 'beckn/**/*.ts', 'schemas/**/*.ts', 'agents/**/*.ts', 'models/**/*.ts', 'projections/**/*.ts', 'cli/**/*.ts', 'sim/**/*.ts', 'bench/**/*.ts', 'dashboard/**/*.ts', 'site/**/*.ts', 'deploy/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**', '../test/*', '../../test/*'], message: 'bench, sim and production code never import test/: move what is shared out of test/ (e.g. deploy/local/).' }] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
