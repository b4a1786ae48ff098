// ESLint for the whole repository: the recommended JavaScript rules and typescript-eslint's
// recommended rules (syntax only, not type-aware: tsc already checks types in npm test, and
// a type-aware pass costs more than the rest of the lint on a 2-core machine).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'recordings/', 'test/.fixtures/', 'test-results/', 'test-output/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // TypeScript resolves names itself (Node and DOM globals alike); ESLint's copy of that
      // check only knows the globals it is told about.
      'no-undef': 'off',
      // An unused name is a compile error already (noUnusedLocals/noUnusedParameters); a
      // leading underscore is how a deliberately ignored one is spelled.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The container's health check: plain CommonJS run by node, no build step.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
