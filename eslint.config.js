// Lint rules: typescript-eslint's recommended set, plus the project's own edges: only cli/ and server/
// may touch the console; nothing may use `any` silently.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.bench-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'enums are not erasable syntax; use a const object' },
        { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'namespaces are not erasable syntax' },
      ],
    },
  },
  {
    // Prettier lays code out at 120 columns; what it cannot break (a comment, a long literal) must still
    // fit, or carry an eslint-disable-next-line saying why it cannot.
    rules: {
      'max-len': ['error', { code: 120, tabWidth: 2 }],
      // A function longer than a screen has more than one reason to change: split it into named steps.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // A test file's describe() body is a list of cases, and a case reads best whole: the limit is for
    // the code under test. Test helpers (test/helpers) are code, and are held to it.
    files: ['**/*.test.ts', 'test/e2e/**'],
    rules: { 'max-lines-per-function': 'off' },
  },
  { files: ['bench/**', 'test/**', '**/*.test.ts'], rules: { 'no-console': 'off' } },
);
